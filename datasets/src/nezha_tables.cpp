#include "nezha_tables.hpp"

#include <algorithm>
#include <cmath>
#include <ctime>
#include <fstream>
#include <set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "csv.hpp"

namespace opsrl::datasets::nezha {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
const std::set<std::string> kFaultTypes{"cpu_contention", "cpu_consumed", "network_delay", "return", "exception"};

// Fills NaN with the previous minute's value (the first finite value before any); returns how
// many cells were filled. A series without any finite value becomes 0.
int fill_forward(std::vector<double>& v) {
  int filled = 0;
  double last = kNaN;
  for (double x : v)
    if (std::isfinite(x)) {
      last = x;
      break;
    }
  if (!std::isfinite(last)) last = 0;
  for (double& x : v) {
    if (std::isfinite(x)) {
      last = x;
    } else {
      x = last;
      ++filled;
    }
  }
  return filled;
}

bool is_ip(const std::string& s) {
  return !s.empty() && s.find_first_not_of("0123456789.") == std::string::npos && std::count(s.begin(), s.end(), '.') == 3;
}

// "frontend-579b9bff58-t2dbm" -> "frontend": a Deployment's pod name is NAME-<hash>-<suffix>.
std::string service_of(const std::string& pod) {
  const std::size_t b = pod.rfind('-');
  const std::size_t a = b == std::string::npos || b == 0 ? std::string::npos : pod.rfind('-', b - 1);
  if (a == std::string::npos) throw std::invalid_argument(fmt::format("pod name \"{}\" is not NAME-HASH-SUFFIX", pod));
  return pod.substr(0, a);
}

}  // namespace

std::int64_t parse_time(const std::string& text) {
  int Y = 0, M = 0, D = 0, h = 0, m = 0, s = 0;
  char tail = 0;
  if (text.size() < 19 || std::sscanf(text.c_str(), "%4d-%2d-%2d %2d:%2d:%2d%c", &Y, &M, &D, &h, &m, &s, &tail) < 6 ||
      M < 1 || M > 12 || D < 1 || D > 31 || h > 23 || m > 59 || s > 60)
    throw std::invalid_argument(fmt::format("\"{}\" is not a time of the form YYYY-MM-DD HH:MM:SS", text));
  // Nezha writes Go's time.Time: "... +0000 UTC m=+...". Anything but UTC would shift the grid.
  if (text.size() > 19 && text.find("+0000") == std::string::npos)
    throw std::invalid_argument(fmt::format("\"{}\" is not in UTC (+0000)", text));
  std::tm tm{};
  tm.tm_year = Y - 1900;
  tm.tm_mon = M - 1;
  tm.tm_mday = D;
  tm.tm_hour = h;
  tm.tm_min = m;
  tm.tm_sec = s;
  return static_cast<std::int64_t>(timegm(&tm));
}

