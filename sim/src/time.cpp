// Duration text ("90s", "1h30m") to simulated milliseconds, and times back to "HH:MM:SS".
#include <opsrl/sim/time.hpp>

#include <cctype>
#include <charconv>
#include <cmath>
#include <stdexcept>
#include <string>

#include <fmt/format.h>

namespace opsrl::sim {
namespace {

[[noreturn]] void invalid_duration(std::string_view text) {
  throw std::invalid_argument(
      fmt::format("invalid duration \"{}\": expected a number with unit ms, s, m, h or d, "
                  "e.g. 90s, 15m, 2h",
                  text));
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// Reads "12" or "1.5" from the front of `rest`. Scanning the digits by hand (rather than
// letting from_chars decide) keeps "1e3", "inf" and signs out of the accepted form.
bool read_number(std::string_view& rest, double& value) {
  std::size_t n = 0;
  while (n < rest.size() && std::isdigit(static_cast<unsigned char>(rest[n]))) ++n;
  if (n == 0) return false;  // no leading digit: ".5" reads too easily as a typo
  if (n < rest.size() && rest[n] == '.') {
    ++n;
    const std::size_t frac_start = n;
    while (n < rest.size() && std::isdigit(static_cast<unsigned char>(rest[n]))) ++n;
    if (n == frac_start) return false;  // "1." has no fraction digits
  }
  const auto result = std::from_chars(rest.data(), rest.data() + n, value);
  if (result.ec != std::errc{}) return false;
  rest.remove_prefix(n);
  return true;
}

// Reads one unit from the front of `rest` and returns its length in milliseconds, or 0.
// "ms" is tried before "m" so that "250ms" is not read as 250 minutes followed by "s".
SimTime read_unit(std::string_view& rest) {
  struct Unit {
    std::string_view text;
    SimTime ms;
  };
  static constexpr Unit kUnits[] = {
      {"ms", kMillisecond}, {"s", kSecond}, {"m", kMinute}, {"h", kHour}, {"d", kDay}};
  for (const Unit& unit : kUnits) {
    if (rest.starts_with(unit.text)) {
      rest.remove_prefix(unit.text.size());
      return unit.ms;
    }
  }
  return 0;
}

}  // namespace

SimTime parse_duration(std::string_view text) {
  std::string_view rest = trim(text);
  if (rest.empty()) invalid_duration(text);

  // A bare number is seconds: the common case of a plain count in a config file.
  {
    std::string_view probe = rest;
    double seconds = 0;
    if (read_number(probe, seconds) && probe.empty()) return from_seconds(seconds);
  }

  double total_ms = 0;
  while (!rest.empty()) {
    double amount = 0;
    if (!read_number(rest, amount)) invalid_duration(text);
    const SimTime unit = read_unit(rest);
    if (unit == 0) invalid_duration(text);
    total_ms += amount * static_cast<double>(unit);
  }
  // About 285 000 years: far past any run, and still exact in a double and an int64.
  if (total_ms > 9.0e15) invalid_duration(text);
  return static_cast<SimTime>(std::llround(total_ms));
}

std::string format_time(SimTime t) {
  std::string out;
  if (t < 0) {
    out = "-";
    t = -t;
  }
  const SimTime days = t / kDay;
  const SimTime hours = (t % kDay) / kHour;
  const SimTime minutes = (t % kHour) / kMinute;
  const SimTime seconds = (t % kMinute) / kSecond;
  const SimTime millis = t % kSecond;
  if (days > 0) out += fmt::format("{}d ", days);
  out += fmt::format("{:02}:{:02}:{:02}", hours, minutes, seconds);
  if (millis != 0) out += fmt::format(".{:03}", millis);
  return out;
}

}  // namespace opsrl::sim
