// Actions: validity checks with reasons, and their effects.
#include <opsrl/sim/cluster.hpp>

#include <fmt/format.h>

namespace opsrl::sim {

ActionResult Cluster::check(const Action& a) const {
  if (static_cast<int>(a.verb) >= kNumVerbs) return ActionResult::refused("unknown verb");
  const VerbInfo& info = verb_info(a.verb);
  if (info.target_kind == EntityKind::kNone) {
    if (a.verb == Verb::kEscalate && escalated_) return ActionResult::refused("a human is already working on it");
    return ActionResult::ok();
  }
  if (a.target.kind != info.target_kind)
    return ActionResult::refused(fmt::format("{} needs a {} target, got a {}", info.name,
                                             entity_kind_name(info.target_kind), entity_kind_name(a.target.kind)));
  const int limit = a.target.kind == EntityKind::kNode ? num_nodes()
                    : a.target.kind == EntityKind::kService ? num_services()
                                                            : num_replica_slots();
  if (a.target.index < 0 || a.target.index >= limit)
    return ActionResult::refused(fmt::format("{} index {} out of range [0, {})", entity_kind_name(a.target.kind),
                                             a.target.index, limit));
  auto name = [&] { return entity_name(a.target); };  // only formatted for a refusal
  switch (a.verb) {
    case Verb::kRestartReplica:
    case Verb::kMigrateReplica: {
      const ReplicaState& r = replicas_[a.target.index];
      if (r.phase == Phase::kEmpty) return ActionResult::refused(fmt::format("{}: no replica in this slot", name()));
      if (a.verb == Verb::kMigrateReplica) {
        if (place(a.target.index, r.node) < 0)
          return ActionResult::refused(fmt::format("{}: no other node has room for it", name()));
      }
      return ActionResult::ok();
    }
    case Verb::kKillProcess:
      if (replicas_[a.target.index].phase != Phase::kRunning)
        return ActionResult::refused(fmt::format("{}: not running", name()));
      return ActionResult::ok();
    case Verb::kRestartService:
    case Verb::kRollback:
      if (services_[a.target.index].rolling)
        return ActionResult::refused(fmt::format("{}: a rollout is already in progress", name()));
      return ActionResult::ok();
    case Verb::kScaleOut: {
      const ServiceState& svc = services_[a.target.index];
      const ServiceSpec& spec = scenario_->services[a.target.index];
      if (svc.desired >= spec.max_replicas)
        return ActionResult::refused(fmt::format("{}: already at max_replicas = {}", name(), spec.max_replicas));
      for (int k = 0; k < spec.max_replicas; ++k)
        if (replicas_[svc.first_slot + k].phase == Phase::kEmpty) {
          if (place(svc.first_slot + k, -1) < 0)
            return ActionResult::refused(fmt::format("{}: no node has {} free cores and {} GiB", name(),
                                                     spec.cpu_request, spec.memory_request_gib));
          return ActionResult::ok();
        }
      return ActionResult::refused(fmt::format("{}: every replica slot is in use", name()));
    }
    case Verb::kScaleIn: {
      const ServiceSpec& spec = scenario_->services[a.target.index];
      if (services_[a.target.index].desired <= spec.min_replicas)
        return ActionResult::refused(fmt::format("{}: already at min_replicas = {}", name(), spec.min_replicas));
      return ActionResult::ok();
    }
    case Verb::kDrainNode:
      if (nodes_[a.target.index].cordoned) return ActionResult::refused(fmt::format("{}: already drained", name()));
      return ActionResult::ok();
    case Verb::kCleanDisk:
      if (!nodes_[a.target.index].ready) return ActionResult::refused(fmt::format("{}: node is not ready", name()));
      if (nodes_[a.target.index].cleaning) return ActionResult::refused(fmt::format("{}: already cleaning", name()));
      return ActionResult::ok();
    default: return ActionResult::ok();
  }
}

ActionResult Cluster::apply(const Action& a) {
  ActionResult result = apply_without_recompute(a);
  if (result.accepted && a.verb != Verb::kNoop) {
    recompute();
    update_fault_status();
  }
  return result;
}

void Cluster::apply(std::span<const Action> actions, std::span<ActionResult> results) {
  bool changed = false;
  for (std::size_t i = 0; i < actions.size(); ++i) {
    results[i] = apply_without_recompute(actions[i]);
    changed |= results[i].accepted && actions[i].verb != Verb::kNoop;
  }
  if (changed) {
    recompute();
    update_fault_status();
  }
}

ActionResult Cluster::apply_without_recompute(const Action& a) {
  ActionResult result = check(a);
  if (!result.accepted) {
    ++counters_.actions_refused;
    if (timeline_on()) emit("action.refused", a.target, fmt::format("{}: {}", verb_info(a.verb).name, result.reason));
    return result;
  }
  if (a.verb == Verb::kNoop) return result;  // nothing changes, nothing to recompute
  const VerbInfo& info = verb_info(a.verb);
  {
    ++counters_.actions_taken;
    counters_.action_cost_usd += info.cost_usd;
    if (timeline_on()) emit("action", a.target, std::string(info.name));
  }
  const int i = a.target.index;
  switch (a.verb) {
    case Verb::kNoop: break;
    case Verb::kRestartReplica: restart_in_place(i); break;
    case Verb::kRestartService: begin_rollout(i, services_[i].bad_version, "restart"); break;
    case Verb::kKillProcess: schedule(now_ + info.delay, kKillDone, i); break;
    case Verb::kRollback: begin_rollout(i, false, "previous version"); break;
    case Verb::kScaleOut: {
      ServiceState& svc = services_[i];
      ++svc.desired;
      for (int k = 0; k < scenario_->services[i].max_replicas; ++k)
        if (replicas_[svc.first_slot + k].phase == Phase::kEmpty) {
          start_replica(svc.first_slot + k, -1);
          break;
        }
      break;
    }
    case Verb::kScaleIn: {
      ServiceState& svc = services_[i];
      --svc.desired;
      // Remove the newest replica: the highest occupied slot.
      for (int k = scenario_->services[i].max_replicas - 1; k >= 0; --k)
        if (replicas_[svc.first_slot + k].phase != Phase::kEmpty) {
          stop_replica(svc.first_slot + k, false);
          break;
        }
      break;
    }
    case Verb::kMigrateReplica: {
      const int from = replicas_[i].node;
      stop_replica(i, false);
      start_replica(i, from);
      break;
    }
    case Verb::kDrainNode:
      nodes_[i].cordoned = true;
      for (int r = 0; r < num_replica_slots(); ++r) {
        if (replicas_[r].node != i || replicas_[r].phase == Phase::kEmpty) continue;
        stop_replica(r, false);
        start_replica(r, i);  // if nothing fits, reconcile() retries at the next scrape
      }
      break;
    case Verb::kCleanDisk:
      nodes_[i].cleaning = true;
      schedule(now_ + info.delay, kCleanDiskDone, i);
      break;
    case Verb::kEscalate:
      escalated_ = true;
      schedule(now_ + info.delay, kEscalationDone, -1);
      break;
    case Verb::kCount: break;
  }
  return result;
}

}  // namespace opsrl::sim
