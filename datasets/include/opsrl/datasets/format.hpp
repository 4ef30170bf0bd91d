#pragma once
// The dataset format's names in one place: the writer, the reader and the checker use these
// constants only, so a key cannot be spelt two ways. docs/datasets.md describes each key with
// its dtype and shape.
//
//   /                              root attributes (format, version, env_spec, ..., complete last)
//   /episode_<k>/                  one group per episode, k = 0, 1, ...; attributes: seed, task, ...
//       observations/<array>       (T+1, ...) one dataset per observation array
//       actions                    (T, A) int32
//       rewards                    (T) float64
//       terminations, truncations  (T) uint8
//       infos/...                  per-step reward terms, action outcomes, times, ground truth
#include <stdexcept>
#include <string>
#include <string_view>

namespace opsrl::datasets {

inline constexpr std::string_view kFormatName = "opsrl-dataset";
inline constexpr int kFormatVersion = 1;

// Where the episodes came from (root attribute `source`).
inline constexpr std::string_view kSourceSimulator = "simulator";  // recorded by `opsrl record`
inline constexpr std::string_view kSourceNezha = "nezha";          // imported by `opsrl dataset import-nezha`
inline constexpr std::string_view kSourcePrometheus = "prometheus";  // imported by `opsrl dataset import-prometheus`

namespace key {
// Root attributes.
inline constexpr const char* kFormat = "format";
inline constexpr const char* kVersion = "version";
inline constexpr const char* kSource = "source";
inline constexpr const char* kEnvSpec = "env_spec";
inline constexpr const char* kEnvConfig = "env_config";
inline constexpr const char* kScenario = "scenario";
inline constexpr const char* kScenarioToml = "scenario_toml";
inline constexpr const char* kScenarioHash = "scenario_hash";
inline constexpr const char* kPolicy = "policy";
inline constexpr const char* kPolicySeed = "policy_seed";
inline constexpr const char* kDifficulty = "difficulty";
inline constexpr const char* kCommand = "command";
inline constexpr const char* kActionNoise = "action_noise";  // RecordOptions::action_noise (absent in older files: 0)
inline constexpr const char* kNotes = "notes";
inline constexpr const char* kTotalEpisodes = "total_episodes";
inline constexpr const char* kTotalSteps = "total_steps";
inline constexpr const char* kComplete = "complete";  // written last, by Writer::close

// Episode groups and their members.
inline constexpr std::string_view kEpisodePrefix = "episode_";
inline constexpr const char* kObservations = "observations";
inline constexpr const char* kActions = "actions";
inline constexpr const char* kRewards = "rewards";
inline constexpr const char* kTerminations = "terminations";
inline constexpr const char* kTruncations = "truncations";
inline constexpr const char* kInfos = "infos";
inline constexpr const char* kRewardComponents = "infos/reward_components";
inline constexpr const char* kActionOutcome = "infos/action_outcome";
inline constexpr const char* kTime = "infos/time_s";
inline constexpr const char* kInfoActionMask = "infos/action_mask";  // hard link to observations/action_mask
inline constexpr const char* kIntendedActions = "infos/intended_actions";  // only in recordings with action noise
inline constexpr const char* kGroundTruth = "infos/ground_truth";
inline constexpr const char* kFaultType = "infos/ground_truth/fault_type";
inline constexpr const char* kRootToken = "infos/ground_truth/root_token";
inline constexpr const char* kSeverity = "infos/ground_truth/severity";
inline constexpr const char* kOnset = "infos/ground_truth/onset_s";
inline constexpr const char* kMitigated = "infos/ground_truth/mitigated_s";
// Attribute names on infos/reward_components and infos/action_outcome.
inline constexpr const char* kNames = "names";
// Attributes of infos/ground_truth for imported faults (the source's own labels).
inline constexpr const char* kSourceFaultType = "source_fault_type";
inline constexpr const char* kSourceRoot = "source_root";
}  // namespace key

// The columns of infos/action_outcome, per step.
inline constexpr std::string_view kActionOutcomeNames[] = {"applied", "invalid", "refused"};
inline constexpr int kActionOutcomeWidth = 3;

// A problem with a dataset file: which file, where in it, what is wrong and what was expected.
// what() reads "FILE: /in/file/path: problem (expected: form)".
struct DatasetError : std::runtime_error {
  DatasetError(std::string file, std::string path, std::string problem, std::string expected = {});
  std::string file, path, problem, expected;
};

// "/episode_<k>"
std::string episode_group(int k);

}  // namespace opsrl::datasets