std::string format_time(std::int64_t unix_s) {
  const std::time_t t = static_cast<std::time_t>(unix_s);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

int Data::minute_of(std::int64_t unix_s) const {
  return static_cast<int>(std::llround(static_cast<double>(unix_s - t0) / 60.0));
}

const Pod& Data::pod(const std::string& name) const {
  for (const Pod& p : pods)
    if (p.name == name) return p;
  std::string known;
  for (const Pod& p : pods) known += (known.empty() ? "" : ", ") + p.name;
  throw std::invalid_argument(fmt::format("no metrics for pod \"{}\" (pods with metrics: {})", name, known));
}

Data load(const std::filesystem::path& dir) {
  const std::filesystem::path metric = dir / "metric";
  if (!std::filesystem::is_directory(metric))
    throw std::invalid_argument(fmt::format("{}: no metric/ directory (expected Nezha's layout: fault_list.json and "
                                            "metric/<pod>_metric.csv, front_service.csv, dependency.csv)",
                                            dir.string()));
  Data d;
  // ---- pods: read every table, then lay them on one grid ----
  std::vector<std::filesystem::path> files;
  for (const auto& e : std::filesystem::directory_iterator(metric)) {
    const std::string name = e.path().filename().string();
    if (name.size() > 11 && name.ends_with("_metric.csv")) files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  if (files.empty()) throw std::invalid_argument(fmt::format("{}: no <pod>_metric.csv file", metric.string()));
  std::vector<csv::Table> tables;
  std::vector<std::vector<std::int64_t>> times;
  std::int64_t first = 0, last = 0;
  for (const auto& f : files) {
    tables.push_back(csv::read(f));
    const csv::Table& t = tables.back();
    if (t.rows.empty()) throw std::invalid_argument(fmt::format("{}: no rows", t.file));
    const int tc = t.column("Time");
    std::vector<std::int64_t> ts;
    for (std::size_t r = 0; r < t.rows.size(); ++r) {
      try {
        ts.push_back(parse_time(t.rows[r][static_cast<std::size_t>(tc)]));
      } catch (const std::invalid_argument& e) {
        throw std::invalid_argument(fmt::format("{}:{}: column Time: {}", t.file, t.lines[r], e.what()));
      }
    }
    first = times.empty() ? ts.front() : std::min(first, ts.front());
    last = times.empty() ? ts.back() : std::max(last, ts.back());
    times.push_back(std::move(ts));
  }
  d.t0 = first;
  d.minutes = d.minute_of(last) + 1;
  for (std::size_t i = 0; i < files.size(); ++i) {
    const csv::Table& t = tables[i];
    Pod p;
    const std::string fname = files[i].filename().string();
    p.name = fname.substr(0, fname.size() - std::string("_metric.csv").size());
    try {
      p.service = service_of(p.name);
    } catch (const std::invalid_argument& e) {
      throw std::invalid_argument(fmt::format("{}: {}", t.file, e.what()));
    }
    std::array<int, kNumPodMetrics> col{};
    for (int c = 0; c < kNumPodMetrics; ++c) col[static_cast<std::size_t>(c)] = t.column(kPodColumns[static_cast<std::size_t>(c)]);
    const int stamp = t.column("TimeStamp");
    for (auto& s : p.series) s.assign(static_cast<std::size_t>(d.minutes), kNaN);
    std::vector<std::uint8_t> present(static_cast<std::size_t>(d.minutes), 0);
    for (std::size_t r = 0; r < t.rows.size(); ++r) {
      const std::int64_t when = times[i][r];
      // The TimeStamp column repeats Time as Unix seconds; in some files it is corrupted
      // (adservice's reads 18611... for 16611...). Time is the one used.
      const double ts = t.number(r, stamp);
      if (!std::isfinite(ts) || std::abs(ts - static_cast<double>(when)) > 60) ++p.timestamps_ignored;
      const int m = d.minute_of(when);
      present[static_cast<std::size_t>(m)] = 1;
      for (int c = 0; c < kNumPodMetrics; ++c) {
        const double v = t.number(r, col[static_cast<std::size_t>(c)]);
        p.series[static_cast<std::size_t>(c)][static_cast<std::size_t>(m)] = v;
        p.nan_filled += !std::isfinite(v);
      }
    }
    p.rows = static_cast<int>(t.rows.size());
    for (int m = 0; m < d.minutes; ++m) p.gaps_filled += !present[static_cast<std::size_t>(m)];
    for (auto& s : p.series) fill_forward(s);
    d.pods.push_back(std::move(p));
  }
  std::sort(d.pods.begin(), d.pods.end(), [](const Pod& a, const Pod& b) { return a.service < b.service; });
  for (std::size_t i = 1; i < d.pods.size(); ++i)
    if (d.pods[i].service == d.pods[i - 1].service)
      throw std::invalid_argument(fmt::format("{}: two pods of service {} ({} and {}); the importer maps one pod per service",
                                              metric.string(), d.pods[i].service, d.pods[i - 1].name, d.pods[i].name));

  // ---- the frontend's service-level series ----
  {
    const csv::Table t = csv::read(metric / "front_service.csv");
    const int tc = t.column("Time");
    const std::array<int, kNumFrontMetrics> col{t.column("SuccessRate(%)"), t.column("LatencyP50(s)"), t.column("LatencyP90(s)"),
                                                t.column("LatencyP95(s)"), t.column("LatencyP99(s)")};
    for (auto& s : d.front) s.assign(static_cast<std::size_t>(d.minutes), kNaN);
    for (std::size_t r = 0; r < t.rows.size(); ++r) {
      std::int64_t when = 0;
      try {
        when = parse_time(t.rows[r][static_cast<std::size_t>(tc)]);
      } catch (const std::invalid_argument& e) {
        throw std::invalid_argument(fmt::format("{}:{}: column Time: {}", t.file, t.lines[r], e.what()));
      }
      const int m = d.minute_of(when);
      if (m < 0 || m >= d.minutes) continue;
      for (int c = 0; c < kNumFrontMetrics; ++c)
        d.front[static_cast<std::size_t>(c)][static_cast<std::size_t>(m)] = t.number(r, col[static_cast<std::size_t>(c)]);
    }
    for (auto& s : d.front) d.front_nan_filled += fill_forward(s);
  }

  // ---- topology: service calls and the node each service runs on ----
  {
    const csv::Table t = csv::read(metric / "dependency.csv");
    const int src = t.column("Source"), dst = t.column("Target");
    std::set<std::string> services;
    for (const Pod& p : d.pods) services.insert(p.service);
    std::set<std::string> skipped;
    for (const auto& row : t.rows) {
      const std::string& a = row[static_cast<std::size_t>(src)];
      const std::string& b = row[static_cast<std::size_t>(dst)];
      if (!services.count(a)) {
        skipped.insert(a);
        continue;
      }
      if (is_ip(b)) d.node_of[a] = b;
      else if (services.count(b)) d.calls.emplace_back(a, b);
      else skipped.insert(b);
    }
    for (const std::string& s : skipped)
      d.ignored.push_back(fmt::format("dependency.csv: \"{}\" has no pod metrics: left out of the topology", s));
    std::set<std::string> nodes;
    for (const Pod& p : d.pods) {
      const auto it = d.node_of.find(p.service);
      if (it == d.node_of.end())
        throw std::invalid_argument(fmt::format("{}: no row \"{},<node IP>\" says where service {} runs", t.file, p.service, p.service));
      nodes.insert(it->second);
    }
    d.nodes.assign(nodes.begin(), nodes.end());
  }

  // ---- faults ----
  {
    const std::filesystem::path path = dir / "fault_list.json";
    std::ifstream in(path);
    if (!in) throw std::invalid_argument(fmt::format("{}: cannot read the file (missing or unreadable)", path.string()));
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(in);
    } catch (const nlohmann::json::exception& e) {
      throw std::invalid_argument(fmt::format("{}: not valid JSON ({})", path.string(), e.what()));
    }
    if (!j.is_object())
      throw std::invalid_argument(fmt::format("{}: expected an object {{\"HH\": [fault, ...], ...}}, got {}", path.string(), j.type_name()));
    for (const auto& [hour, list] : j.items()) {
      if (!list.is_array()) throw std::invalid_argument(fmt::format("{}: .{} must be a list of faults", path.string(), hour));
      for (std::size_t i = 0; i < list.size(); ++i) {
        const std::string where = fmt::format("{}: .{}[{}]", path.string(), hour, i);
        const nlohmann::json& f = list[i];
        auto text = [&](const char* key) {
          if (!f.is_object() || !f.contains(key) || !f[key].is_string())
            throw std::invalid_argument(fmt::format("{}.{}: missing or not a string", where, key));
          return f[key].get<std::string>();
        };
        Fault fault;
        fault.inject_time = text("inject_time");
        fault.pod = text("inject_pod");
        fault.type = text("inject_type");
        const std::string stamp = text("inject_timestamp");
        if (stamp.empty() || stamp.find_first_not_of("0123456789") != std::string::npos)
          throw std::invalid_argument(fmt::format("{}.inject_timestamp: \"{}\" is not Unix seconds", where, stamp));
        fault.inject_unix = std::stoll(stamp);
        if (!kFaultTypes.count(fault.type))
          throw std::invalid_argument(fmt::format("{}.inject_type: unknown type \"{}\" (known: cpu_consumed, cpu_contention, "
                                                  "exception, network_delay, return)",
                                                  where, fault.type));
        try {
          (void)d.pod(fault.pod);
        } catch (const std::invalid_argument& e) {
          throw std::invalid_argument(fmt::format("{}.inject_pod: {}", where, e.what()));
        }
        try {
          if (parse_time(fault.inject_time) != fault.inject_unix)
            d.ignored.push_back(fmt::format("{}: inject_time {} disagrees with inject_timestamp {}; the timestamp is used",
                                            where, fault.inject_time, stamp));
        } catch (const std::invalid_argument& e) {
          throw std::invalid_argument(fmt::format("{}.inject_time: {}", where, e.what()));
        }
        const int m = d.minute_of(fault.inject_unix);
        if (m < 0 || m >= d.minutes)
          throw std::invalid_argument(fmt::format("{}: injected at {}, outside the metrics ({} .. {})", where, fault.inject_time,
                                                  format_time(d.time_of(0)), format_time(d.time_of(d.minutes - 1))));
        d.faults.push_back(std::move(fault));
      }
    }
    std::sort(d.faults.begin(), d.faults.end(), [](const Fault& a, const Fault& b) { return a.inject_unix < b.inject_unix; });
    if (d.faults.empty()) throw std::invalid_argument(fmt::format("{}: no faults", path.string()));
  }
  return d;
}

}  // namespace opsrl::datasets::nezha
