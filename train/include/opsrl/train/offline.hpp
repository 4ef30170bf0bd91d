#pragma once
// Offline training of the transformer policy from recorded episodes (offline_data.hpp):
// behaviour cloning and Implicit Q-Learning (Kostrikov, Nair and Levine, "Offline Reinforcement
// Learning with Implicit Q-Learning", 2021). docs/training.md ("Offline training") states every
// formula; the arithmetic is here on plain tensors so that it is tested on known values.
//
//   OfflineTrainer t(config, data);        // policy (+ critic and target critic for IQL), Adam
//   while (!t.done()) {
//     OfflineEpochMetrics m = t.epoch();   // shuffled minibatches over the training transitions
//     t.save_checkpoint(dir / "latest.pt");
//   }
//
// BC, per minibatch of transitions (s, a):
//   loss = -mean over allowed rows of log pi(a|s)                   (masked-categorical NLL of the row;
//                                                                    rows that act weigh offline.action_weight)
//          + aux.diagnosis_weight diagnosis CE(ground truth at s)   (as the PPO trainer's)
//          + offline.value_weight 0.5 (V_pi(s) - R~)^2               (R~ = discounted return-to-go x
//                                                                    reward_scale: PPO's value scale)
//
// IQL, per minibatch of transitions (s, a, r, s'), r scaled by c = iql.reward_scale (0: the data's
// per-task reward_scale, so that values are O(1) for the critic's optimiser), d = terminated:
//   critic   V(s), Q_k(s,a) (k = 1 or 2) from one critic network; Q^(s,a) = min_k Q_k of the
//            target critic (Polyak copy)
//   L_V      = mean L2_tau(Q^(s,a) - V(s)),   L2_tau(u) = |tau - 1(u < 0)| u^2      (expectile)
//   L_Q      = sum_k mean (r + gamma (1 - d) V(s') - Q_k(s,a))^2   (V(s') without gradient; with
//              iql.n_step = n > 1 the n-step target of n_step_targets)
//   actor    = -mean over allowed rows of min(exp(beta (Q^(s,a) - V(s)) / c), max_weight) log pi(a|s)
//              (the advantage back in raw reward units: beta does not depend on the critic's scale)
//              + aux + value terms as BC
//   then     target <- polyak critic + (1 - polyak) target
//
// Q for factored, pointer-valued action rows (IqlCritic): the critic has its own transformer
// encoder (agents::TransformerPolicy's trunk; its action heads are unused), z (B,T,d) its token
// embeddings, g = z[:,0] the global token's:
//   incident   Q_k = MLP_k([g | E_verb[verb] | z[target] | E_diag[diag_type] | z[diag_target]])
//              (5d inputs: the verb and diagnosis type as learned embeddings, the target and
//              root-cause tokens as the encoder's own embeddings of those tokens)
//   autoscale  Q_k = MLP_k([g | sum_t valid_t (P_delta[delta_t] z_t + P_move[move_t] z_t)])
//              (per-choice projections d -> d; keep and stay project to 0, so the sum runs over
//              the tokens the row changes)
//   V          = MLP_v(g)
// Each MLP is Linear(in, q_hidden) - ReLU - Linear(q_hidden, q_hidden) - ReLU - Linear(q_hidden, 1);
// rows use their own task's Q (selected by task_id).
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include <torch/torch.h>

#include <opsrl/train/actor_critic.hpp>
#include <opsrl/train/offline_config.hpp>
#include <opsrl/train/offline_data.hpp>

namespace opsrl::train {

// ---- IQL arithmetic ----------------------------------------------------------------------

// mean(|tau - 1(diff < 0)| diff^2), diff = Q - V: the expectile regression loss of V.
torch::Tensor expectile_loss(const torch::Tensor& diff, double expectile);
// r + gamma (1 - terminated) next_value.
torch::Tensor td_target(const torch::Tensor& rewards, const torch::Tensor& next_value, const torch::Tensor& terminated,
                        double gamma);
// n-step TD targets over transitions laid out episode after episode (S of them): for transition t
// with m = min(n, steps left in its episode),
//   rewards[t]  = sum_{k<m} gamma^k r[t+k]                    (raw units, scale afterwards)
//   next_row[t] = next_row[t+m-1]                              (s_t+m: the observation to bootstrap on)
//   discount[t] = gamma^m, or 0 when the episode terminated within the window
// so that the target is rewards + discount V(s_t+m); n = 1 is td_target's. A truncated episode's
// last transitions bootstrap on its final observation.
struct NStepTargets {
  torch::Tensor rewards, next_row, discount;  // (S) float, int64, float
};
NStepTargets n_step_targets(const torch::Tensor& rewards, const torch::Tensor& episode, const torch::Tensor& terminated,
                            const torch::Tensor& next_row, int n, double gamma);
// min(exp(beta advantage), max_weight), without gradient.
torch::Tensor advantage_weights(const torch::Tensor& advantage, double beta, double max_weight);
// target <- polyak source + (1 - polyak) target for every parameter; buffers are copied.
void polyak_update(torch::nn::Module& target, torch::nn::Module& source, double polyak);

// ---- the IQL critic ----------------------------------------------------------------------

struct IqlCriticOptions {
  agents::TransformerPolicyOptions encoder;  // the critic's own encoder (the policy's options)
  int hidden = 256;
  int num_q = 2;
};

struct CriticOutput {
  torch::Tensor value;  // (B) V(s)
  torch::Tensor q;      // (K,B) Q_k(s,a); undefined when no actions were given
};

class IqlCriticImpl : public torch::nn::Module {
 public:
  explicit IqlCriticImpl(IqlCriticOptions options);
  // V(s) and, with `actions` (B,A) defined, Q_k(s,a).
  CriticOutput forward(const ObsTensors& obs, const torch::Tensor& actions = {});
  void update_normalizer(const ObsTensors& obs) { encoder_->update_normalizer(obs); }
  const IqlCriticOptions& options() const { return options_; }

