#pragma once
// What a step reports besides the observation: the reward split into its terms, what became
// of the action, the ground truth and the episode's running figures that evaluation reads.
// docs/environments.md defines each figure.
#include <array>
#include <cstdint>
#include <string>

#include <opsrl/sim/actions.hpp>
#include <opsrl/sim/faults.hpp>
#include <opsrl/sim/time.hpp>

namespace opsrl::envs {

inline constexpr int kMaxFaults = 4;  // faults per episode at most

// One step's reward, term by term, in reward units (docs/environments.md). Their sum is the
// step's reward. The order is kRewardComponentNames'.
struct RewardComponents {
  double slo_penalty = 0;     // <= 0: minutes of SLO violation in the step x weight
  double cost = 0;            // <= 0: replica cost in the step x weight
  double action_cost = 0;     // <= 0: cost of the actions taken x weight
  double diagnosis = 0;       // bonus for a right first claim, penalty for a wrong one
  double resolution = 0;      // bonus on the step that ends the episode resolved
  double invalid_action = 0;  // <= 0: penalty per masked-out action or claim
  double false_positive = 0;  // <= 0: penalty per remediation while no fault is present
  double wrong_action = 0;    // <= 0: penalty per remediation after an onset that addresses no active fault

  double total() const {
    return slo_penalty + cost + action_cost + diagnosis + resolution + invalid_action + false_positive + wrong_action;
  }
  std::array<double, 8> as_array() const {
    return {slo_penalty, cost, action_cost, diagnosis, resolution, invalid_action, false_positive, wrong_action};
  }
  RewardComponents& operator+=(const RewardComponents& o);
};

// Ground truth of one injected fault, with tokens rather than sim entity references.
struct FaultTruth {
  sim::FaultType type = sim::FaultType::kRunawayProcess;
  int root_token = -1;
  double severity = 0;
  double onset_s = -1;       // seconds since the episode's first observation
  double mitigated_s = -1;   // when its cause was removed (-1: not yet)
  bool active = false;       // onset reached and not mitigated
};

// What became of the last step's action (one remediation per step; autoscale may apply one
// per service, then these count every one of them).
struct ActionOutcome {
  int applied = 0;        // accepted by the cluster (noop not counted)
  int invalid = 0;        // forbidden by the mask (or out of range): penalised, not applied
  int refused = 0;        // allowed by the mask, refused by the cluster (the state changed since)
  std::string reason;     // why the last invalid or refused one was turned down (sim::Cluster::check)
};

// Running figures of the current episode. Times are seconds of simulated time since the
// episode's first observation; -1 where the event has not happened.
struct EpisodeStats {
  int steps = 0;
  double return_ = 0;           // sum of the rewards so far
  RewardComponents return_components;
  double elapsed_s = 0;
  bool control = false;         // incident: an episode without faults
  int num_faults = 0;
  std::array<FaultTruth, kMaxFaults> faults{};
  double first_onset_s = -1;
  // incident: the agent's levels (AIOpsLab's detection, localization, analysis, mitigation)
  bool detected = false;        // acted or claimed after the first onset
  double time_to_detect_s = -1;
  bool claimed = false;         // made its (single) diagnosis claim
  sim::FaultType claimed_type = sim::FaultType::kRunawayProcess;
  int claimed_token = -1;
  bool root_correct = false;    // the claimed token is a fault's root
  bool type_correct = false;    // the claimed type is that fault's type (or any fault's, if the root is wrong)
  double time_to_diagnose_s = -1;  // of a claim with both right
  bool resolved = false;        // every fault mitigated and the SLO met for resolve_steps steps
  double time_to_recover_s = -1;   // from the first onset to the start of that healthy run
  bool false_positive = false;  // acted or claimed while no fault had started (control: at all)
  int false_positive_actions = 0;
  // both tasks
  double slo_violation_minutes = 0;
  double replica_cost_usd = 0;
  double action_cost_usd = 0;
  double replica_hours = 0;
  int actions = 0;              // applied, noop excluded
  int wrong_actions = 0;        // applied remediations that address no present fault
  int invalid_actions = 0;
  int refused_actions = 0;
  int escalations = 0;
  double cost_usd() const { return replica_cost_usd + action_cost_usd; }
};

struct Info {
  RewardComponents reward;      // this step's terms
  ActionOutcome action;         // this step's action
  sim::SimTime sim_time = 0;    // simulated clock at the observation
  EpisodeStats episode;
};

struct StepResult {
  double reward = 0;
  bool terminated = false;  // the episode reached a terminal state (incident resolved)
  bool truncated = false;   // cut at the time limit
  bool done() const { return terminated || truncated; }
};

}  // namespace opsrl::envs
