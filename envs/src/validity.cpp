// ActionValidity: Cluster::check's rules, evaluated for every target at once. Each rule cites
// the branch of Cluster::check (sim/src/cluster_actions.cpp) it mirrors.
#include "validity.hpp"

#include <algorithm>

namespace opsrl::envs {

namespace {
using sim::Verb;
constexpr int idx(Verb v) { return static_cast<int>(v); }
}  // namespace

ActionValidity::ActionValidity(const sim::Scenario& sc) : scenario_(&sc) {
  const int N = static_cast<int>(sc.nodes.size());
  const int S = static_cast<int>(sc.services.size());
  const int R = sc.total_replica_slots();
  for (int v = 0; v < sim::kNumVerbs; ++v) {
    const sim::EntityKind kind = sim::verb_info(static_cast<Verb>(v)).target_kind;
    const int n = kind == sim::EntityKind::kNode ? N : kind == sim::EntityKind::kService ? S
                  : kind == sim::EntityKind::kReplica ? R : 1;
    ok_[v].assign(n, 0);
  }
  alloc_cpu_.assign(N, 0.0);
  alloc_mem_.assign(N, 0.0);
  schedulable_.assign(N, 0);
  for (int s = 0; s < S; ++s) {
    const std::array<double, 2> req{sc.services[s].cpu_request, sc.services[s].memory_request_gib};
    const auto it = std::find(class_requests_.begin(), class_requests_.end(), req);
    request_class_.push_back(static_cast<int>(it - class_requests_.begin()));
    if (it == class_requests_.end()) class_requests_.push_back(req);
  }
  class_fitting_nodes_.assign(class_requests_.size(), 0);
  class_fits_.assign(class_requests_.size() * static_cast<std::size_t>(N), 0);
}

void ActionValidity::update(const sim::Cluster& c) {
  const sim::Scenario& sc = *scenario_;
  const sim::Telemetry& t = c.telemetry();
  const int N = c.num_nodes(), S = c.num_services(), R = c.num_replica_slots();
  const sim::SimTime now = c.now();

  // Requests per node as Cluster::place sums them: every slot that is not empty (running,
  // starting, in back-off or lost) counts on its node, in slot order. A slot is empty exactly
  // when the scrape reports no node for it.
  std::fill(alloc_cpu_.begin(), alloc_cpu_.end(), 0.0);
  std::fill(alloc_mem_.begin(), alloc_mem_.end(), 0.0);
  for (int r = 0; r < R; ++r) {
    const int node = static_cast<int>(t.replicas(r, sim::kRepNode));
    if (node < 0) continue;
    const sim::ServiceSpec& spec = sc.services[c.replica_service(r)];
    alloc_cpu_[node] += spec.cpu_request;
    alloc_mem_[node] += spec.memory_request_gib;
  }
  for (int n = 0; n < N; ++n) schedulable_[n] = t.nodes(n, sim::kNodeReady) > 0.5 && t.nodes(n, sim::kNodeCordoned) < 0.5;
  // place(): the requests fit on a schedulable node (the same comparisons, the same sums).
  for (std::size_t k = 0; k < class_requests_.size(); ++k) {
    const auto [cpu, mem] = class_requests_[k];
    std::uint8_t* fits = class_fits_.data() + k * static_cast<std::size_t>(N);
    int count = 0;
    for (int n = 0; n < N; ++n) {
      fits[n] = schedulable_[n] && !(alloc_cpu_[n] + cpu > sc.nodes[n].cpu_cores + 1e-9) &&
                !(alloc_mem_[n] + mem > sc.nodes[n].memory_gib + 1e-9);
      count += fits[n];
    }
    class_fitting_nodes_[k] = count;
  }
  auto fitting_nodes = [&](int s) { return class_fitting_nodes_[request_class_[s]]; };
  auto fits = [&](int s, int n) { return class_fits_[static_cast<std::size_t>(request_class_[s]) * N + n] != 0; };

  // Replica verbs.
  for (int r = 0; r < R; ++r) {
    const int node = static_cast<int>(t.replicas(r, sim::kRepNode));
    const bool occupied = node >= 0;
    const int s = c.replica_service(r);
    ok_[idx(Verb::kRestartReplica)][r] = occupied;                      // "no replica in this slot"
    ok_[idx(Verb::kKillProcess)][r] = c.replica_running(r);             // "not running"
    // migrate: occupied and place(slot, avoid = its node) finds another node.
    ok_[idx(Verb::kMigrateReplica)][r] = occupied && fitting_nodes(s) - (fits(s, node) ? 1 : 0) > 0;
  }

  // Service verbs.
  for (int s = 0; s < S; ++s) {
    const sim::ServiceSpec& spec = sc.services[s];
    // restart_service and rollback share one condition: no rollout in progress.
    const bool idle = !c.rollout_in_progress(s);
    ok_[idx(Verb::kRestartService)][s] = idle;
    ok_[idx(Verb::kRollback)][s] = idle;
    const double desired = t.services(s, sim::kSvcDesiredReplicas);
    // scale_out: below max_replicas, an empty slot, and place(that slot) finds a node.
    bool empty_slot = false;
    for (int k = 0; k < spec.max_replicas && !empty_slot; ++k)
      empty_slot = t.replicas(c.replica_offset(s) + k, sim::kRepNode) < 0;
    ok_[idx(Verb::kScaleOut)][s] = desired < spec.max_replicas && empty_slot && fitting_nodes(s) > 0;
    ok_[idx(Verb::kScaleIn)][s] = desired > spec.min_replicas;          // "already at min_replicas"
  }

  // Node verbs.
  for (int n = 0; n < N; ++n) {
    ok_[idx(Verb::kDrainNode)][n] = t.nodes(n, sim::kNodeCordoned) < 0.5;  // "already drained"
    ok_[idx(Verb::kCleanDisk)][n] = t.nodes(n, sim::kNodeReady) > 0.5 && !c.disk_cleaning(n);
  }

  // Verbs without a target.
  ok_[idx(Verb::kNoop)][0] = 1;
  ok_[idx(Verb::kEscalate)][0] = !c.escalation_pending();

  for (int v = 0; v < sim::kNumVerbs; ++v)
    any_[v] = std::any_of(ok_[v].begin(), ok_[v].end(), [](std::uint8_t b) { return b != 0; });
}

}  // namespace opsrl::envs
