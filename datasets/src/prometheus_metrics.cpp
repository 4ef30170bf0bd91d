// The Prometheus names of the simulator's metrics, derived from the simulator's own names by
// one rule (prometheus_metrics.hpp), with a HELP text per metric.
#include <opsrl/datasets/prometheus_metrics.hpp>

#include <array>
#include <vector>

namespace opsrl::datasets::prom {

namespace {

constexpr std::array<std::string_view, sim::kNumNodeMetrics> kNodeHelp{
    "CPU in use on the node (foreign load included) / its cores, 0..1; 0 when not ready",
    "Memory of the node's replicas / its memory, 0..1; 0 when not ready",
    "Disk used / capacity, 0..1",
    "Round-trip delay added to cross-node calls, seconds (0.0005 = the healthy base)",
    "Packet-loss fraction on cross-node calls, 0..1",
    "1 if the node is ready",
    "1 if the node is cordoned (drained, unschedulable)",
    "Non-empty replica slots placed on the node"};
constexpr std::array<std::string_view, sim::kNumServiceMetrics> kServiceHelp{
    "Requests per second arriving at the service",
    "Failed fraction of the calls into the service (errors, time-outs, rejections), 0..1",
    "End-to-end median latency including downstream calls, seconds",
    "End-to-end 95th percentile latency including downstream calls, seconds",
    "End-to-end 99th percentile latency including downstream calls, seconds",
    "Replicas receiving traffic",
    "The replica set's target",
    "Mean CPU used / CPU request over the service's replicas (can exceed 1 slightly by noise)",
    "Highest memory / memory limit over the service's replicas, 0..1",
    "Container restarts since the start of the run",
    "Seconds since the last rollout started"};
constexpr std::array<std::string_view, sim::kNumReplicaMetrics> kReplicaHelp{
    "1 if the slot holds a replica (starting, running or in back-off)",
    "1 if the replica runs on a ready node and receives traffic",
    "CPU used / CPU limit, 0..1",
    "Memory / memory limit, 0..1",
    "Requests per second routed to the replica",
    "99th percentile of the replica's own queueing and service time (downstream excluded), seconds",
    "Fraction of the replica's requests failing locally, 0..1",
    "Restarts of this slot since the start of the run",
    "Seconds since the replica became ready; 0 when not ready",
    "Index of the node the replica is placed on in the scenario's node list; -1 when none"};

MetricName make(sim::EntityKind kind, int column, std::string_view sim_name, std::string_view help) {
  MetricName m;
  m.kind = kind;
  m.column = column;
  m.sim_name = std::string(sim_name);
  m.help = help;
  std::string name = "opsrl_" + m.sim_name;
  if (name.ends_with("_ms")) {
    name.resize(name.size() - 3);
    name += "_seconds";
    m.scale = 1e-3;
  }
  m.type = name.ends_with("_total") ? MetricType::kCounter : MetricType::kGauge;
  m.name = std::move(name);
  return m;
}

std::vector<MetricName> build() {
  std::vector<MetricName> v;
  for (int m = 0; m < sim::kNumNodeMetrics; ++m)
    v.push_back(make(sim::EntityKind::kNode, m, sim::node_metric_name(m), kNodeHelp[static_cast<std::size_t>(m)]));
  for (int m = 0; m < sim::kNumServiceMetrics; ++m)
    v.push_back(make(sim::EntityKind::kService, m, sim::service_metric_name(m), kServiceHelp[static_cast<std::size_t>(m)]));
  for (int m = 0; m < sim::kNumReplicaMetrics; ++m)
    v.push_back(make(sim::EntityKind::kReplica, m, sim::replica_metric_name(m), kReplicaHelp[static_cast<std::size_t>(m)]));
  return v;
}

}  // namespace

std::span<const MetricName> metric_names() {
  static const std::vector<MetricName> names = build();
  return names;
}

const MetricName* find_metric(std::string_view name) {
  for (const MetricName& m : metric_names())
    if (m.name == name || m.sim_name == name) return &m;
  return nullptr;
}

const std::string& EntityLabels::of(sim::EntityKind kind) const {
  switch (kind) {
    case sim::EntityKind::kNode:
      return node;
    case sim::EntityKind::kService:
      return service;
    default:
      return replica;
  }
}

std::optional<sim::AlertRule> alert_rule_from_name(std::string_view name) {
  for (int r = 0; r < sim::kNumAlertRules; ++r)
    if (sim::alert_name(static_cast<sim::AlertRule>(r)) == name) return static_cast<sim::AlertRule>(r);
  return std::nullopt;
}

sim::EntityKind alert_entity_kind(sim::AlertRule rule) {
  switch (rule) {
    case sim::AlertRule::kHighErrorRate:
    case sim::AlertRule::kHighLatency:
      return sim::EntityKind::kService;
    case sim::AlertRule::kHighCpu:
    case sim::AlertRule::kOomKilled:
    case sim::AlertRule::kCrashLooping:
      return sim::EntityKind::kReplica;
    case sim::AlertRule::kNodeNotReady:
    case sim::AlertRule::kDiskPressure:
      return sim::EntityKind::kNode;
    case sim::AlertRule::kCount:
      break;
  }
  return sim::EntityKind::kNone;
}

}  // namespace opsrl::datasets::prom
