#pragma once
// Configuration shared by every env of a run: the scenario, the observation's size and the
// tasks' options. Immutable once an env is built (held as shared_ptr<const EnvConfig>), so
// that the envs of a VecEnv share one copy. docs/environments.md describes every option.
//
// Parameter                      Default     Meaning
// scenario                       "default"   the cluster (null: the built-in default)
// history                        4           scrapes per history window
// max_tokens                     0           pad to this many tokens (0: the scenario's count)
// day_phases                     24          start times of day drawn from this many (1: always t = 0)
// telemetry_noise                true        measurement noise on scraped metrics
// incident.time_limit            40 min      episode truncated after this much simulated time
// autoscale.episode_length       2 h         episode truncated after this much simulated time
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <opsrl/sim/faults.hpp>
#include <opsrl/sim/scenario.hpp>
#include <opsrl/sim/time.hpp>

namespace opsrl::envs {

// Reward weights; docs/environments.md gives the formula and the reasoning behind each value.
// A reward unit is "one minute of SLO violation".
struct RewardWeights {
  double slo_per_minute = 1.0;          // per minute with an entry service outside its SLO
  double cost_per_usd = 20.0;           // per USD of replica cost (a $0.05 replica-hour = 1.0)
  double action_per_usd = 0.02;         // per USD of the verb's cost (escalate $300 = 6.0)
  double diagnosis_bonus = 5.0;         // first claim names the right fault type and root entity
  double diagnosis_penalty = 2.0;       // first claim is wrong (or made on a control episode)
  double resolution_bonus = 10.0;       // the episode ends resolved
  double invalid_action_penalty = 1.0;  // per action (or claim) that its mask forbids
  double false_positive_penalty = 2.0;  // per remediation while no fault is present
  double wrong_action_penalty = 1.0;    // per remediation after an onset that addresses no active fault
};

struct IncidentOptions {
  std::vector<sim::FaultType> fault_types;  // the mix to draw from (empty: every type)
  double severity_min = 0.4;                // fault severity drawn uniformly in [min, max]
  double severity_max = 1.0;
  int min_faults = 1;                       // faults per non-control episode, uniform in [min, max]
  int max_faults = 1;                       // at most kMaxFaults (info.hpp)
  sim::SimTime onset_min = 15 * sim::kSecond;  // onset after the first observation, uniform in [min, max]
  sim::SimTime onset_max = 5 * sim::kMinute;
  double control_fraction = 0.2;            // share of episodes without any fault
  sim::SimTime time_limit = 40 * sim::kMinute;
  int resolve_steps = 4;                    // healthy steps in a row that end an episode

  // Presets: "easy" (one clear fault, severe), "medium" (the defaults), "hard" (one or two
  // faults of any type, mild). Throws std::invalid_argument naming the known presets.
  static IncidentOptions difficulty(std::string_view name);
};

struct AutoscaleOptions {
  sim::SimTime episode_length = 2 * sim::kHour;
  // Traffic overrides applied to the scenario (a negative number or empty string keeps it).
  double diurnal_amplitude = -1;
  sim::SimTime diurnal_period = 0;          // 0: keep; e.g. 2h squeezes a day into an episode
  double surges_per_hour = -1;
  std::string trace_csv;                    // replay this trace instead of the diurnal curve
  sim::SimTime trace_step = 0;              // simulated time per trace row (0: keep the scenario's)
  // Optional faults: with this probability an episode gets one fault at a uniform time.
  double fault_probability = 0.0;
  std::vector<sim::FaultType> fault_types = default_fault_types();  // surge, noisy neighbour, node failure
  // Placement switch: when on, the action also moves replicas (a migrate head per token).
  bool placement = false;
  // This task's price of a minute of SLO violation (< 0: RewardWeights::slo_per_minute). Capacity
  // is an autoscaler's only lever, so this sets which trade-off between violation minutes and
  // replica-hours it learns; an incident's price stays the shared weight.
  double slo_per_minute = -1;

  static std::vector<sim::FaultType> default_fault_types();
};

struct EnvConfig {
  sim::ScenarioPtr scenario;  // null: sim::load_scenario("default")
  int history = 4;
  int max_tokens = 0;
  int day_phases = 24;
  bool telemetry_noise = true;
  RewardWeights reward;
  IncidentOptions incident;
  AutoscaleOptions autoscale;

  // Checks every value; throws std::invalid_argument naming the field and the value.
  void validate() const;
};
using EnvConfigPtr = std::shared_ptr<const EnvConfig>;

// A config with the built-in default scenario filled in, validated.
EnvConfigPtr make_config(EnvConfig config = {});

}  // namespace opsrl::envs
