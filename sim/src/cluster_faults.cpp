// Faults: injection, onset effects, the mitigation test for each type, and the repair a human
// applies after an escalation.
#include <opsrl/sim/cluster.hpp>

#include <algorithm>
#include <stdexcept>

#include <fmt/format.h>

namespace opsrl::sim {

namespace {
constexpr SimTime kNodeGracePeriod = 40 * kSecond;  // kube-controller-manager's node-monitor-grace-period
constexpr SimTime kEvictionTimeout = 5 * kMinute;  // Kubernetes' default pod eviction timeout
}  // namespace

int Cluster::inject(const FaultSpec& fault) {
  const FaultInfo& info = fault_info(fault.type);
  const int limit = fault.root.kind == EntityKind::kNode      ? num_nodes()
                    : fault.root.kind == EntityKind::kService ? num_services()
                    : fault.root.kind == EntityKind::kReplica ? num_replica_slots()
                                                               : 0;
  if (fault.root.kind != info.root_kind)
    throw std::invalid_argument(fmt::format("fault {}: root must be a {}, got a {}", info.name,
                                            entity_kind_name(info.root_kind), entity_kind_name(fault.root.kind)));
  if (fault.root.index < 0 || fault.root.index >= limit)
    throw std::invalid_argument(fmt::format("fault {}: {} index {} out of range [0, {})", info.name,
                                            entity_kind_name(fault.root.kind), fault.root.index, limit));
  if (fault.type == FaultType::kTrafficSurge && scenario_->services[fault.root.index].traffic_share <= 0)
    throw std::invalid_argument(fmt::format("fault traffic_surge: {} receives no external traffic; choose an entry service",
                                            scenario_->services[fault.root.index].name));
  if (fault.onset < now_)
    throw std::invalid_argument(fmt::format("fault {}: onset {} is in the past (now {})", info.name,
                                            format_time(fault.onset), format_time(now_)));
  if (!(fault.severity > 0 && fault.severity <= 1))
    throw std::invalid_argument(fmt::format("fault {}: severity must be in (0, 1], got {}", info.name, fault.severity));
  faults_.push_back(FaultRecord{fault, false, -1});
  const int id = static_cast<int>(faults_.size()) - 1;
  schedule(fault.onset, kFaultOnset, fault.root.index, id);
  return id;
}

void Cluster::fault_onset(int id) {
  FaultRecord& f = faults_[id];
  const double sev = f.spec.severity;
  const int i = f.spec.root.index;
  f.active = true;
  emit("fault.onset", f.spec.root, std::string(fault_info(f.spec.type).name));
  switch (f.spec.type) {
    case FaultType::kRunawayProcess:
      if (replicas_[i].phase != Phase::kRunning) {
        // Nothing runs in that slot: the fault has nothing to act on.
        f.active = false;
        f.mitigated_at = now_;
        emit("fault.no_effect", f.spec.root, "replica not running");
        return;
      }
      replicas_[i].runaway = 0.6 + 0.35 * sev;
      break;
    case FaultType::kMemoryLeak: {
      ServiceState& svc = services_[i];
      const ServiceSpec& spec = scenario_->services[i];
      // The leaky version reaches its memory limit (30 - 22 * severity) minutes after start.
      const double minutes = 30.0 - 22.0 * sev;
      svc.bad_leak_gib_s = spec.memory_limit_gib * (1.0 - spec.memory_baseline) / (minutes * 60.0);
      svc.bad_error = 0;
      svc.bad_slowdown = 1.0;
      begin_rollout(i, true, "new version");
      break;
    }
    case FaultType::kBadDeploy: {
      ServiceState& svc = services_[i];
      // A third of bad versions fail requests, a third are slow, a third both.
      const auto mode = fault_rng_.below(3);
      svc.bad_error = mode != 1 ? 0.05 + 0.35 * sev : 0.005;
      svc.bad_slowdown = mode != 0 ? 1.8 + 3.0 * sev : 1.0;
      svc.bad_leak_gib_s = 0;
      begin_rollout(i, true, "new version");
      break;
    }
    case FaultType::kNoisyNeighbour:
      nodes_[i].foreign_cores = scenario_->nodes[i].cpu_cores * (0.55 + 0.4 * sev);
      break;
    case FaultType::kNodeFailure: {
      NodeState& node = nodes_[i];
      node.ready = false;
      emit("node.not_ready", f.spec.root);
      // Kubernetes notices after the node-monitor grace period (40 s); until then the load
      // balancer keeps sending traffic to the dead replicas.
      for (int r = 0; r < num_replica_slots(); ++r) {
        if (replicas_[r].node != i || replicas_[r].phase == Phase::kEmpty) continue;
        drop_backlog(r);
        queue_.cancel(replicas_[r].phase_event);
        queue_.cancel(replicas_[r].oom_event);
        replicas_[r].routed_until = replicas_[r].phase == Phase::kRunning ? now_ + kNodeGracePeriod : now_;
        replicas_[r].phase = Phase::kLost;
      }
      schedule(now_ + kNodeGracePeriod, kNodeMarkedNotReady, i);
      queue_.cancel(node.evict_event);
      node.evict_event = schedule_handle(now_ + kEvictionTimeout, kEvictLost, i);
      break;
    }
    case FaultType::kTrafficSurge:
      services_[i].surge_factor = 1.5 + 1.0 * sev;
      queue_.cancel(services_[i].surge_end);  // a new surge replaces a running one
      services_[i].surge_end = schedule_handle(now_ + (f.spec.duration > 0 ? f.spec.duration : kHour), kSurgeEnd, i);
      break;
    case FaultType::kDependencyFailure:
      for (int k = 0; k < scenario_->services[i].max_replicas; ++k) {
        ReplicaState& r = replicas_[services_[i].first_slot + k];
        if (r.phase == Phase::kRunning || r.phase == Phase::kStarting) r.hung = true;
      }
      break;
    case FaultType::kDiskFull: {
      NodeState& node = nodes_[i];
      const double minutes = 18.0 - 12.0 * sev;  // until full
      node.disk_fill_rate = (1.0 - node.disk_used) / (minutes * 60.0);
      queue_.cancel(node.disk_full_event);
      node.disk_full_event = schedule_handle(now_ + from_seconds(minutes * 60.0), kDiskFull, i);
      break;
    }
    case FaultType::kNetworkDegradation:
      nodes_[i].net_delay_ms = 40.0 + 260.0 * sev;
      nodes_[i].net_loss = 0.01 + 0.09 * sev;
      break;
    case FaultType::kCount: break;
  }
}

bool Cluster::fault_mitigated(const FaultRecord& f) const {
  const int i = f.spec.root.index;
  auto node_has_replicas = [&](int n) {
    for (const ReplicaState& r : replicas_)
      if (r.node == n && r.phase != Phase::kEmpty) return true;
    return false;
  };
  auto service_any = [&](int s, auto pred) {
    for (int k = 0; k < scenario_->services[s].max_replicas; ++k)
      if (pred(replicas_[services_[s].first_slot + k])) return true;
    return false;
  };
  switch (f.spec.type) {
    case FaultType::kRunawayProcess: return replicas_[i].runaway == 0;
    case FaultType::kMemoryLeak:
    case FaultType::kBadDeploy:
      return !services_[i].bad_version &&
             !service_any(i, [](const ReplicaState& r) { return r.phase != Phase::kEmpty && r.bad_version; });
    case FaultType::kNoisyNeighbour: return nodes_[i].foreign_cores == 0 || !node_has_replicas(i);
    case FaultType::kNodeFailure: return nodes_[i].ready || !node_has_replicas(i);
    case FaultType::kTrafficSurge:
      // Mitigated once every service has the capacity for the surge, with headroom.
      return services_[i].surge_factor == 1.0 ||
             std::all_of(services_.begin(), services_.end(), [](const ServiceState& s) { return s.utilisation < 0.85; });
    case FaultType::kDependencyFailure:
      return !service_any(i, [](const ReplicaState& r) { return r.phase != Phase::kEmpty && r.hung; });
    case FaultType::kDiskFull: return nodes_[i].disk_fill_rate == 0 && nodes_[i].disk_used < 0.85;
    case FaultType::kNetworkDegradation:
      return (nodes_[i].net_delay_ms == 0 && nodes_[i].net_loss == 0) || !node_has_replicas(i);
    case FaultType::kCount: break;
  }
  return true;
}

void Cluster::update_fault_status() {
  for (FaultRecord& f : faults_) {
    if (!f.active || !fault_mitigated(f)) continue;
    f.active = false;
    f.mitigated_at = now_;
    emit("fault.mitigated", f.spec.root, std::string(fault_info(f.spec.type).name));
  }
}

bool Cluster::any_fault_active() const {
  return std::any_of(faults_.begin(), faults_.end(), [](const FaultRecord& f) { return f.active; });
}

void Cluster::repair(const FaultRecord& f) {
  // An engineer fixes the cause directly, without the disruption of a rollout.
  const int i = f.spec.root.index;
  switch (f.spec.type) {
    case FaultType::kRunawayProcess: replicas_[i].runaway = 0; break;
    case FaultType::kMemoryLeak:
    case FaultType::kBadDeploy:
      services_[i].bad_version = false;
      services_[i].rolling = false;
      for (int k = 0; k < scenario_->services[i].max_replicas; ++k) {
        const int r = services_[i].first_slot + k;
        if (replicas_[r].phase == Phase::kEmpty || !replicas_[r].bad_version) continue;
        restart_in_place(r);
      }
      break;
    case FaultType::kNoisyNeighbour: nodes_[i].foreign_cores = 0; break;
    case FaultType::kNodeFailure:
      nodes_[i].ready = true;
      queue_.cancel(nodes_[i].evict_event);
      for (int r = 0; r < num_replica_slots(); ++r)
        if (replicas_[r].node == i && replicas_[r].phase == Phase::kLost) {
          replicas_[r].phase = Phase::kEmpty;
          replicas_[r].node = -1;
          start_replica(r, -1);
        }
      emit("node.ready", f.spec.root);
      break;
    case FaultType::kTrafficSurge: {
      // Scale the service to the surge.
      const ServiceSpec& spec = scenario_->services[i];
      ServiceState& svc = services_[i];
      const int needed = static_cast<int>(std::ceil(svc.ready * svc.utilisation / 0.6));
      svc.desired = std::clamp(needed, svc.desired, spec.max_replicas);
      reconcile();
      svc.surge_factor = 1.0;  // and the rest is absorbed by shedding upstream
      break;
    }
    case FaultType::kDependencyFailure:
      for (int k = 0; k < scenario_->services[i].max_replicas; ++k) replicas_[services_[i].first_slot + k].hung = false;
      break;
    case FaultType::kDiskFull:
      nodes_[i].disk_used = scenario_->nodes[i].disk_baseline;
      nodes_[i].disk_fill_rate = 0;
      queue_.cancel(nodes_[i].disk_full_event);
      break;
    case FaultType::kNetworkDegradation:
      nodes_[i].net_delay_ms = 0;
      nodes_[i].net_loss = 0;
      break;
    case FaultType::kCount: break;
  }
}

}  // namespace opsrl::sim

