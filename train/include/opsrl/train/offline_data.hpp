#pragma once
// Recorded episodes as training tensors for `opsrl offline`: one or more HDF5 datasets
// (datasets::Reader) read into memory, every transition (s_t, a_t, r_t, s_t+1) of every episode.
//
//   OfflineData d = load_offline_data({.files = {"oracle.h5"}, .validation_fraction = 0.1});
//   ObsTensors s = select_rows(d.obs, d.obs_row.index_select(0, batch));   // s_t
//   ObsTensors s1 = select_rows(d.obs, d.next_row.index_select(0, batch)); // s_t+1
//
// Observations are stored once per row of the file (T + 1 rows per episode: s_0 .. s_T, the last
// being the final observation), transitions point at them. Several files may be read together
// (e.g. a random and a threshold recording, or an incident and an autoscale one) when their
// observations have the same tokens and features; masks and action rows are padded to the widest.
//
// Per transition (S of them, R = S + episodes observation rows):
//   actions      (S,A) int64  the row the env stepped with, canonical: a head whose mask row
//                             allows nothing reads 0 (what the policy writes there), so rows
//                             compare exactly. The critic's (IQL) action.
//   cloned       (S,A) int64  the row the policy learns: the recording policy's own where the file
//                             keeps one (infos/intended_actions, recordings with action noise), else
//                             `actions` (the same tensor when the data hold no intended rows)
//   allowed      (S)   bool   every head's value in `cloned` is allowed by its mask (false rows are
//                             excluded from the likelihood terms and counted)
//   rewards      (S)   float  raw rewards
//   terminated   (S)   bool   the episode ended in a terminal state at this step (no bootstrap);
//                             a truncated episode's last transition bootstraps on s_T
//   returns      (S)   float  discounted return-to-go (gamma) of the raw rewards
//   reward_scale (S)   float  1 / std of the forward discounted return G_t = gamma G_t-1 + r_t over
//                             the training transitions of the row's task (PPO's reward normalisation)
//   aux_type     (S)   int64  incident ground truth at s_t, as the PPO trainer's labels: the active
//                             fault with the earliest onset (1 + FaultType), or while the episode has
//                             not claimed yet the earliest started one; 0 = none ("no claim", when
//                             no_claim_label), -1 = no label (autoscale)
//   aux_target   (S)   int64  its root token, -1 = none
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <torch/torch.h>

#include <opsrl/envs/config.hpp>
#include <opsrl/train/actor_critic.hpp>
#include <opsrl/train/config.hpp>
#include <opsrl/train/offline_config.hpp>

namespace opsrl::train {

struct OfflineDataOptions {
  std::vector<std::filesystem::path> files;
  double validation_fraction = 0.1;  // share of the episodes (over all files) held out
  std::uint64_t seed = 1;            // of the validation split
  int max_episodes = 0;              // per file; 0: all
  double gamma = 0.99;               // of `returns` and `reward_scale`
  bool no_claim_label = true;
  double label_delay_s = 30;         // a fault is labelled only once it has run this long (as AuxSection)
};

// One file's part, for messages, the checkpoint's [env] and evaluation.
struct OfflineSource {
  std::filesystem::path file;
  std::string task;              // "incident" or "autoscale"
  std::string policy;            // the recording's policy ("" for imports)
  std::string scenario;          // the scenario's name
  std::string difficulty;        // incident preset, or ""
  int history = 0;
  bool simulated = false;        // re-simulatable: its env config drives evaluation
  envs::EnvConfigPtr env_config; // simulated files only
  int episodes = 0;
  std::int64_t steps = 0;
  double mean_return = 0;        // over its episodes
};

struct OfflineData {
  ObsTensors obs;                // (R,...) CPU; action_width = A
  torch::Tensor obs_row, next_row;         // (S) int64 rows of s_t and s_t+1 in obs
  torch::Tensor actions;                   // (S,A) int64, canonical: the executed rows
  torch::Tensor cloned;                    // (S,A) int64, canonical: the rows the policy learns
  torch::Tensor allowed;                   // (S) bool
  torch::Tensor rewards, returns, reward_scale;  // (S) float32
  torch::Tensor terminated;                // (S) bool
  torch::Tensor aux_type, aux_target;      // (S) int64
  torch::Tensor task_id;                   // (S) int64
  torch::Tensor episode;                   // (S) int64, index over all files' episodes
  torch::Tensor train, validation;         // int64 transition indices of the two splits
  torch::Tensor train_rows;                // int64 observation rows of the training episodes (normaliser)
  std::vector<OfflineSource> sources;
  int tokens = 0, features = 0, mask_width = 0, action_width = 0;
  std::int64_t disallowed = 0;             // transitions whose recorded row the mask does not allow
  std::int64_t intended = 0;               // transitions whose cloned row (intended) differs from the executed

  std::int64_t transitions() const { return actions.size(0); }
  bool has(envs::TaskId task) const;
  // The tasks present, each with the env config of its first simulated file (nullptr if none).
  std::vector<std::pair<std::string, envs::EnvConfigPtr>> eval_tasks() const;
  // The [env] of a TrainConfig describing these envs (scenario, difficulty, history, task mix):
  // written into checkpoints, where exports and `opsrl eval` read it.
  void describe_envs(EnvSection& env) const;
};

// The options `opsrl offline` reads its data with under `config` ([data], [run] seed, gamma,
// [aux] labels).
OfflineDataOptions data_options(const OfflineConfig& config);

// Reads every episode of every file. Throws std::runtime_error naming the file when one does
// not read (datasets::DatasetError), when files disagree on tokens or features, or when there is
// nothing to train on.
OfflineData load_offline_data(const OfflineDataOptions& options);

}  // namespace opsrl::train
