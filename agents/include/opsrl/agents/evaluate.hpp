#pragma once
// Evaluation: run a policy on N episodes of a task on a VecEnv and aggregate the episode
// figures (envs' EpisodeStats) into the table that every result is measured against.
//
//   EvalOptions o;
//   o.task = "incident";
//   o.episodes = 200;
//   o.seed = 0;                                 // episode k runs with seed eval_seed(0, k)
//   EvalResult r = evaluate(*make_policy("threshold"), o);
//   r.summary.mitigation_rate; r.summary.mttr_min.mean; ...
//   std::string json = to_json({r}, o);
//
// Seeds. Evaluation episode k (0-based) of a run with seed S is reset with
//   eval_seed(S, k) = 2^40 + S + k.
// Training draws its episode seeds from [S, S + episodes) with S + episodes < 2^40 (the VecEnv
// convention seed + i + e x N covers exactly that range), so the two never meet.
//
// Determinism. An episode is a pure function of (config, task, seed, actions), and a policy's
// actions are a pure function of its episode (Policy::act's contract), so every figure depends
// only on (policy, options.seed, options.episodes, config): not on num_threads, not on
// num_envs. Episodes are aggregated in the order of k.
//
// Parameter     Default     Meaning
// task          incident    the task to evaluate on
// episodes      100         episodes evaluated (k = 0 .. episodes-1)
// seed          0           S above
// config        default     the env config (scenario, difficulty, ...); null: make_config()
// num_envs      0           envs stepped together (0: min(episodes, 32)); figures do not depend on it
// num_threads   1           threads (0: every core); figures do not depend on it
// progress      none        called on the calling thread after each finished episode
#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include <opsrl/envs/config.hpp>
#include <opsrl/envs/info.hpp>
#include <opsrl/sim/faults.hpp>
#include <opsrl/agents/policy.hpp>

namespace opsrl::agents {

inline constexpr std::uint64_t kEvalSeedOffset = std::uint64_t{1} << 40;
constexpr std::uint64_t eval_seed(std::uint64_t seed, std::uint64_t episode) { return kEvalSeedOffset + seed + episode; }

struct EvalOptions {
  std::string task = "incident";
  int episodes = 100;
  std::uint64_t seed = 0;
  envs::EnvConfigPtr config;
  int num_envs = 0;
  int num_threads = 1;
  std::function<void(int done, int total)> progress;

  // Throws std::invalid_argument naming a bad value and the expected form.
  void validate() const;
};

// One evaluated episode: its index k, seed, and final figures (the info of its last step).
struct EpisodeRecord {
  int index = 0;
  std::uint64_t seed = 0;
  envs::EpisodeStats stats;
};

// A mean with its 95 % confidence half-width (Student t with n - 1 degrees of freedom; NaN
// when n < 2) over n samples; mean is NaN when n = 0.
struct MeanCI {
  double mean = std::numeric_limits<double>::quiet_NaN();
  double ci95 = std::numeric_limits<double>::quiet_NaN();
  int n = 0;
};
MeanCI mean_ci(const std::vector<double>& samples);
// The 0.975 quantile of Student's t with `dof` degrees of freedom (dof >= 1).
double student_t975(int dof);

// A fraction k / n (NaN when n = 0).
struct Rate {
  int k = 0;
  int n = 0;
  double value() const { return n > 0 ? static_cast<double>(k) / n : std::numeric_limits<double>::quiet_NaN(); }
};

// Aggregate figures; docs/results.md ("Baselines") defines each. Per-episode means are over every
// episode unless stated; times are minutes of simulated time.
struct EvalSummary {
  std::string task;
  int episodes = 0;
  int fault_episodes = 0;        // incident: episodes with at least one fault
  int control_episodes = 0;      // incident: episodes without any
  MeanCI return_;                // episode return
  // incident: AIOpsLab's four levels, over fault episodes (control episodes for false positives)
  Rate detection;                // acted or claimed after the first onset
  Rate false_positive;           // control episodes where it acted or claimed
  Rate localization;             // claimed a started fault's root entity
  Rate rca;                      // claimed a started fault's type
  Rate mitigation;               // ended resolved
  MeanCI time_to_detect_min;     // over detected episodes
  MeanCI time_to_diagnose_min;   // over episodes with a right claim (type and root)
  // MTTR over fault episodes: a resolved episode counts its time to recover, an unresolved one the
  // time from its first onset to its end (the time limit): a censored mean, a lower bound
  // for policies that leave faults unresolved.
  MeanCI mttr_min;
  MeanCI mttr_resolved_min;      // over resolved episodes only
  // both tasks, per episode
  MeanCI slo_violation_min;
  MeanCI cost_usd;               // replica cost + action cost
  MeanCI replica_cost_usd;
  MeanCI replica_hours;
  MeanCI mean_replicas;          // replica-hours / hours: replicas provisioned on average
  MeanCI actions;                // applied remediations (incident) or replica changes (autoscale)
  MeanCI wrong_actions;          // incident: applied remediations that address no present fault
  MeanCI invalid_actions;        // masked-out actions sent (0 for a policy that respects its masks)
  MeanCI escalations;            // incident
};

struct EvalResult {
  std::string policy;
  EvalSummary summary;
  std::vector<EpisodeRecord> episodes;  // by index k
  double wall_seconds = 0;              // not part of the figures (never compared)
};

// Runs `policy` on options.episodes episodes of options.task. Throws std::invalid_argument for
// bad options or a task the policy does not support.
EvalResult evaluate(Policy& policy, const EvalOptions& options);
// The aggregate of episode records of one task.
EvalSummary summarize(const std::string& task, const std::vector<EpisodeRecord>& episodes);

// The summaries of the fault episodes grouped by the type of their first fault, in catalogue
// order; types without an episode are left out (incident; empty for autoscale without faults).
struct FaultSummary {
  sim::FaultType type;
  EvalSummary summary;
};
std::vector<FaultSummary> summarize_by_fault(const std::string& task, const std::vector<EpisodeRecord>& episodes);

// One figure of a summary as a table row and a JSON key: the table and the JSON file show the
// same list, in this order (incident and autoscale list different figures).
struct Figure {
  std::string key;    // JSON key, e.g. "mttr_min"
  std::string label;  // table row, e.g. "MTTR (min)"
  double value = 0;   // NaN: no sample
  double ci95 = std::numeric_limits<double>::quiet_NaN();  // NaN: none
  int n = 0;          // samples (episodes) behind it
  int k = -1;         // for a rate: episodes counted (else -1)
};
std::vector<Figure> figures(const EvalSummary& summary);

// Context written with the results.
struct EvalRun {
  std::string task;
  std::string scenario;
  std::string difficulty;   // incident preset, or "" if none
  int episodes = 0;
  std::uint64_t seed = 0;
  std::string command;      // how to reproduce it
};

// The results of one run (several policies, same episodes) as JSON: run context, then per policy
// its figures (value, ci95, n, k), per fault type the episodes, mitigation rate, RCA accuracy and
// MTTR, and its episodes' main figures. NaN is written as null.
std::string to_json(const EvalRun& run, const std::vector<EvalResult>& results);

}  // namespace opsrl::agents
