#pragma once
// The environment interface: a task over the cluster simulator, stepped one telemetry scrape
// at a time. Gym-like: reset(seed) writes the first observation, step(action) applies the
// action, runs the cluster to the next scrape and writes the next observation.
//
//   auto env = make_env("incident", make_config());
//   ObservationBatch obs = ObservationBatch::for_spec(env->spec());
//   env->reset(7, obs.view(0));
//   std::vector<std::int32_t> action(env->spec().action_width, 0);   // noop, no claim
//   StepResult r = env->step(action, obs.view(0));
//   env->info().reward.slo_penalty;  ...
//
// The public reset/step do the bookkeeping every task shares (warm-up, the observation, the
// time limit, returns and episode figures); a task implements the protected DoReset/DoStep
// (OpenSpiel's pattern) and registers itself by name with one line in its own .cpp.
//
// Determinism: an episode is a pure function of (config, task, seed, actions).
// Threads: one Env is used by one thread at a time; distinct Envs share nothing mutable.
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <opsrl/sim/cluster.hpp>
#include <opsrl/sim/rng.hpp>
#include <opsrl/envs/config.hpp>
#include <opsrl/envs/features.hpp>
#include <opsrl/envs/info.hpp>
#include <opsrl/envs/observation.hpp>
#include <opsrl/envs/spec.hpp>

namespace opsrl::envs {

class Tokenizer;
class ActionValidity;

class Env {
 public:
  virtual ~Env();
  Env(const Env&) = delete;
  Env& operator=(const Env&) = delete;

  const EnvSpec& spec() const { return spec_; }
  const EnvConfig& config() const { return *config_; }
  const TokenLayout& tokens() const { return tokens_; }

  // Starts an episode: a fresh cluster at a time of day drawn from the seed, warmed up for H
  // scrapes (so the history window is full), then the task's own set-up. Writes the first
  // observation into `out`, whose shapes must match spec() (else std::invalid_argument).
  void reset(std::uint64_t seed, const ObservationView& out);
  // Applies one action row (spec().action_width entries, layout in actions.hpp), advances one
  // scrape interval and writes the next observation. Throws std::logic_error if called before
  // reset() or after the episode ended, std::invalid_argument if the row is too short.
  StepResult step(std::span<const std::int32_t> action, const ObservationView& out);

  // Valid after reset(): this step's reward terms, the action's fate and the episode so far.
  const Info& info() const { return info_; }
  bool episode_over() const { return over_; }
  std::uint64_t episode_seed() const { return seed_; }
  // Read-only ground truth, for oracles and evaluation (never for a learned policy).
  const sim::Cluster& cluster() const { return *cluster_; }
  // Simulated time of the episode's first observation.
  sim::SimTime episode_start() const { return start_; }

 protected:
  Env(EnvConfigPtr config, std::string task, TaskId id);

  // Called by the task's constructor: fills the spec's task fields (the base filled the rest).
  void finish_spec(int action_width, int mask_width, std::vector<ActionHeadSpec> heads, int max_episode_steps);

  // advance()'s weight of a minute of SLO violation: RewardWeights::slo_per_minute unless the
  // task's constructor sets its own.
  double slo_per_minute_ = 1.0;

  // Contract: set up the task's episode on the warmed-up cluster (inject faults, reset the
  // task's state), drawing only from `rng`. The cluster's clock is episode_start().
  virtual void DoReset(sim::Rng& rng) = 0;
  // Contract: validate and apply `action` (length >= spec().action_width), call advance()
  // exactly once, then add the task's reward terms to `reward` (advance() has filled
  // slo_penalty and cost) and update info_.action and info_.episode. Returns whether the
  // episode terminated (the time limit is the base class's business).
  virtual bool DoStep(std::span<const std::int32_t> action, RewardComponents& reward) = 0;
  // Contract: write the task's mask row (spec().mask_width bytes) and its global-token
  // features for the current state; called after reset and after every step.
  virtual void WriteMasks(std::uint8_t* mask) = 0;
  virtual void WriteTaskFeatures(float* global_row) { (void)global_row; }

  // Runs the cluster to the next scrape, records it into the history and adds the step's
  // SLO-violation and replica-cost terms to `reward` (and to the episode figures).
  void advance(RewardComponents& reward);
  // Applies a remediation the mask allowed through the cluster: counts it, adds its action
  // cost to `reward`, keeps the validity tracker in step. A refusal (the state changed since the
  // mask was computed: an earlier action of the same step, or an event at the scrape's very
  // instant) is counted with its reason, not penalised. Returns whether it was accepted.
  bool apply(const sim::Action& action, RewardComponents& reward);
  // Same for several actions at one instant; the cluster recomputes its rates once.
  void apply(std::span<const sim::Action> actions, RewardComponents& reward);
  // Records an action (or claim) the mask forbids: penalty, count and reason; not applied.
  void reject(RewardComponents& reward, std::string_view reason);
  // Same, with Cluster::check's reason for a remediation.
  void reject(RewardComponents& reward, const sim::Action& action);
  // Replaces the scenario before the first reset (e.g. the autoscale task's traffic overrides;
  // entity counts must not change).
  void set_scenario(sim::ScenarioPtr scenario);
  // The scenario's time as seconds since episode_start().
  double episode_seconds() const;

  sim::Cluster& mutable_cluster() { return *cluster_; }
  const ActionValidity& validity() const { return *validity_; }
  const feature::Layout& columns() const { return columns_; }

  EnvConfigPtr config_;
  EnvSpec spec_;
  TokenLayout tokens_;
  feature::Layout columns_;
  Info info_;

 private:
  void start_cluster(sim::Rng& rng);
  bool account(const sim::Action& action, sim::ActionResult result, RewardComponents& reward);
  void write_observation(const ObservationView& out);
  void check_view(const ObservationView& out) const;

  sim::ScenarioPtr scenario_;
  std::unique_ptr<sim::Cluster> cluster_;
  std::unique_ptr<Tokenizer> tokenizer_;
  std::unique_ptr<ActionValidity> validity_;
  int day_hour_ = -1;              // which time-of-day variant the cluster runs
  sim::SimTime start_ = 0;
  std::uint64_t seed_ = 0;
  std::vector<sim::ActionResult> results_;  // scratch for batched actions
  bool started_ = false;
  bool over_ = false;
  double last_slo_seconds_ = 0, last_replica_cost_ = 0, last_replica_seconds_ = 0;
};

// ---- registry ---------------------------------------------------------------------------

using EnvFactory = std::function<std::unique_ptr<Env>(EnvConfigPtr)>;

// Registers a task; returns true so that a .cpp can register with one line:
//   const bool kRegistered = register_task("incident", [](EnvConfigPtr c) { ... });
// Throws std::logic_error if the name is taken.
bool register_task(std::string name, EnvFactory factory);
// Builds a registered task; throws std::invalid_argument naming the known tasks.
std::unique_ptr<Env> make_env(std::string_view task, EnvConfigPtr config);
std::vector<std::string> registered_tasks();

}  // namespace opsrl::envs

// Registers a task from its own .cpp, at global scope:
//   OPSRL_REGISTER_TASK(incident, [](opsrl::envs::EnvConfigPtr c) { return ...; });
// It defines the anchor opsrl::envs::task_registered_NAME, which src/registry.cpp references
// so that the linker keeps the task's object file (see there).
#define OPSRL_REGISTER_TASK(NAME, FACTORY)                  \
  namespace opsrl::envs {                                   \
  extern bool task_registered_##NAME;                       \
  }                                                         \
  bool opsrl::envs::task_registered_##NAME = ::opsrl::envs::register_task(#NAME, FACTORY)