namespace opsrl::sim {

FaultSpec sample_fault(const Cluster& cluster, Rng& rng, SimTime onset, std::span<const FaultType> types) {
  FaultSpec f;
  f.type = types.empty() ? static_cast<FaultType>(rng.below(kNumFaultTypes)) : types[rng.below(types.size())];
  f.onset = onset;
  f.severity = rng.uniform(0.4, 1.0);
  const Scenario& sc = cluster.scenario();
  switch (fault_info(f.type).root_kind) {
    case EntityKind::kNode: f.root = {EntityKind::kNode, static_cast<int>(rng.below(sc.nodes.size()))}; break;
    case EntityKind::kService: {
      std::vector<int> candidates;
      for (int s = 0; s < cluster.num_services(); ++s)
        if (f.type != FaultType::kTrafficSurge || sc.services[s].traffic_share > 0) candidates.push_back(s);
      f.root = {EntityKind::kService, candidates[rng.below(candidates.size())]};
      break;
    }
    case EntityKind::kReplica: {
      std::vector<int> candidates;
      for (int r = 0; r < cluster.num_replica_slots(); ++r)
        if (cluster.replica_running(r)) candidates.push_back(r);
      f.root = {EntityKind::kReplica, candidates[rng.below(candidates.size())]};
      break;
    }
    default: break;
  }
  return f;
}

}  // namespace opsrl::sim
