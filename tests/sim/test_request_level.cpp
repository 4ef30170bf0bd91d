// Per-request mode against the fluid (analytic) mode: both model the same thing (request_sim.hpp),
// so at moderate utilisation, with constant traffic and no faults, they must agree on every
// service's throughput and latency percentiles. Also conservation and determinism of the
// per-request mode.
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include <opsrl/sim/cluster.hpp>
#include <opsrl/sim/request_sim.hpp>
#include <opsrl/sim/scenario.hpp>

namespace {

using namespace opsrl::sim;

constexpr double kTargetUtilisation = 0.7;  // busiest replica
constexpr double kMaxUtilisation = 0.8;
// Tolerances (relative): throughput is a count over ~10^5..10^7 calls, so 3% is many standard
// errors; percentiles carry both sampling noise of autocorrelated queueing samples and the fluid
// mode's gamma (Wilson-Hilferty) approximation of the end-to-end distribution, hence 10%.
constexpr double kThroughputTolerance = 0.03;
constexpr double kLatencyTolerance = 0.10;

// Utilisation of each service's busiest replica per external request/s: arrivals from the
// call graph (callers before callees), split evenly over the initial replicas.
std::vector<double> utilisation_per_rps(const Scenario& sc) {
  const std::size_t n = sc.services.size();
  std::vector<double> arrival(n, 0.0), util(n, 0.0);
  for (std::size_t s = 0; s < n; ++s) arrival[s] = sc.services[s].traffic_share;
  for (int s : sc.topological_order())
    for (const CallSpec& c : sc.services[s].calls) arrival[c.target] += arrival[s] * c.calls_per_request;
  for (std::size_t s = 0; s < n; ++s) {
    const ServiceSpec& spec = sc.services[s];
    util[s] = arrival[s] / spec.replicas * spec.cpu_seconds_per_request / spec.cpu_request;
  }
  return util;
}

// The scenario with constant external traffic at the rate that puts the busiest replica at
// kTargetUtilisation.
std::shared_ptr<const Scenario> constant_traffic(const std::string& name, double& rate) {
  Scenario sc = *load_scenario(name);
  const std::vector<double> util = utilisation_per_rps(sc);
  const double busiest = *std::max_element(util.begin(), util.end());
  rate = kTargetUtilisation / busiest;
  REQUIRE(rate * busiest <= kMaxUtilisation);
  sc.traffic.base_rps = rate;
  sc.traffic.diurnal_amplitude = 0;
  sc.traffic.noise_sigma = 0;
  sc.traffic.surges_per_hour = 0;
  return std::make_shared<const Scenario>(std::move(sc));
}

double rel_diff(double measured, double expected) { return std::abs(measured - expected) / expected; }

void check_agreement(const std::string& name, SimTime duration) {
  double rate = 0;
  const auto sc = constant_traffic(name, rate);

  Cluster fluid(sc, 1, ClusterOptions{.telemetry_noise = false});
  fluid.run_until(kHour);
  const MetricMatrix& t = fluid.telemetry().services;

  const auto start = std::chrono::steady_clock::now();
  const RequestSimResult r = run_request_level(*sc, 42, {.external_rps = rate, .duration = duration, .warmup = 5 * kMinute});
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("%s: %.1f external rps, %.0f s simulated in %.2f s wall (%lld events)\n", name.c_str(), rate,
              to_seconds(duration), wall, static_cast<long long>(r.events));
  std::printf("  %-16s %9s %9s  %8s %8s  %8s %8s  %8s %8s\n", "service", "rps fl", "rps req", "p50 fl", "p50 req",
              "p95 fl", "p95 req", "p99 fl", "p99 req");

  REQUIRE(r.services.size() == sc->services.size());
  for (std::size_t s = 0; s < sc->services.size(); ++s) {
    const ServiceSample& q = r.services[s];
    const auto row = static_cast<Eigen::Index>(s);
    const double rps = t(row, kSvcRequestRate);
    const double p50 = t(row, kSvcLatencyP50), p95 = t(row, kSvcLatencyP95), p99 = t(row, kSvcLatencyP99);
    std::printf("  %-16s %9.2f %9.2f  %8.2f %8.2f  %8.2f %8.2f  %8.2f %8.2f\n", sc->services[s].name.c_str(), rps,
                q.throughput, p50, q.p50 * 1e3, p95, q.p95 * 1e3, p99, q.p99 * 1e3);
    INFO(name, " service ", sc->services[s].name);
    CHECK(rel_diff(q.throughput, rps) <= kThroughputTolerance);
    CHECK(rel_diff(q.p50 * 1e3, p50) <= kLatencyTolerance);
    CHECK(rel_diff(q.p95 * 1e3, p95) <= kLatencyTolerance);
    CHECK(rel_diff(q.p99 * 1e3, p99) <= kLatencyTolerance);
  }
}

bool same(const RequestSimResult& a, const RequestSimResult& b) {
  if (a.external_in != b.external_in || a.external_done != b.external_done ||
      a.external_in_flight != b.external_in_flight || a.events != b.events || a.services.size() != b.services.size())
    return false;
  for (std::size_t s = 0; s < a.services.size(); ++s) {
    const ServiceSample &x = a.services[s], &y = b.services[s];
    if (x.completed != y.completed || x.throughput != y.throughput || x.p50 != y.p50 || x.p95 != y.p95 ||
        x.p99 != y.p99 || x.mean != y.mean)
      return false;
  }
  return true;
}

}  // namespace

TEST_CASE("request level: agrees with the fluid mode on the small scenario") {
  check_agreement("small", 2 * kHour);
}

TEST_CASE("request level: agrees with the fluid mode on the default scenario") {
  check_agreement("default", kHour);
}

TEST_CASE("request level: external requests are conserved") {
  const ScenarioPtr sc = load_scenario("small");
  const RequestSimResult r = run_request_level(*sc, 3, {.external_rps = 0, .duration = 10 * kMinute, .warmup = kMinute});
  CHECK(r.external_in > 0);
  CHECK(r.external_in_flight >= 0);
  CHECK(r.external_in == r.external_done + r.external_in_flight);
  // About base_rps * 11 minutes arrived.
  const double expected = sc->traffic.base_rps * 11 * 60;
  CHECK(std::abs(static_cast<double>(r.external_in) - expected) < 5 * std::sqrt(expected));
  // Every completed external request was a completed call into the entry service.
  REQUIRE(r.services.size() == sc->services.size());
  CHECK(r.services[0].completed <= r.external_done);
  CHECK(r.services[0].completed > 0);
}

TEST_CASE("request level: deterministic per seed") {
  const ScenarioPtr sc = load_scenario("small");
  const RequestSimOptions opt{.external_rps = 0, .duration = 5 * kMinute, .warmup = kMinute};
  const RequestSimResult a = run_request_level(*sc, 11, opt);
  const RequestSimResult b = run_request_level(*sc, 11, opt);
  const RequestSimResult c = run_request_level(*sc, 12, opt);
  CHECK(same(a, b));
  CHECK_FALSE(same(a, c));
}