 private:
  IqlCriticOptions options_;
  agents::TransformerPolicy encoder_{nullptr};
  torch::nn::Embedding verb_embed_{nullptr}, diag_embed_{nullptr};
  torch::nn::Linear delta_proj_{nullptr}, move_proj_{nullptr};
  torch::nn::Sequential v_{nullptr};
  torch::nn::ModuleList q_incident_{nullptr}, q_autoscale_{nullptr};
};
TORCH_MODULE(IqlCritic);

// ---- the trainer --------------------------------------------------------------------------

struct OfflineEpochMetrics {
  std::int64_t epoch = 0;           // 1-based, after this epoch
  std::int64_t steps = 0;           // gradient steps so far
  std::int64_t samples = 0;         // transitions trained on so far (epochs x training transitions)
  double learn_seconds = 0;         // of this epoch
  double samples_per_second = 0;
  double learning_rate = 0;
  // Means over the epoch's minibatches (NaN when not computed).
  double nll = 0;                   // -log pi(a|s) of the recorded rows, action_weight-weighted (BC's
                                    // loss; for IQL without the advantage weights)
  double actor_loss = 0;            // the weighted NLL (IQL); = nll for BC
  double aux_loss = 0, diag_accuracy = 0;
  double value_loss = 0;            // the policy's value head (offline.value_weight)
  double v_loss = 0, q_loss = 0;    // IQL critic
  double q_mean = 0, v_mean = 0;    // IQL, the critic's (scaled) units
  double adv_mean = 0, weight_mean = 0;  // IQL, advantages in raw reward units, and the weights
  // On the validation transitions (held-out episodes), after the epoch; NaN without any.
  double val_nll = 0;
  double val_agreement = 0;         // greedy rows equal to the recorded (canonical) rows
  double val_agreement_remediation = 0;  // incident: verb and target columns equal (NaN: none)
};

struct ValidationMetrics {
  double nll = 0, agreement = 0, agreement_remediation = 0;
  std::int64_t transitions = 0;
};

class OfflineTrainer {
 public:
  OfflineTrainer(OfflineConfig config, std::shared_ptr<const OfflineData> data);
  ~OfflineTrainer();

  // One pass over the training transitions; returns early (epoch not counted) when `stop`
  // becomes true.
  OfflineEpochMetrics epoch(const std::atomic<bool>* stop = nullptr);
  bool done() const { return epoch_ >= config_.offline.epochs; }
  std::int64_t epoch_count() const { return epoch_; }
  std::int64_t step_count() const { return steps_; }
  double elapsed_seconds() const { return elapsed_; }

  // NLL and greedy agreement over `transitions` (int64 indices; default: the validation split).
  ValidationMetrics validate(const torch::Tensor& transitions = {});

  // A checkpoint that load_policy, `opsrl eval --policy`, `opsrl export` and `opsrl train
  // --init-from` read like a PPO one (write_checkpoint_core: the policy at the root, a TrainConfig
  // describing the dataset's envs), plus the offline state: offline_config, optimizer, epoch,
  // steps, rng_shuffle, and for IQL critic, critic_target and critic_optimizer. Atomic.
  void save_checkpoint(const std::filesystem::path& path) const;
  // Restores everything save_checkpoint wrote (same algorithm and policy).
  void load_checkpoint(const std::filesystem::path& path);

  ActorCritic& policy() { return *policy_; }
  std::shared_ptr<ActorCritic> shared_policy() { return policy_; }
  const OfflineConfig& config() const { return config_; }
  const OfflineData& data() const { return *data_; }
  torch::Device device() const { return device_; }
  // The TrainConfig written into checkpoints: [policy] and run.seed from the offline config,
  // [env] from the dataset.
  TrainConfig train_config() const;

 private:
  struct Batch;
  Batch batch(const torch::Tensor& idx) const;
  double learning_rate() const;

  OfflineConfig config_;
  std::shared_ptr<const OfflineData> data_;
  torch::Device device_;
  std::shared_ptr<ActorCritic> policy_;
  std::unique_ptr<torch::optim::Adam> optimizer_;
  IqlCritic critic_{nullptr}, target_{nullptr};
  std::unique_ptr<torch::optim::Adam> critic_optimizer_;
  torch::Tensor iql_scale_;  // (S) the critic's reward scale per transition (iql.reward_scale or the data's)
  NStepTargets targets_;     // iql.n_step targets (raw rewards)
  torch::Generator shuffle_rng_;
  std::int64_t epoch_ = 0, steps_ = 0;
  double elapsed_ = 0;
};

}  // namespace opsrl::train
