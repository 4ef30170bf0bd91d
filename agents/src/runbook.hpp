#pragma once
// Pieces the rule-based baselines share: the incident mask as queries, the call graph's
// reachability (what "downstream" means), and a record of recent remediations for cool-downs.
#include <cstdint>
#include <span>
#include <vector>

#include <opsrl/envs/actions.hpp>
#include <opsrl/envs/vec_env.hpp>
#include <opsrl/sim/scenario.hpp>

namespace opsrl::agents::detail {

// Reads an incident mask row (envs::incident::MaskLayout).
struct IncidentMask {
  const std::uint8_t* mask;
  envs::incident::MaskLayout layout;

  bool remedy(sim::Verb v, int token) const {
    const int verb = static_cast<int>(v);
    return mask[layout.verb() + verb] && mask[layout.target(verb) + token];
  }
  bool claim(int diag_type, int token) const {
    return mask[layout.diag_type() + diag_type] && mask[layout.diag_target(diag_type) + token];
  }
};

// Which services each service calls, directly or not.
class CallGraph {
 public:
  CallGraph() = default;
  explicit CallGraph(const sim::Scenario& scenario);
  int size() const { return n_; }
  // Whether `from` calls `to` through one or more hops.
  bool reaches(int from, int to) const { return reach_[static_cast<std::size_t>(from) * n_ + to] != 0; }

 private:
  int n_ = 0;
  std::vector<std::uint8_t> reach_;  // (n x n)
};

// Remediations taken in this episode, for "not the same thing again so soon".
class RecentActions {
 public:
  void note(sim::Verb verb, int token, int step) { log_.push_back({verb, token, step}); }
  bool within(sim::Verb verb, int token, int step, int steps) const {
    for (const Entry& e : log_)
      if (e.verb == verb && e.token == token && step - e.step < steps) return true;
    return false;
  }
  int count(sim::Verb verb, int token) const {
    int n = 0;
    for (const Entry& e : log_) n += e.verb == verb && e.token == token;
    return n;
  }

 private:
  struct Entry {
    sim::Verb verb;
    int token;
    int step;
  };
  std::vector<Entry> log_;
};

// ceil(rate x cpu_seconds_per_request / (cpu_request x utilisation)), clamped to the service's
// [min_replicas, max_replicas]: the replicas that run service `s` at that utilisation.
int replicas_for(const sim::ServiceSpec& s, double rate, double utilisation);

}  // namespace opsrl::agents::detail
