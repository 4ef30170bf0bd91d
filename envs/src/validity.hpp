#pragma once
// Which remediations sim::Cluster would accept right now, for every verb and target, without
// asking Cluster::check for each (check formats names and its placement test allocates, far
// too slow for every target at every step). The rules mirror Cluster::check exactly, reading
// the latest scrape and the cluster's public state; tests/envs/test_masks.cpp holds them
// against check() over random play.
//
// Two facts the cluster does not expose are kept here: when a disk cleaning ends (tracked from
// the accepted clean_disk actions), and, per service, whether a rollout is in progress (asked
// through check(), one call per service, until the cluster has an accessor for it).
#include <array>
#include <cstdint>
#include <span>
#include <vector>

#include <opsrl/sim/cluster.hpp>

namespace opsrl::envs {

class ActionValidity {
 public:
  explicit ActionValidity(const sim::Scenario& scenario);

  // Records an action the cluster accepted at `now` (for what it cannot tell us later).
  // Recomputes every verb's valid targets for the cluster's current state and latest scrape.
  void update(const sim::Cluster& cluster);

  // Whether verb v on entity `index` (of the verb's target kind; ignored for noop and
  // escalate) would be accepted.
  bool allowed(sim::Verb v, int index) const {
    const auto& ok = ok_[static_cast<int>(v)];
    if (ok.size() == 1) return ok[0] != 0;  // a verb without a target (or a kind with one entity)
    return index >= 0 && index < static_cast<int>(ok.size()) && ok[index] != 0;
  }
  bool any(sim::Verb v) const { return any_[static_cast<int>(v)] != 0; }
  // One byte per entity of the verb's target kind (one byte for noop and escalate): entities
  // of a kind are consecutive tokens, so a mask row is one copy of this.
  std::span<const std::uint8_t> targets(sim::Verb v) const { return ok_[static_cast<int>(v)]; }

 private:
  const sim::Scenario* scenario_;
  std::array<std::vector<std::uint8_t>, sim::kNumVerbs> ok_;  // per verb, per target entity (1 for none)
  std::array<std::uint8_t, sim::kNumVerbs> any_{};
  std::vector<double> alloc_cpu_, alloc_mem_;   // (nodes) requests placed, as the scheduler sums them
  std::vector<std::uint8_t> schedulable_;       // (nodes) ready and not cordoned
  // Services grouped by their (cpu, memory) requests: whether a replica fits on a node only
  // depends on those, and large scenarios have few distinct pairs.
  std::vector<int> request_class_;              // (services) index into class_requests_
  std::vector<std::array<double, 2>> class_requests_;  // (classes) cores, GiB
  std::vector<int> class_fitting_nodes_;        // (classes) nodes with room for one more replica
  std::vector<std::uint8_t> class_fits_;        // (classes x nodes)
};

}  // namespace opsrl::envs
