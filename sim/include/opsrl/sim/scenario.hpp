#pragma once
// A scenario: the cluster's nodes, its services and their call graph, the external traffic,
// the SLO and the telemetry settings. Scenarios are TOML files (docs/scenarios.md); the ones
// under sim/scenarios/ are compiled into the binary and found by name.
//
// Parameter              Default   Meaning
// scrape_interval        15s       telemetry sample period
// slo.p99_latency_ms     500       end-to-end p99 latency objective of entry services
// slo.error_rate         0.01      error-rate objective of entry services
// traffic.period         24h       diurnal period
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string_view>
#include <string>
#include <vector>

#include <opsrl/sim/time.hpp>

namespace opsrl::sim {

struct NodeSpec {
  std::string name;
  std::string zone = "zone-a";
  double cpu_cores = 8.0;         // allocatable cores
  double memory_gib = 32.0;       // allocatable memory
  double disk_gib = 100.0;        // local disk
  double disk_baseline = 0.35;    // disk fraction used at start, 0..1
  double cost_per_hour = 0.40;    // USD per node-hour
};

struct CallSpec {
  std::string service;            // callee name, as written in the file
  int target = -1;                // callee index into Scenario::services (resolved by the loader)
  double calls_per_request = 1.0; // mean calls per request; fractional = probabilistic
};

struct ServiceSpec {
  std::string name;
  std::string tier = "backend";   // "frontend", "backend", "cache" or "database"
  double cpu_seconds_per_request = 0.010;  // mean CPU time one request needs (service demand)
  double cpu_request = 1.0;       // cores requested (and limited to) per replica
  double memory_request_gib = 0.5;
  double memory_limit_gib = 1.0;  // OOM-kill above this
  double memory_baseline = 0.45;  // steady working-set fraction of the limit, 0..1
  int replicas = 2;               // initial replica count
  int min_replicas = 1;
  int max_replicas = 6;           // replica slots; also the autoscaler's ceiling
  double startup_seconds = 20.0;  // container start until ready
  double timeout_ms = 1000.0;     // callers give up after this
  int queue_limit = 200;          // requests queued per replica before rejecting
  double traffic_share = 0.0;     // fraction of external traffic entering here (0: internal)
  double cost_per_replica_hour = 0.05;  // USD
  std::vector<CallSpec> calls;    // downstream calls made for each request
};

struct TrafficSpec {
  double base_rps = 100.0;        // mean external requests/s over a period
  double diurnal_amplitude = 0.3; // relative swing of the diurnal curve, 0..1
  SimTime period = kDay;          // diurnal period
  SimTime phase = 0;              // time of the trough: peak is at phase + period/2
  double noise_sigma = 0.05;      // relative noise (log-normal AR(1))
  SimTime noise_correlation = 5 * kMinute;
  double surges_per_hour = 0.0;   // random surge onsets per hour (Poisson)
  double surge_multiplier = 2.5;  // peak factor of a random surge
  SimTime surge_duration = 20 * kMinute;
  std::string trace_csv;          // when set: replay this (timestamp,value) trace instead
  double trace_peak_rps = 0.0;    // trace scaled so that its maximum is this (0: base_rps * 1.5)
  SimTime trace_step = 0;         // simulated time per trace row (0: the trace's own timestamps)
};

struct SloSpec {
  double p99_latency_ms = 500.0;
  double error_rate = 0.01;
};

struct TelemetrySpec {
  SimTime scrape_interval = 15 * kSecond;
  double noise = 0.03;            // relative measurement noise on every metric
};

struct Scenario {
  std::string name;
  std::string description;
  std::string source;             // file path or "builtin:NAME", for error messages
  std::vector<NodeSpec> nodes;
  std::vector<ServiceSpec> services;  // in file order; calls resolved to indices
  TrafficSpec traffic;
  SloSpec slo;
  TelemetrySpec telemetry;

  int service_index(std::string_view name) const;  // -1 if absent
  int node_index(std::string_view name) const;     // -1 if absent
  int total_replica_slots() const;                 // sum of max_replicas
  // Services in an order where every callee comes after all of its callers.
  std::vector<int> topological_order() const;
};

using ScenarioPtr = std::shared_ptr<const Scenario>;

// Loads a scenario from a TOML file path, or by name from the built-in ones
// ("small", "default", "large"). Throws ScenarioError with file, line, column and the
// expected form on any problem.
ScenarioPtr load_scenario(const std::string& name_or_path);
ScenarioPtr parse_scenario(std::string_view toml_text, const std::string& source);
std::vector<std::string> builtin_scenario_names();
std::string_view builtin_scenario_text(std::string_view name);  // empty if unknown

struct ScenarioError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

}  // namespace opsrl::sim
