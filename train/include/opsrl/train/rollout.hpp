#pragma once
// Rollout storage for S steps of N envs, preallocated once: the observations the policy acted
// on (copies of the VecEnv's batch arrays as tensors), the action rows, log-probabilities,
// values, rewards, termination and truncation flags, the bootstrap values of truncated
// episodes and the auxiliary diagnosis labels. Observations and actions live on the policy's
// device; the per-step scalars on the CPU, where GAE runs.
#include <cstdint>
#include <functional>

#include <torch/torch.h>

#include <opsrl/envs/observation.hpp>
#include <opsrl/train/actor_critic.hpp>

namespace opsrl::train {

// Zero observation tensors for B envs (features (B,T,F) float, token_type (B,T) int64, valid
// (B,T) bool, links (B,T,2) int64 (-1), task_id (B) int64, action_mask (B,M) bool).
ObsTensors make_obs_tensors(std::int64_t batch, int max_tokens, int feature_width, int mask_width,
                            torch::Device device = torch::kCPU);
// Copies a whole batch into `dst` (contiguous CPU tensors of the same shapes, e.g. one step of
// a RolloutStorage); converts the int32/uint8 arrays to int64/bool.
void copy_observations(const envs::ObservationBatch& src, const ObsTensors& dst);
// Rows of a batch, and (S,N,...) flattened to (S*N,...).
ObsTensors map_obs(const ObsTensors& obs, const std::function<torch::Tensor(const torch::Tensor&)>& f);
ObsTensors select_rows(const ObsTensors& obs, const torch::Tensor& rows);
ObsTensors flatten_steps(const ObsTensors& obs);
ObsTensors obs_to(const ObsTensors& obs, torch::Device device);

class RolloutStorage {
 public:
  RolloutStorage() = default;
  RolloutStorage(int num_steps, int num_envs, int max_tokens, int feature_width, int mask_width, int action_width,
                 torch::Device device);

  int num_steps() const { return steps_; }
  int num_envs() const { return envs_; }
  // Step t's observations: views into `obs` (N,...), for filling and acting. action_width is
  // the VecEnv's.
  ObsTensors step_obs(int t) const;
  // Writes the VecEnv's current batch as step t's observations.
  void store_observations(int t, const envs::ObservationBatch& batch);

  ObsTensors obs;              // (S,N,...) on the device
  torch::Tensor actions;       // (S,N,A) int32, on the device
  torch::Tensor log_probs;     // (S,N) float, CPU
  torch::Tensor values;        // (S,N) float, CPU: V(s_t)
  torch::Tensor rewards;       // (S,N) float, CPU
  torch::Tensor terminated;    // (S,N) bool, CPU
  torch::Tensor truncated;     // (S,N) bool, CPU
  torch::Tensor final_values;  // (S,N) float, CPU: V(final observation) where truncated, else 0
  torch::Tensor aux_type;      // (S,N) int64, CPU: true diagnosis type, -1 = no label
  torch::Tensor aux_target;    // (S,N) int64, CPU: true root token, -1 = no label
  torch::Tensor teacher_actions;  // (S,N,A) int32, CPU: [teacher]'s rows (zeros when off)
  torch::Tensor next_value;    // (N) float, CPU: V(s_S)

 private:
  int steps_ = 0, envs_ = 0;
  bool staged_ = false;   // observations are not on the CPU: fill `staging_` first
  ObsTensors staging_;    // (N,...) CPU
};

}  // namespace opsrl::train
