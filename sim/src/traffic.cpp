#include <opsrl/sim/traffic.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fstream>
#include <stdexcept>

#include <fmt/format.h>

namespace opsrl::sim {
namespace {

constexpr double kTwoPi = 6.283185307179586;

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '"')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '"'))
    s.remove_suffix(1);
  return s;
}

bool parse_double(std::string_view s, double& out) {
  const auto r = std::from_chars(s.data(), s.data() + s.size(), out);
  return r.ec == std::errc{} && r.ptr == s.data() + s.size();
}

// Seconds since the epoch of "YYYY-MM-DD[ T]HH:MM:SS[.fff][Z]", or a plain number of seconds.
bool parse_timestamp(std::string_view s, double& seconds) {
  if (parse_double(s, seconds)) return true;
  if (!s.empty() && s.back() == 'Z') s.remove_suffix(1);
  int y, mo, d, h, mi;
  double sec;
  if (s.size() < 19 || s[4] != '-' || s[7] != '-' || (s[10] != ' ' && s[10] != 'T') || s[13] != ':' ||
      s[16] != ':')
    return false;
  auto num = [&](std::size_t pos, std::size_t len, int& v) {
    return std::from_chars(s.data() + pos, s.data() + pos + len, v).ec == std::errc{};
  };
  if (!num(0, 4, y) || !num(5, 2, mo) || !num(8, 2, d) || !num(11, 2, h) || !num(14, 2, mi)) return false;
  if (!parse_double(s.substr(17), sec)) return false;
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec >= 61) return false;
  seconds = static_cast<double>(days_from_civil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d))) * 86400.0 +
            h * 3600.0 + mi * 60.0 + sec;
  return true;
}

}  // namespace

double TrafficTrace::peak() const {
  double p = 0.0;
  for (double v : values) p = std::max(p, v);
  return p;
}

double TrafficTrace::at(SimTime t) const {
  if (values.size() == 1) return values[0];
  // The trace loops; its period is its span plus one step so the last row lasts one step.
  const SimTime step = times[1] - times[0];
  const SimTime period = times.back() + step;
  t %= period;
  if (t < 0) t += period;
  const auto it = std::upper_bound(times.begin(), times.end(), t);
  const std::size_t i = static_cast<std::size_t>(it - times.begin()) - 1;
  const std::size_t j = (i + 1) % values.size();
  const SimTime t0 = times[i];
  const SimTime t1 = j == 0 ? period : times[j];
  const double w = static_cast<double>(t - t0) / static_cast<double>(t1 - t0);
  return values[i] + w * (values[j] - values[i]);
}

TrafficTrace load_traffic_trace(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error(fmt::format("cannot open traffic trace \"{}\"", path));
  TrafficTrace trace;
  trace.source = path;
  std::string line;
  int line_no = 0;
  double first = 0.0;
  while (std::getline(in, line)) {
    ++line_no;
    std::string_view row = trim(line);
    if (row.empty() || row.front() == '#') continue;
    const auto comma = row.find(',');
    if (comma == std::string_view::npos)
      throw std::runtime_error(fmt::format("{}:{}: expected \"timestamp,value\", got \"{}\"", path, line_no, row));
    const std::string_view ts = trim(row.substr(0, comma));
    std::string_view val = trim(row.substr(comma + 1));
    if (const auto c2 = val.find(','); c2 != std::string_view::npos) val = trim(val.substr(0, c2));
    double seconds, value;
    const bool ok_ts = parse_timestamp(ts, seconds);
    const bool ok_val = parse_double(val, value);
    if (!ok_ts || !ok_val) {
      if (trace.values.empty() && !ok_val && line_no == 1) continue;  // header row
      throw std::runtime_error(fmt::format(
          "{}:{}: expected \"timestamp,value\" with a timestamp in seconds or YYYY-MM-DD HH:MM:SS and a "
          "number, got \"{}\"",
          path, line_no, row));
    }
    if (!std::isfinite(value) || value < 0)
      throw std::runtime_error(fmt::format("{}:{}: value must be a finite number >= 0, got {}", path, line_no, val));
    if (trace.values.empty()) first = seconds;
    const SimTime t = from_seconds(seconds - first);
    if (!trace.times.empty() && t <= trace.times.back())
      throw std::runtime_error(
          fmt::format("{}:{}: timestamps must increase, \"{}\" is not after the previous row", path, line_no, ts));
    trace.times.push_back(t);
    trace.values.push_back(value);
  }
  if (trace.values.size() < 2)
    throw std::runtime_error(fmt::format("{}: a traffic trace needs at least 2 rows, found {}", path, trace.values.size()));
  if (trace.peak() <= 0) throw std::runtime_error(fmt::format("{}: every value is 0", path));
  return trace;
}

TrafficModel::TrafficModel(const TrafficSpec& spec, std::uint64_t seed)
    : spec_(spec), rng_(seed, Stream::kTraffic) {
  if (!spec_.trace_csv.empty()) {
    auto trace = std::make_shared<TrafficTrace>(load_traffic_trace(spec_.trace_csv));
    if (spec_.trace_step > 0) {
      // Replay one row per trace_step of simulated time, whatever the trace's own spacing.
      for (std::size_t i = 0; i < trace->times.size(); ++i) trace->times[i] = static_cast<SimTime>(i) * spec_.trace_step;
    }
    const double peak = spec_.trace_peak_rps > 0 ? spec_.trace_peak_rps : spec_.base_rps * 1.5;
    trace_scale_ = peak / trace->peak();
    trace_ = std::move(trace);
  }
  if (spec_.surges_per_hour > 0) next_surge_ = from_seconds(rng_.exponential(spec_.surges_per_hour / 3600.0));
}

double TrafficModel::baseline_at(SimTime t) const {
  if (trace_) return trace_scale_ * trace_->at(t);
  const double x = kTwoPi * static_cast<double>(t - spec_.phase) / static_cast<double>(spec_.period);
  return spec_.base_rps * (1.0 - spec_.diurnal_amplitude * std::cos(x));
}

double TrafficModel::rate_at(SimTime t) {
  const SimTime dt = t - last_t_;
  last_t_ = t;
  if (spec_.noise_sigma > 0 && dt > 0) {
    // Log-normal AR(1): stationary standard deviation noise_sigma, correlation time as given.
    const double a = std::exp(-static_cast<double>(dt) / static_cast<double>(spec_.noise_correlation));
    log_noise_ = a * log_noise_ + spec_.noise_sigma * std::sqrt(1.0 - a * a) * rng_.normal();
  }
  double surge = 1.0;
  if (next_surge_ >= 0) {
    while (next_surge_ <= t) {
      surge_until_ = next_surge_ + spec_.surge_duration;
      next_surge_ += from_seconds(rng_.exponential(spec_.surges_per_hour / 3600.0)) + 1;
    }
    if (t < surge_until_) {
      // Triangular shape: ramps up to the multiplier and back down over the surge.
      const double phase = 1.0 - 2.0 * std::abs(static_cast<double>(surge_until_ - t) /
                                                 static_cast<double>(spec_.surge_duration) - 0.5);
      surge = 1.0 + (spec_.surge_multiplier - 1.0) * phase;
    }
  }
  return baseline_at(t) * std::exp(log_noise_) * surge;
}

}  // namespace opsrl::sim
