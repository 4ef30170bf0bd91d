#pragma once
// Replaying a dataset against a policy.
//
// Open loop (replay_open_loop): the policy proposes an action on every recorded observation,
// but the episode follows the recording. Scored per episode: the policy's first diagnosis
// claim (right fault type? right root entity? how long after the first onset?) and how often
// its action rows agree with the recorded ones.
//  - Simulator recordings are re-simulated from the stored scenario, config and seed with the
//    recorded remediations, so that policies reading the simulator's telemetry (the rule
//    baselines) see the very state behind each observation. The claim columns are the policy's
//    own: a claim changes nothing in the cluster, only the claim feature and the claim mask,
//    which then follow the policy's claim as they would live. Every other observation value
//    is compared with the recording (observations_diverged; 0 when the build reproduces it).
//  - Imported datasets have no simulator state: the recorded observations are written into a
//    stand-in VecEnv's observation slots ("carrier") and the policy acts on them. Only
//    policies that read observations alone (a learned checkpoint, random, noop) are meaningful
//    there; a rule baseline sees the stand-in cluster's idle telemetry.
//
// Closed loop (replay_closed_loop, simulator recordings only): each episode is re-simulated
// from its scenario, config and seed with the given policy acting. The recording's own policy
// (with the recorded policy seed) reproduces every array bit for bit; another policy gives the
// counterfactual outcome beside the recorded one.
#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include <opsrl/datasets/reader.hpp>
#include <opsrl/datasets/record.hpp>

namespace opsrl::datasets {

inline constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

struct ReplayOptions {
  int num_envs = 0;      // episodes replayed together (0: default_envs()); results do not depend on it
  int num_threads = 1;   // 0: every core
  int first = 0;         // episodes [first, first + count) of the file
  int count = 0;         // 0: to the end
  std::function<void(int done, int total)> progress;
};

struct OpenLoopEpisode {
  int episode = 0;
  std::uint64_t seed = 0;
  int steps = 0;
  std::vector<FaultRow> faults;    // the ground truth
  bool claimed = false;            // the policy made a diagnosis claim
  int claim_step = -1;
  double claim_time_s = kNaN;      // seconds since the episode's first observation
  int claimed_type = -1;           // sim::FaultType
  int claimed_token = -1;
  bool type_correct = false;       // a fault whose onset had passed has that type
  bool root_correct = false;       // ... has that root token
  bool diagnosed = false;          // one fault has both
  double time_to_diagnose_s = kNaN;  // claim time - first onset, when diagnosed
  double claim_after_onset_s = kNaN; // claim time - first onset, any claim on a fault episode
  int rows_matched = 0;            // steps where the whole action row equals the recorded one
  int remediations_matched = 0;    // incident: verb and target equal (autoscale: = rows_matched)
  int observations_diverged = -1;  // simulator recordings: steps whose re-simulated observation differs; -1: not re-simulated
};

struct OpenLoopResult {
  bool resimulated = false;
  std::vector<OpenLoopEpisode> episodes;
};

OpenLoopResult replay_open_loop(const Reader& reader, PolicyHooks& policy, const ReplayOptions& options);

// Aggregates of an open-loop replay. Rates are over the episodes with faults (claims on
// episodes without any count as false claims); times are minutes, NaN without a sample.
struct OpenLoopSummary {
  int episodes = 0, fault_episodes = 0;
  int claimed = 0, type_correct = 0, root_correct = 0, diagnosed = 0;
  int false_claims = 0;                // claims on episodes without a fault
  double time_to_diagnose_min = kNaN;  // mean over diagnosed episodes
  double claim_after_onset_min = kNaN; // mean over claiming fault episodes
  std::int64_t steps = 0, rows_matched = 0, remediations_matched = 0;
  std::int64_t observations_diverged = -1;  // -1: not re-simulated
};
OpenLoopSummary summarize(const OpenLoopResult& result);

// Figures of one episode's outcome. MTTR as in agents/evaluate: a resolved episode's time to
// recover, an unresolved one's time from the first onset to its end (censored); NaN without faults.
struct Outcome {
  double return_ = 0;
  int steps = 0;
  bool resolved = false;
  bool diagnosed = false;     // claimed the right type and root
  double mttr_min = kNaN;
  double slo_violation_min = 0;
  double cost_usd = 0;
  static Outcome of(const EpisodeMeta& meta, int steps, bool has_faults);
};

struct ClosedLoopEpisode {
  int episode = 0;
  std::uint64_t seed = 0;
  Outcome recorded, replayed;
  std::string difference;     // "" when the replayed episode equals the recorded one bit for bit
};

struct ClosedLoopResult {
  std::vector<ClosedLoopEpisode> episodes;
  int identical() const;
};

// Means of one side (recorded or replayed) of a closed-loop replay; the rates and the MTTR are
// over the episodes with faults.
struct OutcomeSummary {
  int episodes = 0, fault_episodes = 0;
  double return_ = kNaN, resolved_rate = kNaN, diagnosed_rate = kNaN, mttr_min = kNaN;
  double slo_violation_min = kNaN, cost_usd = kNaN, steps = kNaN;
};
OutcomeSummary summarize_outcomes(const ClosedLoopResult& result, bool replayed);

// Throws DatasetError for a dataset that is not a simulator recording.
ClosedLoopResult replay_closed_loop(const Reader& reader, PolicyHooks& policy, const ReplayOptions& options);
// Same, also handing each replayed episode to `sink` (e.g. for a test that compares arrays).
ClosedLoopResult replay_closed_loop(const Reader& reader, PolicyHooks& policy, const ReplayOptions& options,
                                    const std::function<void(int episode, const Episode& replayed)>& sink);

// A readable name per token of the dataset's layout, from its stored scenario: "global",
// "node:<name>", "service:<name>", "replica:<service>#<k>", "padding".
std::vector<std::string> token_names(const Reader& reader);

// The env config and scenario a simulator recording ran with (re-simulation). Throws
// DatasetError naming /@scenario_toml or /@env_config when they do not load.
envs::EnvConfigPtr recorded_config(const Reader& reader);

}  // namespace opsrl::datasets
