#pragma once
// The PPO arithmetic on plain tensors, independent of any policy class: GAE(lambda) with
// termination vs truncation, the clipped surrogate, the (clipped) value loss, per-task
// advantage normalisation, explained variance. docs/training.md states every formula.
//
//   GaeInputs in{rewards, values, next_value, terminated, truncated, final_values};
//   GaeResult g = compute_gae(in, /*gamma=*/0.99, /*lambda=*/0.95);
//   normalize_advantages(g.advantages, task_id, kNumTasks);
//   PolicyLoss pl = clipped_policy_loss(new_logp, old_logp, adv, 0.2);
//   torch::Tensor vl = value_loss(new_v, old_v, returns, 0.2, /*clip=*/true);
#include <torch/torch.h>

namespace opsrl::train {

// One rollout of S steps of N envs, every tensor on the CPU.
struct GaeInputs {
  torch::Tensor rewards;       // (S,N) float: reward of step t
  torch::Tensor values;        // (S,N) float: V(s_t), the value of the observation acted on at t
  torch::Tensor next_value;    // (N)   float: V(s_S), the observation after the last step
  torch::Tensor terminated;    // (S,N) bool/uint8: step t ended its episode in a terminal state
  torch::Tensor truncated;     // (S,N) bool/uint8: step t ended its episode at the time limit
  torch::Tensor final_values;  // (S,N) float: V(final observation) where truncated (else ignored)
};

struct GaeResult {
  torch::Tensor advantages;  // (S,N) float
  torch::Tensor returns;     // (S,N) float: advantages + values (the value target)
};

// GAE(lambda). With d_t = terminated_t or truncated_t:
//   next_t  = 0                  if terminated_t        (no bootstrap)
//           = final_values_t     if truncated_t         (bootstrap on the episode's last observation)
//           = values_{t+1}       otherwise (next_value at t = S-1)
//   delta_t = r_t + gamma next_t - V(s_t)
//   A_t     = delta_t + gamma lambda (1 - d_t) A_{t+1}
// Terminated wins when both flags are set. Computed in double precision.
GaeResult compute_gae(const GaeInputs& in, double gamma, double lambda);

// Normalises `adv` (B) in place to mean 0 and (unbiased) standard deviation 1, separately for
// each task id in `task_id` (B, int64, values in [0, num_tasks)); per_task = false normalises
// the whole batch at once. A group of fewer than two samples is only centred.
void normalize_advantages(torch::Tensor& adv, const torch::Tensor& task_id, int num_tasks, bool per_task = true,
                          double eps = 1e-8);

struct PolicyLoss {
  torch::Tensor loss;           // scalar: mean of max(-A r, -A clip(r, 1-c, 1+c))
  torch::Tensor approx_kl;      // scalar, no grad: mean((r - 1) - log r)  (CleanRL's, Schulman's k3)
  torch::Tensor old_approx_kl;  // scalar, no grad: mean(-log r)
  torch::Tensor clip_fraction;  // scalar, no grad: share of samples with |r - 1| > c
};
// The clipped surrogate of PPO with r = exp(new_log_prob - old_log_prob).
PolicyLoss clipped_policy_loss(const torch::Tensor& new_log_prob, const torch::Tensor& old_log_prob,
                               const torch::Tensor& advantages, double clip_coef);

// 0.5 mean((V - R)^2), or with clip: 0.5 mean(max((V - R)^2, (V_old + clip(V - V_old, -c, c) - R)^2)).
torch::Tensor value_loss(const torch::Tensor& new_value, const torch::Tensor& old_value, const torch::Tensor& returns,
                         double clip_coef, bool clip);

// 1 - Var(returns - values) / Var(returns); NaN when Var(returns) = 0.
double explained_variance(const torch::Tensor& values, const torch::Tensor& returns);

// Linear annealing of CleanRL: lr * (1 - (update - 1) / num_updates), update counted from 1.
double annealed_lr(double lr, long update, long num_updates);

// Imitation (offline BC, PPO's teachers): the weight of each demonstrated row of `rows` (B,A),
// action_weight where the row acts (is not all zeros: noop without a claim, keep every replica),
// else 1 — waiting rows outnumber acting ones many times over. (B) float on rows' device.
torch::Tensor acting_row_weight(const torch::Tensor& rows, double action_weight);
// Mean of x weighted by `weight` (0 where a row is left out; 0 when every weight is 0).
torch::Tensor weighted_mean(const torch::Tensor& x, const torch::Tensor& weight);

}  // namespace opsrl::train

namespace opsrl::train {

struct DiagnosisLoss {
  torch::Tensor loss;          // scalar: type_loss + pointer_loss (0 when no row is labelled)
  torch::Tensor type_loss;     // scalar: mean cross-entropy of the type logits over labelled rows
  torch::Tensor pointer_loss;  // scalar: mean cross-entropy of the pointer logits over rows with a root token
  torch::Tensor accuracy;      // scalar, no grad: argmax(type) == label over rows labelled with a fault (NaN: none)
};
// The auxiliary supervised diagnosis loss. type_label (B) int64: the true diagnosis type (0 = no
// claim, 1 + FaultType), -1 = no label; target_label (B) int64: the true root token, -1 = none.
// type_logits (B,D) and target_logits (B,T) are the policy's masked logits (the target row is
// the one of the true type); labels must be allowed by the masks (the trainer checks).
DiagnosisLoss diagnosis_loss(const torch::Tensor& type_logits, const torch::Tensor& target_logits,
                             const torch::Tensor& type_label, const torch::Tensor& target_label, bool pointer = true);

}  // namespace opsrl::train

#include <cstdint>
#include <span>
#include <vector>

namespace opsrl::train {

// Running mean and (population) variance of a stream, merged batch by batch (Chan et al.), as
// gymnasium's RunningMeanStd; starts at mean 0, variance 1 with a count of 1e-4.
struct RunningMeanStd {
  double count = 1e-4, mean = 0, var = 1;
  void update(std::span<const double> batch);
};

// gymnasium's NormalizeReward, per task: each env keeps its discounted return
// G <- gamma G + r (reset when its episode ends); a task's rewards are divided by the running
// standard deviation of its envs' G, then clipped to [-clip, clip] (clip 0: no clipping). The
// statistics are updated with every step's returns before scaling that step's rewards.
class RewardScaler {
 public:
  RewardScaler() = default;
  RewardScaler(std::vector<int> env_task, int num_tasks, double gamma, double clip);

  // Scales one step's rewards (N) in place.
  void scale(std::span<float> rewards, std::span<const std::uint8_t> terminated, std::span<const std::uint8_t> truncated);
  double scale_of(int task) const;  // the divisor of task's rewards now

  std::vector<double> returns;       // (N) discounted return so far of each env's episode
  std::vector<RunningMeanStd> stats; // (tasks)

 private:
  std::vector<int> env_task_;
  double gamma_ = 0.99, clip_ = 0;
  std::vector<std::vector<double>> scratch_;
};

}  // namespace opsrl::train
