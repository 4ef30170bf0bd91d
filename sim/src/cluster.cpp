// Cluster: construction, the event loop, continuous advance and the replica life cycle.
// Rates live in cluster_rates.cpp, faults in cluster_faults.cpp, actions in
// cluster_actions.cpp, telemetry and alerts in cluster_telemetry.cpp.
#include <opsrl/sim/cluster.hpp>

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include <fmt/format.h>

namespace opsrl::sim {

namespace {
constexpr SimTime kBackoffCap = 5 * kMinute;        // CrashLoopBackOff ceiling
constexpr SimTime kBackoffReset = 10 * kMinute;     // running this long resets the back-off
}  // namespace

Cluster::Cluster(ScenarioPtr scenario, std::uint64_t seed, ClusterOptions options)
    : scenario_(std::move(scenario)), seed_(seed), options_(options) {
  if (!scenario_) throw std::invalid_argument("Cluster: scenario is null");
  topo_ = scenario_->topological_order();
  const int slots = scenario_->total_replica_slots();
  nodes_.resize(scenario_->nodes.size());
  services_.resize(scenario_->services.size());
  replicas_.resize(static_cast<std::size_t>(slots));
  telemetry_.nodes.resize(num_nodes(), kNumNodeMetrics);
  telemetry_.services.resize(num_services(), kNumServiceMetrics);
  telemetry_.replicas.resize(slots, kNumReplicaMetrics);
  const int stride = std::max({num_nodes(), num_services(), slots});
  alert_state_.resize(static_cast<std::size_t>(kNumAlertRules * stride));
  queue_.reserve(static_cast<std::size_t>(4 * slots + 64));
  reset(seed);
}

void Cluster::reset(std::uint64_t seed) {
  seed_ = seed;
  const Scenario& sc = *scenario_;
  queue_.clear();
  now_ = 0;
  traffic_ = TrafficModel(sc.traffic, seed);
  noise_rng_ = Rng(seed, Stream::kTelemetryNoise);
  fault_rng_ = Rng(seed, Stream::kFaults);
  replica_rng_.clear();
  for (int r = 0; r < num_replica_slots(); ++r) replica_rng_.emplace_back(seed, Stream::kReplica, r);
  faults_.clear();
  counters_ = {};
  escalated_ = false;
  std::fill(alert_state_.begin(), alert_state_.end(), AlertState{});
  telemetry_.alerts.clear();

  for (int n = 0; n < num_nodes(); ++n) {
    nodes_[n] = NodeState{};
    nodes_[n].disk_used = sc.nodes[n].disk_baseline;
  }
  int slot = 0;
  for (int s = 0; s < num_services(); ++s) {
    const ServiceSpec& spec = sc.services[s];
    services_[s] = ServiceState{};
    services_[s].first_slot = slot;
    services_[s].desired = spec.replicas;
    for (int k = 0; k < spec.max_replicas; ++k, ++slot) {
      replicas_[slot] = ReplicaState{};
      replicas_[slot].service = s;
      replicas_[slot].slot_in_service = k;
    }
  }
  // Each service was last deployed some time before the run (1 to 14 days), so that a deploy
  // during the run stands out in the deploy age instead of every age being the cluster's.
  Rng history(seed, Stream::kHistory);
  for (ServiceState& svc : services_) svc.last_rollout = -from_seconds(history.uniform(1, 14) * 86400.0);
  // Initial replicas are already running at time 0 (a warm cluster).
  for (int s = 0; s < num_services(); ++s) {
    for (int k = 0; k < sc.services[s].replicas; ++k) {
      const int r = services_[s].first_slot + k;
      if (!start_replica(r, -1))
        throw std::invalid_argument(fmt::format("scenario {}: no node has room for replica {} at start",
                                                sc.source, entity_name({EntityKind::kReplica, r})));
      queue_.cancel(replicas_[r].phase_event);
      replicas_[r].phase = Phase::kRunning;
      replicas_[r].ready_since = 0;
    }
  }
  external_rps_ = traffic_.rate_at(0);
  recompute();
  schedule(0, kScrape, -1);
}

void Cluster::schedule(SimTime t, EventKind kind, int target, std::int64_t arg) {
  queue_.push(t, Event{static_cast<std::uint16_t>(kind), target, arg});
}

EventHandle Cluster::schedule_handle(SimTime t, EventKind kind, int target, std::int64_t arg) {
  return queue_.push(t, Event{static_cast<std::uint16_t>(kind), target, arg});
}

void Cluster::emit(std::string_view what, EntityRef e, std::string detail) {
  if (timeline_) timeline_(TimelineEntry{now_, what, e, std::move(detail)});
}

void Cluster::run_until(SimTime t) {
  while (!queue_.empty() && queue_.next_time() <= t) {
    const ScheduledEvent ev = *queue_.pop();
    advance(ev.time);
    handle(ev);
    ++counters_.events_processed;
  }
  advance(t);
}

void Cluster::handle(const ScheduledEvent& e) {
  const int target = e.event.target;
  switch (static_cast<EventKind>(e.event.kind)) {
    case kScrape:
      reconcile();
      update_fault_status();
      scrape();
      external_rps_ = traffic_.rate_at(now_);
      schedule(now_ + scenario_->telemetry.scrape_interval, kScrape, -1);
      break;
    case kFaultOnset: fault_onset(static_cast<int>(e.event.arg)); break;
    case kReplicaReady: become_ready(target); break;
    case kReplicaOom: oom_kill(target); break;
    case kBackoffEnd: {
      ReplicaState& r = replicas_[target];
      if (r.phase != Phase::kBackoff) break;
      r.phase = Phase::kEmpty;
      r.node = -1;
      start_replica(target, -1);  // if nothing fits, reconcile() retries at the next scrape
      break;
    }
    case kEvictLost: {
      // The node stayed unready past the eviction timeout: its replicas are rescheduled.
      for (int r = 0; r < num_replica_slots(); ++r) {
        if (replicas_[r].node != target || replicas_[r].phase != Phase::kLost) continue;
        replicas_[r].phase = Phase::kEmpty;
        replicas_[r].node = -1;
        emit("replica.evicted", {EntityKind::kReplica, r});
        start_replica(r, target);
      }
      break;
    }
    case kKillDone: {
      ReplicaState& r = replicas_[target];
      if (r.phase != Phase::kRunning) break;
      if (r.runaway > 0) {
        r.runaway = 0;
        emit("replica.process_killed", {EntityKind::kReplica, target}, "runaway process");
      } else {
        // No runaway process: the hottest process is the service itself, so the container dies.
        emit("replica.process_killed", {EntityKind::kReplica, target}, "main process; container restarts");
        restart_in_place(target);
      }
      break;
    }
    case kCleanDiskDone: {
      NodeState& n = nodes_[target];
      n.cleaning = false;
      n.disk_used = scenario_->nodes[target].disk_baseline;
      n.disk_fill_rate = 0;
      queue_.cancel(n.disk_full_event);
      emit("node.disk_cleaned", {EntityKind::kNode, target});
      break;
    }
    case kEscalationDone:
      for (const FaultRecord& f : faults_)
        if (f.active) repair(f);
      escalated_ = false;
      emit("escalation.resolved", {});
      break;
    case kRolloutStep: rollout_step(target); break;
    case kDiskFull:
      nodes_[target].disk_used = 1.0;
      nodes_[target].disk_fill_rate = 0;
      emit("node.disk_full", {EntityKind::kNode, target});
      break;
    case kNodeMarkedNotReady:
      // The dead replicas leave the load balancer; what was queued at them is lost.
      for (int r = 0; r < num_replica_slots(); ++r)
        if (replicas_[r].node == target && replicas_[r].phase == Phase::kLost) drop_backlog(r);
      emit("node.marked_not_ready", {EntityKind::kNode, target});
      break;
    case kSurgeEnd:
      services_[target].surge_factor = 1.0;
      emit("traffic.surge_ended", {EntityKind::kService, target});
      break;
  }
  recompute();
  update_fault_status();
}

void Cluster::advance(SimTime t) {
  if (t <= now_) return;
  const double dt = to_seconds(t - now_);
  const Scenario& sc = *scenario_;
  double in_flight = 0;
  for (int s = 0; s < num_services(); ++s) {
    const ServiceState& svc = services_[s];
    const bool entry = sc.services[s].traffic_share > 0;
    const double queue_limit = sc.services[s].queue_limit;
    if (entry && svc.ready == 0) {
      counters_.requests_in += svc.arrival * dt;
      counters_.requests_failed += svc.arrival * dt;
    }
    for (int k = 0; k < sc.services[s].max_replicas; ++k) {
      ReplicaState& r = replicas_[svc.first_slot + k];
      if (r.phase == Phase::kEmpty) continue;
      if (r.phase == Phase::kRunning || r.phase == Phase::kStarting) r.mem_gib += r.leak_rate * dt;
      if (r.arrival <= 0 && r.backlog <= 0) continue;
      const double arrived = r.arrival * dt;
      const double work = arrived + r.backlog;
      const double processed = std::min(work, r.capacity * dt);
      const double backlog = std::min(work - processed, queue_limit);
      const double rejected = work - processed - backlog;
      r.backlog = backlog;
      if (entry) {
        counters_.requests_in += arrived;
        counters_.requests_served += processed * (1.0 - svc.served_error);
        counters_.requests_failed += processed * svc.served_error + rejected;
        in_flight += backlog;
      }
    }
  }
  counters_.requests_in_flight = in_flight;

  int present = 0;
  double replica_cost_rate = 0;
  for (const ReplicaState& r : replicas_) {
    if (r.phase == Phase::kStarting || r.phase == Phase::kRunning || r.phase == Phase::kBackoff) {
      ++present;
      replica_cost_rate += sc.services[r.service].cost_per_replica_hour;
    }
  }
  double node_cost_rate = 0;
  for (int n = 0; n < num_nodes(); ++n) {
    NodeState& node = nodes_[n];
    node.disk_used = std::min(1.0, node.disk_used + node.disk_fill_rate * dt);
    if (node.ready) node_cost_rate += sc.nodes[n].cost_per_hour;
  }
  counters_.replica_seconds += present * dt;
  counters_.replica_cost_usd += replica_cost_rate * dt / 3600.0;
  counters_.node_cost_usd += node_cost_rate * dt / 3600.0;
  if (!slo_ok_now()) counters_.slo_violation_seconds += dt;
  now_ = t;
}

bool Cluster::slo_ok_now() const {
  const Scenario& sc = *scenario_;
  for (int s = 0; s < num_services(); ++s) {
    if (sc.services[s].traffic_share <= 0) continue;
    const ServiceState& svc = services_[s];
    if (svc.ready == 0 || svc.call_error > sc.slo.error_rate || svc.p99 * 1000.0 > sc.slo.p99_latency_ms) return false;
  }
  return true;
}

// ---- replica life cycle ----------------------------------------------------------------

int Cluster::place(int slot, int avoid_node) const {
  // Least-allocated node that fits the replica's requests, preferring nodes that do not yet
  // run the same service (soft anti-affinity); ties go to the lower index.
  const Scenario& sc = *scenario_;
  const ServiceSpec& spec = sc.services[replicas_[slot].service];
  std::vector<double>& cpu = place_cpu_;
  std::vector<double>& mem = place_mem_;
  std::vector<int>& same = place_same_;
  cpu.assign(nodes_.size(), 0.0);
  mem.assign(nodes_.size(), 0.0);
  same.assign(nodes_.size(), 0);
  for (int r = 0; r < num_replica_slots(); ++r) {
    const ReplicaState& o = replicas_[r];
    if (o.phase == Phase::kEmpty || o.node < 0 || r == slot) continue;
    cpu[o.node] += sc.services[o.service].cpu_request;
    mem[o.node] += sc.services[o.service].memory_request_gib;
    if (o.service == replicas_[slot].service) ++same[o.node];
  }
  int best = -1;
  double best_score = -1e300;
  for (int n = 0; n < num_nodes(); ++n) {
    if (!nodes_[n].ready || nodes_[n].cordoned || n == avoid_node) continue;
    const NodeSpec& ns = sc.nodes[n];
    if (cpu[n] + spec.cpu_request > ns.cpu_cores + 1e-9) continue;
    if (mem[n] + spec.memory_request_gib > ns.memory_gib + 1e-9) continue;
    const double score = (ns.cpu_cores - cpu[n] - spec.cpu_request) / ns.cpu_cores - 0.5 * same[n];
    if (score > best_score + 1e-12) {
      best_score = score;
      best = n;
    }
  }
  return best;
}

bool Cluster::start_replica(int slot, int avoid_node) {
  ReplicaState& r = replicas_[slot];
  const int node = place(slot, avoid_node);
  if (node < 0) {
    emit("replica.unschedulable", {EntityKind::kReplica, slot}, "no node has room");
    return false;
  }
  const ServiceSpec& spec = scenario_->services[r.service];
  const ServiceState& svc = services_[r.service];
  Rng& rng = replica_rng_[slot];
  r.node = node;
  r.phase = Phase::kStarting;
  r.bad_version = svc.bad_version;
  r.runaway = 0;
  r.hung = false;
  r.backlog = 0;
  r.ready_since = -1;
  r.mem_gib = spec.memory_limit_gib * spec.memory_baseline * rng.uniform(0.9, 1.1);
  r.leak_rate = r.bad_version ? svc.bad_leak_gib_s * rng.uniform(0.8, 1.2) : 0.0;
  queue_.cancel(r.phase_event);
  r.phase_event = schedule_handle(now_ + from_seconds(spec.startup_seconds * rng.uniform(0.9, 1.2)), kReplicaReady, slot);
  schedule_oom(slot);
  if (timeline_on()) emit("replica.starting", {EntityKind::kReplica, slot}, fmt::format("on {}", scenario_->nodes[node].name));
  return true;
}

void Cluster::become_ready(int slot) {
  ReplicaState& r = replicas_[slot];
  if (r.phase != Phase::kStarting) return;
  r.phase = Phase::kRunning;
  r.ready_since = now_;
  emit("replica.ready", {EntityKind::kReplica, slot});
}

void Cluster::schedule_oom(int slot) {
  ReplicaState& r = replicas_[slot];
  queue_.cancel(r.oom_event);
  if (r.leak_rate <= 0) return;
  const double limit = scenario_->services[r.service].memory_limit_gib;
  const double seconds = std::max(0.0, (limit - r.mem_gib) / r.leak_rate);
  r.oom_event = schedule_handle(now_ + from_seconds(seconds) + 1, kReplicaOom, slot);
}

void Cluster::drop_backlog(int slot) {
  ReplicaState& r = replicas_[slot];
  if (scenario_->services[r.service].traffic_share > 0) {
    counters_.requests_failed += r.backlog;
    counters_.requests_in_flight -= r.backlog;
  }
  r.backlog = 0;
}

void Cluster::stop_replica(int slot, bool count_restart) {
  ReplicaState& r = replicas_[slot];
  drop_backlog(slot);
  queue_.cancel(r.phase_event);
  queue_.cancel(r.oom_event);
  if (count_restart) {
    ++r.restarts;
    ++services_[r.service].restarts;
  }
  r.phase = Phase::kEmpty;
  r.node = -1;
  r.runaway = 0;
  r.hung = false;
  r.leak_rate = 0;
  r.ready_since = -1;
  emit("replica.stopped", {EntityKind::kReplica, slot});
}

void Cluster::restart_in_place(int slot) {
  // The scheduler places the restarted pod afresh (it often lands on the same node); a node
  // that became unready or cordoned is avoided.
  ReplicaState& r = replicas_[slot];
  const int node = r.node;
  stop_replica(slot, /*count_restart=*/true);
  r.restart_times.push_back(now_);
  if (node >= 0 && nodes_[node].ready && !nodes_[node].cordoned) {
    start_replica(slot, -1);
  } else {
    start_replica(slot, node);
  }
}

void Cluster::oom_kill(int slot) {
  ReplicaState& r = replicas_[slot];
  if (r.phase == Phase::kEmpty || r.phase == Phase::kLost) return;
  if (r.ready_since >= 0 && now_ - r.ready_since >= kBackoffReset) r.recent_crashes = 0;
  ++r.recent_crashes;
  ++counters_.oom_kills;
  r.last_oom = now_;
  emit("replica.oom_killed", {EntityKind::kReplica, slot});
  const int node = r.node;
  const bool bad = r.bad_version;
  stop_replica(slot, /*count_restart=*/true);
  r.restart_times.push_back(now_);
  // CrashLoopBackOff: 10 s, doubling per consecutive crash, capped at 5 min.
  const SimTime backoff = std::min(kBackoffCap, (10 * kSecond) << std::min(r.recent_crashes - 1, 10));
  r.phase = Phase::kBackoff;
  r.node = node;
  r.bad_version = bad;
  r.phase_event = schedule_handle(now_ + backoff, kBackoffEnd, slot);
  if (timeline_on()) emit("replica.crash_backoff", {EntityKind::kReplica, slot}, fmt::format("{}s", backoff / kSecond));
}

void Cluster::reconcile() {
  // The replica-set controller: keep `desired` replicas per service.
  for (int s = 0; s < num_services(); ++s) {
    const ServiceSpec& spec = scenario_->services[s];
    int present = 0;
    for (int k = 0; k < spec.max_replicas; ++k)
      present += replicas_[services_[s].first_slot + k].phase != Phase::kEmpty;
    for (int k = 0; k < spec.max_replicas && present < services_[s].desired; ++k) {
      const int r = services_[s].first_slot + k;
      if (replicas_[r].phase != Phase::kEmpty) continue;
      if (!start_replica(r, -1)) break;
      ++present;
    }
  }
}

void Cluster::begin_rollout(int service, bool to_bad_version, std::string_view what) {
  ServiceState& svc = services_[service];
  svc.bad_version = to_bad_version;
  svc.rolling = true;
  svc.rollout_next = 0;
  svc.last_rollout = now_;
  if (timeline_on()) emit("rollout.started", {EntityKind::kService, service}, std::string(what));
  schedule(now_, kRolloutStep, service);
}

void Cluster::rollout_step(int service) {
  // One replica at a time (maxUnavailable = 1): restart the next one, wait for its start-up.
  ServiceState& svc = services_[service];
  const ServiceSpec& spec = scenario_->services[service];
  if (!svc.rolling) return;
  while (svc.rollout_next < spec.max_replicas) {
    const int r = svc.first_slot + svc.rollout_next++;
    if (replicas_[r].phase == Phase::kEmpty || replicas_[r].phase == Phase::kLost) continue;
    restart_in_place(r);
    schedule(now_ + from_seconds(spec.startup_seconds * 1.2) + 5 * kSecond, kRolloutStep, service);
    return;
  }
  svc.rolling = false;
  emit("rollout.done", {EntityKind::kService, service});
}

// ---- names -------------------------------------------------------------------------------

std::string Cluster::entity_name(EntityRef e) const {
  const Scenario& sc = *scenario_;
  switch (e.kind) {
    case EntityKind::kNode: return sc.nodes[e.index].name;
    case EntityKind::kService: return sc.services[e.index].name;
    case EntityKind::kReplica:
      return fmt::format("{}-{}", sc.services[replicas_[e.index].service].name, replicas_[e.index].slot_in_service);
    default: return "cluster";
  }
}

EntityRef Cluster::find_entity(std::string_view name) const {
  const Scenario& sc = *scenario_;
  if (const int n = sc.node_index(name); n >= 0) return {EntityKind::kNode, n};
  if (const int s = sc.service_index(name); s >= 0) return {EntityKind::kService, s};
  const auto dash = name.rfind('-');
  if (dash != std::string_view::npos) {
    const int s = sc.service_index(name.substr(0, dash));
    int k = -1;
    const std::string_view digits = name.substr(dash + 1);
    if (s >= 0 && !digits.empty() && digits.find_first_not_of("0123456789") == std::string_view::npos) {
      k = std::stoi(std::string(digits));
      if (k < sc.services[s].max_replicas) return {EntityKind::kReplica, services_[s].first_slot + k};
    }
  }
  return {};
}

}  // namespace opsrl::sim
