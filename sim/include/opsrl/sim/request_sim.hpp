#pragma once
// Per-request mode: simulates individual requests through the service graph, for small
// scenarios. It exists to validate the fast (fluid) mode: both must agree on throughput and
// latency percentiles at moderate utilisation (tests/sim/test_request_level.cpp).
//
// Model, identical to the fluid mode's assumptions: external requests arrive as a Poisson
// process at the entry services (split by traffic_share); each call picks a ready replica of
// the callee uniformly at random; a replica serves its FIFO queue one request at a time with
// exponential service times of mean cpu_seconds_per_request / cpu_request; after its own
// service a request makes its downstream calls one after another (floor(c) calls plus one
// more with probability c - floor(c)), each paying a 0.5 ms network round trip; the caller's
// replica is not held while it waits. No faults, no time-outs, no CPU contention.
#include <cstdint>
#include <vector>

#include <opsrl/sim/scenario.hpp>

namespace opsrl::sim {

struct RequestSimOptions {
  double external_rps = 0;    // constant external arrival rate (0: the scenario's base_rps)
  SimTime duration = kHour;   // measured time
  SimTime warmup = 5 * kMinute;  // discarded before measuring
};

struct ServiceSample {
  double throughput = 0;      // completed calls/s into the service during the measured time
  double p50 = 0, p95 = 0, p99 = 0;  // end-to-end latency of calls into it (incl. downstream), s
  double mean = 0;
  std::int64_t completed = 0;
};

struct RequestSimResult {
  std::vector<ServiceSample> services;  // per scenario service
  std::int64_t external_in = 0;         // external requests arrived (whole run)
  std::int64_t external_done = 0;       // external requests completed
  std::int64_t external_in_flight = 0;  // still in the system at the end
  std::int64_t events = 0;
};

// Runs the per-request simulation with the scenario's initial replica counts.
RequestSimResult run_request_level(const Scenario& scenario, std::uint64_t seed, const RequestSimOptions& options);

}  // namespace opsrl::sim
