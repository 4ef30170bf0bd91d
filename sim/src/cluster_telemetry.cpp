// Telemetry: the scrape (exact state plus measurement noise) and the alert rules, evaluated
// on the scraped values as Prometheus would, each with its `for` duration.
#include <opsrl/sim/cluster.hpp>

#include <algorithm>
#include <array>

namespace opsrl::sim {

namespace {

constexpr std::array<std::string_view, kNumNodeMetrics> kNodeMetricNames{
    "node_cpu_utilisation", "node_memory_utilisation", "node_disk_utilisation", "node_network_delay_ms",
    "node_network_loss", "node_ready", "node_cordoned", "node_replicas"};
constexpr std::array<std::string_view, kNumServiceMetrics> kServiceMetricNames{
    "service_request_rate", "service_error_rate", "service_latency_p50_ms", "service_latency_p95_ms",
    "service_latency_p99_ms", "service_ready_replicas", "service_desired_replicas", "service_cpu_utilisation",
    "service_memory_utilisation_max", "service_restarts_total", "service_deploy_age_seconds"};
constexpr std::array<std::string_view, kNumReplicaMetrics> kReplicaMetricNames{
    "replica_present", "replica_ready", "replica_cpu_utilisation", "replica_memory_utilisation",
    "replica_request_rate", "replica_latency_p99_ms", "replica_error_rate", "replica_restarts_total",
    "replica_uptime_seconds", "replica_node"};
constexpr std::array<std::string_view, kNumAlertRules> kAlertNames{
    "HighErrorRate", "HighLatency", "HighCpu", "OomKilled", "CrashLooping", "NodeNotReady", "DiskPressure"};

struct RuleSpec {
  AlertRule rule;
  SimTime for_duration;
};
constexpr std::array<RuleSpec, kNumAlertRules> kRules{{
    {AlertRule::kHighErrorRate, 1 * kMinute},
    {AlertRule::kHighLatency, 2 * kMinute},
    {AlertRule::kHighCpu, 2 * kMinute},
    {AlertRule::kOomKilled, 0},
    {AlertRule::kCrashLooping, 0},
    {AlertRule::kNodeNotReady, 1 * kMinute},
    {AlertRule::kDiskPressure, 1 * kMinute},
}};

constexpr SimTime kKeepFiringFor = 1 * kMinute;

}  // namespace

std::string_view node_metric_name(int m) { return kNodeMetricNames[m]; }
std::string_view service_metric_name(int m) { return kServiceMetricNames[m]; }
std::string_view replica_metric_name(int m) { return kReplicaMetricNames[m]; }
std::string_view alert_name(AlertRule r) { return kAlertNames[static_cast<int>(r)]; }

std::size_t Cluster::alert_index(AlertRule r, int entity) const {
  return static_cast<std::size_t>(r) * (alert_state_.size() / kNumAlertRules) + static_cast<std::size_t>(entity);
}

void Cluster::scrape() {
  const Scenario& sc = *scenario_;
  Telemetry& t = telemetry_;
  t.time = now_;
  // Measurement noise: one draw per noisy value, always, so the stream never depends on state.
  const double sigma = options_.telemetry_noise ? sc.telemetry.noise : 0.0;
  auto noisy = [&](double v) { return std::max(0.0, v * (1.0 + sigma * noise_rng_.fast_normal())); };

  for (int n = 0; n < num_nodes(); ++n) {
    const NodeState& node = nodes_[n];
    const NodeSpec& spec = sc.nodes[n];
    auto row = t.nodes.row(n);
    row[kNodeCpuUtil] = node.ready ? std::min(1.0, noisy(node.cpu_used / spec.cpu_cores)) : noisy(0.0);
    row[kNodeMemUtil] = node.ready ? std::min(1.0, noisy(node.mem_used_gib / spec.memory_gib)) : noisy(0.0);
    row[kNodeDiskUtil] = std::min(1.0, noisy(node.disk_used));
    row[kNodeNetDelayMs] = noisy(node.net_delay_ms + 0.5);
    row[kNodeNetLoss] = std::min(1.0, noisy(node.net_loss));
    row[kNodeReady] = node.ready;
    row[kNodeCordoned] = node.cordoned;
    row[kNodeReplicas] = node.replicas;
  }
  for (int s = 0; s < num_services(); ++s) {
    update_percentiles(s, /*all=*/true);
    const ServiceState& svc = services_[s];
    auto row = t.services.row(s);
    row[kSvcRequestRate] = noisy(svc.arrival);
    row[kSvcErrorRate] = std::min(1.0, noisy(svc.call_error));
    row[kSvcLatencyP50] = noisy(svc.p50 * 1000.0);
    row[kSvcLatencyP95] = noisy(svc.p95 * 1000.0);
    row[kSvcLatencyP99] = noisy(svc.p99 * 1000.0);
    row[kSvcReadyReplicas] = svc.ready;
    row[kSvcDesiredReplicas] = svc.desired;
    row[kSvcCpuUtil] = noisy(svc.cpu_util);
    row[kSvcMemUtilMax] = std::min(1.0, noisy(svc.mem_util_max));
    row[kSvcRestarts] = svc.restarts;
    row[kSvcDeployAge] = to_seconds(now_ - svc.last_rollout);
  }
  for (int i = 0; i < num_replica_slots(); ++i) {
    const ReplicaState& r = replicas_[i];
    const ServiceSpec& spec = sc.services[r.service];
    auto row = t.replicas.row(i);
    const bool present = r.phase == Phase::kStarting || r.phase == Phase::kRunning || r.phase == Phase::kBackoff;
    const bool ready = r.phase == Phase::kRunning && nodes_[r.node].ready;
    row[kRepPresent] = present;
    row[kRepReady] = ready;
    row[kRepCpuUtil] = std::min(1.0, noisy(r.cpu_used / spec.cpu_request));
    const bool has_memory = present && r.phase != Phase::kBackoff;
    row[kRepMemUtil] = std::min(1.0, noisy(has_memory ? r.mem_gib / spec.memory_limit_gib : 0.0));
    row[kRepRequestRate] = noisy(r.arrival);
    double p99 = 0;
    if (ready) {
      const double b = r.capacity > 0 ? r.backlog / r.capacity : 0.0;
      p99 = std::min(spec.timeout_ms / 1000.0, r.sojourn_mean - b <= 0 ? r.sojourn_mean : b + 4.605170185988091 * (r.sojourn_mean - b));
    }
    row[kRepLatencyP99] = noisy(p99 * 1000.0);
    row[kRepErrorRate] = std::min(1.0, noisy(ready ? r.local_error : 0.0));
    row[kRepRestarts] = r.restarts;
    row[kRepUptime] = ready ? to_seconds(now_ - r.ready_since) : 0.0;
    row[kRepNode] = present || r.phase == Phase::kLost ? r.node : -1;
  }
  t.slo_ok = slo_ok_now();
  evaluate_alerts();
  if (scrape_hook_) scrape_hook_(t);
}

void Cluster::evaluate_alerts() {
  const Scenario& sc = *scenario_;
  const Telemetry& t = telemetry_;
  auto update = [&](AlertRule rule, int entity, EntityKind kind, bool condition) {
    AlertState& st = alert_state_[alert_index(rule, entity)];
    const SimTime for_duration = kRules[static_cast<int>(rule)].for_duration;
    if (condition) {
      if (st.pending_since < 0) st.pending_since = now_;
      if (!st.firing && now_ - st.pending_since >= for_duration) {
        st.firing = true;
        st.firing_since = now_;
        emit("alert.firing", {kind, entity}, std::string(alert_name(rule)));
      }
      st.clear_since = -1;
    } else {
      st.pending_since = -1;
      // keep_firing_for: a firing alert resolves only after its condition stayed false this
      // long, so that measurement noise does not make it flap.
      if (st.firing && st.clear_since < 0) st.clear_since = now_;
      if (st.firing && now_ - st.clear_since >= kKeepFiringFor) {
        st.firing = false;
        emit("alert.resolved", {kind, entity}, std::string(alert_name(rule)));
      }
    }
  };
  for (int s = 0; s < num_services(); ++s) {
    update(AlertRule::kHighErrorRate, s, EntityKind::kService, t.services(s, kSvcErrorRate) > 0.05);
    update(AlertRule::kHighLatency, s, EntityKind::kService, t.services(s, kSvcLatencyP99) > sc.slo.p99_latency_ms);
  }
  for (int i = 0; i < num_replica_slots(); ++i) {
    ReplicaState& r = replicas_[i];
    std::erase_if(r.restart_times, [&](SimTime x) { return now_ - x > 15 * kMinute; });
    const bool oom_recent = r.last_oom >= 0 && now_ - r.last_oom <= 5 * kMinute;
    update(AlertRule::kHighCpu, i, EntityKind::kReplica, t.replicas(i, kRepCpuUtil) > 0.9);
    update(AlertRule::kOomKilled, i, EntityKind::kReplica, oom_recent);
    update(AlertRule::kCrashLooping, i, EntityKind::kReplica, r.restart_times.size() >= 3);
  }
  for (int n = 0; n < num_nodes(); ++n) {
    update(AlertRule::kNodeNotReady, n, EntityKind::kNode, !nodes_[n].ready);
    update(AlertRule::kDiskPressure, n, EntityKind::kNode, t.nodes(n, kNodeDiskUtil) > 0.85);
  }
  telemetry_.alerts.clear();
  for (int r = 0; r < kNumAlertRules; ++r) {
    const auto rule = static_cast<AlertRule>(r);
    const int count = r <= 1 ? num_services() : r <= 4 ? num_replica_slots() : num_nodes();
    const EntityKind kind = r <= 1 ? EntityKind::kService : r <= 4 ? EntityKind::kReplica : EntityKind::kNode;
    for (int e = 0; e < count; ++e) {
      const AlertState& st = alert_state_[alert_index(rule, e)];
      if (st.firing) telemetry_.alerts.push_back({rule, {kind, e}, st.firing_since});
    }
  }
}

}  // namespace opsrl::sim
