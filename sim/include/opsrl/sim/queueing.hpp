#pragma once
// Closed-form queueing used by the fast (fluid) mode.
//
// A replica is an M/M/1 queue: Poisson arrivals at rate lambda (random load balancing splits a
// Poisson stream into Poisson streams), exponential service at rate mu. Its sojourn time is
// exponential with rate mu - lambda, so its percentiles are exact. An end-to-end latency is a
// sum of such stages plus network delays; it is summarised by its mean and variance and its
// percentiles are read off the gamma distribution with those moments, using the
// Wilson-Hilferty cube-root normal approximation (within 1.5% of the exact exponential
// percentiles at shape 1, and better for larger shapes).
#include <algorithm>
#include <cmath>

namespace opsrl::sim::queueing {

// Standard normal quantiles used for p50, p95, p99.
inline constexpr double kZ50 = 0.0;
inline constexpr double kZ95 = 1.6448536269514722;
inline constexpr double kZ99 = 2.3263478740408408;

// One branch of a latency mixture in Wilson-Hilferty form: weight p, and P(X > x) =
// Q(alpha * cbrt(x) - beta) with Q the standard normal upper tail.
struct CubeRootNormal {
  double p = 0, alpha = 0, beta = 0;
};

// Mean and variance of a latency distribution.
struct Moments {
  double mean = 0.0;
  double var = 0.0;
  Moments& operator+=(const Moments& o) {
    mean += o.mean;
    var += o.var;
    return *this;
  }
};

// Quantile of the gamma distribution with the given mean and variance at normal score z.
inline double gamma_quantile(const Moments& m, double z) {
  if (m.mean <= 0.0) return 0.0;
  if (m.var <= 1e-12 * m.mean * m.mean) return m.mean;
  const double k = m.mean * m.mean / m.var;
  const double theta = m.var / m.mean;
  const double a = 1.0 / (9.0 * k);
  const double c = 1.0 - a + z * std::sqrt(a);
  return c <= 0.0 ? 0.0 : k * theta * c * c * c;
}

// P(X > x) for the gamma distribution with these moments (same approximation).
inline double gamma_tail(const Moments& m, double x) {
  if (m.mean <= 0.0) return 0.0;
  if (m.var <= 1e-12 * m.mean * m.mean) return x < m.mean ? 1.0 : 0.0;
  const double k = m.mean * m.mean / m.var;
  const double theta = m.var / m.mean;
  const double a = 1.0 / (9.0 * k);
  const double z = (std::cbrt(std::max(x, 0.0) / (k * theta)) - (1.0 - a)) / std::sqrt(a);
  return 0.5 * std::erfc(z / std::sqrt(2.0));
}

// Exact sojourn-time quantile of an M/M/1 queue: -ln(1 - q) / (mu - lambda).
inline double mm1_quantile(double mu, double lambda, double q) {
  return -std::log1p(-q) / (mu - lambda);
}

}  // namespace opsrl::sim::queueing
