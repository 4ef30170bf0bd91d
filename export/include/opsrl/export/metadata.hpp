#pragma once
// The metadata_props an exported policy carries, so that a consumer in another language needs
// nothing but the .onnx file: what to feed it, what its outputs mean, the names of every choice,
// and where it came from. Values are JSON unless noted (docs/export.md shows them).
//
// Key                        Value
// opsrl.version              opsrl's version (plain text)
// opsrl.format               "opsrl-policy-onnx 1" (plain text): this layout of inputs, outputs, keys
// opsrl.observation_schema   the inputs: name, dtype, shape (with "batch", "tokens"), meaning;
//                            token types, tasks, feature width, history, mask layouts
// opsrl.action_vocabulary    per task, the action row's heads in order, and the names of every choice:
//                            verbs, diagnosis types, deltas, moves
// opsrl.outputs              every output: shape, meaning, the task it belongs to, the masked logit
// opsrl.policy               the policy's options (TransformerPolicyOptions)
// opsrl.run_id               the training run's id: its run directory's name (only for a checkpoint in one)
// opsrl.checkpoint           file, kind, update, global step, scenario (what is known)
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <opsrl/export/policy_graph.hpp>

namespace opsrl::exporter {

inline constexpr const char* kFormat = "opsrl-policy-onnx 1";

// opsrl's version, as the metadata and the model's producer_version carry it.
std::string_view opsrl_version();

// Where the exported policy came from.
struct ModelProvenance {
  std::string checkpoint;      // the file's name
  std::string kind;            // "training checkpoint" or "policy file"
  std::string run_id;          // the run directory's name; empty when the checkpoint is in none
  std::int64_t update = -1;    // -1: unknown
  std::int64_t global_step = -1;
  std::string scenario;        // the run's env.scenario; empty: unknown
  int history = 0;             // scrapes per history window; 0: unknown
};

std::vector<std::pair<std::string, std::string>> policy_metadata(const PolicyWeights& weights, const ModelProvenance& from);

// JSON text helpers (also used for the observation files of the deployment example).
std::string json_string(std::string_view s);

}  // namespace opsrl::exporter
