#pragma once
// What a task's observations and actions look like, in the manner of EnvPool's specs: one
// EnvSpec per (task, configuration), built by the task and fixed for the env's lifetime. A
// trainer, a policy or a dataset writer sizes every buffer from it; docs/observation.md is
// the exact layout.
//
// Field                Meaning
// task, task_id        "incident" (0) or "autoscale" (1)
// max_tokens (T)       tokens per observation: [global] + nodes + services + replica slots,
//                      padded to this count
// feature_width (F)    floats per token
// history (H)          scrapes in each history window (default 4)
// num_nodes, ...       entity slots per kind (the real tokens; the rest is padding)
// action_width (A)     int32 entries per action row
// mask_width (M)       uint8 entries per action-mask row
// action_heads         the heads of the action row, their sizes and where their masks lie
// reward_components    names of RewardComponents' terms, in order
// step_interval        simulated time per step (the scrape interval)
// max_episode_steps    steps until an episode is truncated
#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <opsrl/sim/time.hpp>

namespace opsrl::envs {

// Token type ids. Entity tokens use sim::EntityKind's values (node 1, service 2, replica 3);
// the global token is 0 and padding 4.
enum class TokenType : std::int32_t { kGlobal = 0, kNode = 1, kService = 2, kReplica = 3, kPadding = 4 };
inline constexpr int kNumTokenTypes = 5;

// Task ids, as written into the observation's task_id.
enum class TaskId : std::int32_t { kIncident = 0, kAutoscale = 1 };
inline constexpr int kNumTasks = 2;

enum class DType : std::uint8_t { kFloat32, kInt32, kUInt8 };
std::string_view dtype_name(DType d);  // "float32", "int32", "uint8"

// One array of an observation, for schema writers (datasets, ONNX metadata).
struct ArraySpec {
  std::string name;        // e.g. "features"
  DType dtype;
  std::vector<int> shape;  // per env, without the batch axis
  std::string meaning;     // one line
};

// One head of the action row. A head has `count` entries (1, or one per token) each taking a
// value in [0, choices). Its mask occupies mask_rows x choices bytes from mask_offset, row
// major; mask_rows is 1 (one mask for the head), count (one mask per entry) or, when
// depends_on names another head, that head's choices (the row for the value chosen there).
struct ActionHeadSpec {
  std::string name;
  int column = 0;          // first entry of the head in an action row
  int count = 1;
  int choices = 1;
  int mask_offset = 0;     // first byte of its mask in a mask row
  int mask_rows = 1;
  std::string depends_on;  // "" or the name of the head that selects the mask row
};

// Names of the reward terms, in the order of RewardComponents (info.hpp).
inline constexpr std::array<std::string_view, 8> kRewardComponentNames{
    "slo_penalty", "cost", "action_cost", "diagnosis", "resolution", "invalid_action", "false_positive",
    "wrong_action"};

struct EnvSpec {
  std::string task;
  TaskId task_id = TaskId::kIncident;
  std::string scenario;
  int max_tokens = 0;
  int feature_width = 0;
  int history = 0;
  int num_nodes = 0;
  int num_services = 0;
  int num_replica_slots = 0;
  int action_width = 0;
  int mask_width = 0;
  std::vector<ActionHeadSpec> action_heads;
  std::vector<std::string> reward_components;
  sim::SimTime step_interval = 0;
  int max_episode_steps = 0;

  int num_real_tokens() const { return 1 + num_nodes + num_services + num_replica_slots; }
  // The head of that name; throws std::out_of_range naming the known heads.
  const ActionHeadSpec& head(std::string_view name) const;
  // The arrays one observation consists of (features, token_type, valid, links, task_id,
  // action_mask), with their shapes.
  std::vector<ArraySpec> observation_arrays() const;
};

}  // namespace opsrl::envs
