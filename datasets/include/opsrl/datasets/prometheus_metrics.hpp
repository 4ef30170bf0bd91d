#pragma once
// The simulator's telemetry under Prometheus names: one table shared by the exposition
// formatter (`opsrl simulate --serve-metrics`) and the query_range importer, so that every
// metric is named in one place. The rule: "opsrl_" + the simulator's metric name
// (docs/telemetry.md), with a "_ms" suffix turned into "_seconds" (value / 1000, Prometheus'
// base unit); counters keep "_total". docs/datasets.md ("Prometheus") lists every series.
//
//   opsrl_node_cpu_utilisation{node="node-a-1"}                               0..1
//   opsrl_service_latency_p99_seconds{service="checkout"}                     seconds
//   opsrl_replica_memory_utilisation{service="cart",replica="cart-1"}         0..1
//   opsrl_replica_info{service="cart",replica="cart-1",node="node-b-2"}       1 (placed replicas)
//   opsrl_alert_firing{alertname="HighErrorRate",service="cart"}              1 while firing
//   opsrl_slo_ok, opsrl_sim_time_seconds                                      cluster-wide
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include <opsrl/sim/entities.hpp>
#include <opsrl/sim/telemetry.hpp>

namespace opsrl::datasets::prom {

enum class MetricType { kGauge, kCounter };

// One per-entity metric of the simulator's scrape.
struct MetricName {
  sim::EntityKind kind = sim::EntityKind::kNone;  // node, service or replica
  int column = 0;                                 // sim::NodeMetric, ServiceMetric or ReplicaMetric
  std::string sim_name;                           // the simulator's name, e.g. "service_latency_p99_ms"
  std::string name;                               // the Prometheus name, e.g. "opsrl_service_latency_p99_seconds"
  double scale = 1;                               // Prometheus value = simulator value * scale
  MetricType type = MetricType::kGauge;
  std::string_view help;
};

// Every node metric, then every service metric, then every replica metric, each in the
// simulator's column order: 8 + 11 + 10 entries.
std::span<const MetricName> metric_names();
// By Prometheus name or by simulator name; nullptr if neither.
const MetricName* find_metric(std::string_view name);

// Cluster-wide and auxiliary series.
inline constexpr std::string_view kSimTime = "opsrl_sim_time_seconds";  // simulated time of the served scrape
inline constexpr std::string_view kSloOk = "opsrl_slo_ok";              // 1 if every entry service meets its SLO
inline constexpr std::string_view kAlertFiring = "opsrl_alert_firing";  // {alertname, entity labels} 1 while firing
inline constexpr std::string_view kReplicaInfo = "opsrl_replica_info";  // {service, replica, node} 1 while placed
inline constexpr std::string_view kAlertNameLabel = "alertname";

// The label that carries each kind of entity's name (configurable in the importer's labels file).
struct EntityLabels {
  std::string node = "node";
  std::string service = "service";
  std::string replica = "replica";
  const std::string& of(sim::EntityKind kind) const;
};

// The alert rule of an alert name ("HighErrorRate" -> kHighErrorRate), if one.
std::optional<sim::AlertRule> alert_rule_from_name(std::string_view name);
// The entity kind an alert rule fires on.
sim::EntityKind alert_entity_kind(sim::AlertRule rule);

}  // namespace opsrl::datasets::prom
