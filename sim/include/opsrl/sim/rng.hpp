#pragma once
// Deterministic random streams. Every component that draws random numbers owns its own
// stream, derived from (run seed, stream id), so that adding draws in one component never
// shifts the numbers another component sees. No global generator exists.
#include <array>
#include <cmath>
#include <cstdint>

namespace opsrl::sim {

// Named stream ids; a component's stream is Rng(seed, stream_id(kind, index)).
enum class Stream : std::uint32_t {
  kTraffic = 1,
  kTelemetryNoise = 2,
  kFaults = 3,
  kActions = 4,
  kScheduler = 5,
  kRequests = 6,   // per-request mode
  kScenarioGen = 7,
  kHistory = 8,    // the cluster's past before time 0 (when each service was last deployed)
  kPolicy = 9,     // stochastic baseline policies
  kReplica = 16,   // one stream per replica slot (index = slot): leak rates, start-up jitter
};

constexpr std::uint64_t splitmix64(std::uint64_t& x) {
  std::uint64_t z = (x += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

// xoshiro256** seeded through splitmix64 from (seed, stream, index).
class Rng {
 public:
  Rng() : Rng(0, Stream::kTraffic) {}
  Rng(std::uint64_t seed, Stream stream, std::uint64_t index = 0) {
    std::uint64_t x = seed ^ (static_cast<std::uint64_t>(stream) << 48) ^ (index * 0xD1B54A32D192ED03ULL);
    for (auto& s : s_) s = splitmix64(x);
  }

  std::uint64_t next_u64() {
    const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const std::uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }
  // Uniform in [0, 1) with 53 random bits.
  double uniform() { return static_cast<double>(next_u64() >> 11) * 0x1.0p-53; }
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  // Uniform integer in [0, n), n > 0 (Lemire's multiply-shift; bias below 2^-64 * n).
  std::uint64_t below(std::uint64_t n) {
    __extension__ using u128 = unsigned __int128;  // GCC/Clang extension, hence __extension__
    return static_cast<std::uint64_t>((static_cast<u128>(next_u64()) * n) >> 64);
  }
  bool bernoulli(double p) { return uniform() < p; }
  // Exponential with the given rate (mean 1/rate).
  double exponential(double rate) { return -std::log1p(-uniform()) / rate; }
  // Standard normal by Box-Muller (no cached second value: keeps the state a plain value).
  double normal() {
    const double u1 = 1.0 - uniform();
    const double u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }
  double normal(double mean, double stddev) { return mean + stddev * normal(); }
  // Approximately standard normal from one draw: the inverse normal CDF tabulated at 4096
  // points and interpolated linearly (tails cut at about 3.7 sigma). Four times cheaper than
  // normal(); meant for measurement noise, where the exact tail does not matter.
  double fast_normal() {
    const std::uint64_t bits = next_u64();
    const auto& table = normal_quantile_table();
    const std::size_t i = bits >> 52;                                    // top 12 bits
    const double w = static_cast<double>((bits >> 20) & 0xFFFFFFFF) * 0x1.0p-32;  // next 32 bits
    return table[i] + w * (table[i + 1] - table[i]);
  }

  bool operator==(const Rng&) const = default;

 private:
  // table[i] = inverse normal CDF at (i + 0.5) / 4096, i in [0, 4096], mirrored so that the
  // distribution is symmetric.
  static const std::array<double, 4097>& normal_quantile_table() {
    static const std::array<double, 4097> table = [] {
      std::array<double, 4097> t{};
      for (std::size_t i = 0; i < t.size(); ++i) {
        const double p = (static_cast<double>(i) + 0.5) / 4097.0;
        // Bisection on the normal CDF: 0.5 * erfc(-x / sqrt 2) = p.
        double lo = -10, hi = 10;
        for (int it = 0; it < 80; ++it) {
          const double mid = 0.5 * (lo + hi);
          (0.5 * std::erfc(-mid * 0.7071067811865476) < p ? lo : hi) = mid;
        }
        t[i] = 0.5 * (lo + hi);
      }
      return t;
    }();
    return table;
  }

  static constexpr std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  std::uint64_t s_[4];
};

}  // namespace opsrl::sim
