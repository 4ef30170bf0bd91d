#pragma once
// Simulated time: integer milliseconds since the start of a run, so that event times never
// drift and compare exactly. Durations in text read as "250ms", "90s", "15m", "2h", "1d".
#include <cstdint>
#include <string>
#include <string_view>

namespace opsrl::sim {

using SimTime = std::int64_t;  // milliseconds since the start of the run

inline constexpr SimTime kMillisecond = 1;
inline constexpr SimTime kSecond = 1000;
inline constexpr SimTime kMinute = 60 * kSecond;
inline constexpr SimTime kHour = 60 * kMinute;
inline constexpr SimTime kDay = 24 * kHour;

constexpr double to_seconds(SimTime t) { return static_cast<double>(t) / kSecond; }
constexpr SimTime from_seconds(double s) { return static_cast<SimTime>(s * kSecond + (s >= 0 ? 0.5 : -0.5)); }

// Parses "90s", "15m", "2h", "1d", "250ms" or a combination such as "1h30m". A bare number
// is read as seconds. Throws std::invalid_argument naming the text and the expected form.
SimTime parse_duration(std::string_view text);

// Formats a time as "HH:MM:SS" (or "Dd HH:MM:SS" past a day), with ".mmm" when not whole.
std::string format_time(SimTime t);

}  // namespace opsrl::sim
