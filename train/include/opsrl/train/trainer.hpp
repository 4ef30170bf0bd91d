#pragma once
// Multi-task PPO (CleanRL's ppo.py, batched): one VecEnv mixing incident and autoscale envs,
// one actor-critic, rollouts of num_steps per env, GAE, several epochs of shuffled minibatches.
//
//   Trainer t(config);                 // envs, policy, optimizer, storage, generators
//   while (!t.done()) {
//     UpdateMetrics m = t.update();    // collect() one rollout, then learn() from it
//     if (m.update % 10 == 0) t.save_checkpoint(dir / "latest.pt");
//   }
//
// One update:
//   collect  S steps: store obs_t, read diagnosis labels from info(i), act (sampled, one batched
//            forward), step the envs, store reward (scaled per task) / terminated / truncated; for
//            truncated envs the value of final_observations() (one batched forward over those rows)
//   learn    GAE; advantage normalisation per task; E epochs of shuffled minibatches: clipped
//            surrogate - ent_coef entropy + vf_coef value loss + aux weight diagnosis CE; Adam
//            with global grad-norm clipping; stop early once approx_kl > target_kl
//   then     fold the rollout's observations into the policy's normaliser (frozen during
//            collection and learning, so the stored log-probabilities are the learner's)
//
// Determinism: with the same config and thread counts, a run is a pure function of run.seed;
// a run resumed from a checkpoint continues bit-identically (envs replayed, generators,
// optimizer and counters restored).
#include <atomic>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <torch/torch.h>

#include <opsrl/agents/policy.hpp>
#include <opsrl/envs/vec_env.hpp>
#include <opsrl/train/actor_critic.hpp>
#include <opsrl/train/config.hpp>
#include <opsrl/train/ppo.hpp>
#include <opsrl/train/rollout.hpp>

namespace opsrl::train {

// Episodes that ended during one rollout, for one task.
struct TaskMetrics {
  std::string task;
  int episodes = 0;
  double mean_return = 0;  // NaN when no episode ended
  double mean_length = 0;  // steps; NaN when no episode ended
  double reward_scale = 1; // ppo.norm_reward: the divisor of the task's rewards at the rollout's end
};

struct UpdateMetrics {
  std::int64_t update = 0;       // 1-based, after this update
  std::int64_t global_step = 0;  // env steps so far, all envs together
  double sps = 0;                // env steps per second of wall time in this update
  double collect_seconds = 0, learn_seconds = 0;
  std::vector<TaskMetrics> tasks;  // in the order of the tasks in the VecEnv
  // Means over the minibatches run (CleanRL logs the last minibatch's; we log the mean).
  double policy_loss = 0, value_loss = 0, entropy = 0, approx_kl = 0, old_approx_kl = 0, clip_fraction = 0;
  double aux_loss = 0;           // diagnosis cross-entropy (type + pointer); NaN when off
  double diag_accuracy = 0;      // argmax of the type logits on steps with a started fault; NaN when none
  double teacher_weight = 0;     // [teacher]: the imitation loss's weight in this update (0: off or decayed)
  double teacher_loss = 0;       // mean -log pi(teacher row) over the taught rows; NaN when the weight is 0
  double explained_variance = 0; // of the rollout's values against its returns
  double learning_rate = 0;
  int epochs = 0;                // epochs run (fewer than update_epochs after a target-KL stop)
  int minibatches = 0;
};

// What the trainer is built from, besides the config (tests; default: from the config).
struct TrainerOptions {
  std::vector<envs::TaskCount> tasks;  // empty: incident x env.incident_envs, autoscale x env.autoscale_envs
  envs::EnvConfigPtr env_config;       // null: built from [env]
  // null: the transformer of [policy]; arguments: feature width and token count of the envs
  std::function<std::shared_ptr<ActorCritic>(int feature_width, int max_tokens)> make_policy;
  const std::atomic<bool>* stop = nullptr;  // collect() returns early when it becomes true
};

// LibTorch's intra-op threads and, with the transformer built, OpenBLAS's pool (LibTorch's
// default here is 1 thread; the trainer sets run.threads, 0 = every core).
void set_compute_threads(int threads);

// The env config [env] describes (scenario, difficulty, history, ...).
envs::EnvConfigPtr make_env_config(const TrainConfig& config);
std::vector<envs::TaskCount> make_task_counts(const TrainConfig& config);

class Trainer {
 public:
  explicit Trainer(TrainConfig config, TrainerOptions options = {});
  ~Trainer();

  // One rollout; returns false (leaving the rollout unusable) when options.stop was raised.
  bool collect();
  // One PPO update from the collected rollout; advances the counters.
  UpdateMetrics learn();
  // collect() + learn(); throws std::runtime_error if stopped (check stop_requested() first).
  UpdateMetrics update();

  bool done() const { return global_step_ >= config_.run.total_steps; }
  std::int64_t update_count() const { return update_; }
  std::int64_t global_step() const { return global_step_; }
  std::int64_t num_updates() const { return config_.num_updates(); }
  // Extends (or shortens) the run; the LR schedule follows the new length.
  void set_total_steps(std::int64_t steps);

  // A checkpoint of the state at the last update boundary (also valid after an interrupted
  // collect()): model (with normaliser buffers), optimizer, generators, counters, env episodes
  // and config. Written to path + ".tmp", flushed, then renamed over `path`.
  void save_checkpoint(const std::filesystem::path& path) const;
  // Restores everything save_checkpoint wrote; the config must describe the same envs and policy.
  void load_checkpoint(const std::filesystem::path& path);
  // Only the model's parameters and buffers (fine-tuning; counters, optimizer, envs start fresh).
  void init_from(const std::filesystem::path& path);

  ActorCritic& policy() { return *policy_; }
  const TrainConfig& config() const { return config_; }
  envs::VecEnv& vec() { return *vec_; }
  torch::Device device() const { return device_; }
  const std::vector<std::string>& task_names() const { return task_names_; }
  // Recent finished episodes' returns per task (the last 100), for progress lines.
  std::vector<double> recent_mean_returns() const;
  double elapsed_seconds() const { return elapsed_; }  // wall time of all updates, resumed runs included

 private:
  struct ResumePoint {
    envs::VecEnvState envs;
    torch::Tensor sample_rng, shuffle_rng;
    RewardScaler rewards;
    std::int64_t update = 0, global_step = 0;
    double elapsed = 0;
  };
  void mark_resume_point();
  void write_labels(int t);
  double teacher_weight() const;  // at the current update
  // The teacher's memory after VecEnv::restore: each env's episode so far, row by row.
  void replay_teacher();

  TrainConfig config_;
  TrainerOptions options_;
  torch::Device device_;
  std::unique_ptr<envs::VecEnv> vec_;
  std::shared_ptr<ActorCritic> policy_;
  // [teacher]: one per task that has one, each proposing rows for every env into its buffer
  // (N, vec.action_width) int32 CPU; env i learns from teachers_[teacher_of_[i]] (-1: none).
  struct Teacher {
    std::unique_ptr<agents::Policy> policy;
    std::vector<std::int32_t> rows;
  };
  std::vector<Teacher> teachers_;
  std::vector<int> teacher_of_;
  std::unique_ptr<torch::optim::Adam> optimizer_;
  RolloutStorage storage_;
  ObsTensors final_scratch_;   // (N,...) CPU, final observations of this step
  torch::Tensor act_rows_;     // (N, vec.action_width) int32 CPU, the rows sent to the envs
  torch::Generator sample_rng_, shuffle_rng_;
  std::vector<int> env_task_;  // (N) index into task_names_
  std::vector<std::string> task_names_;
  RewardScaler reward_scaler_;
  std::vector<std::deque<double>> recent_returns_;
  std::vector<double> ep_return_sum_, ep_length_sum_;
  std::vector<int> ep_count_;
  std::int64_t update_ = 0, global_step_ = 0;
  double elapsed_ = 0, collect_seconds_ = 0;
  bool collected_ = false;
  ResumePoint resume_;
};

// Writes `write(tmp)` to path + ".tmp", fsyncs it and renames it over `path`.
void write_atomically(const std::filesystem::path& path, const std::function<void(const std::string&)>& write);

// The entries of a checkpoint that every reader needs: format and version, policy_kind and
// policy_options, config (a TrainConfig's TOML: its [env] names the envs the policy was trained
// for; exports read it), the model's parameters and buffers at the archive's root, update,
// global_step and elapsed_seconds. load_policy, --init-from, `opsrl eval` and `opsrl export`
// read only these; Trainer::save_checkpoint and `opsrl offline` add their own entries.
void write_checkpoint_core(torch::serialize::OutputArchive& ar, ActorCritic& policy, const TrainConfig& config,
                           std::int64_t update, std::int64_t global_step, double elapsed_seconds);
// Opens a checkpoint written through write_checkpoint_core, checking its format and version
// (std::runtime_error naming the file otherwise).
torch::serialize::InputArchive open_checkpoint(const std::filesystem::path& path, torch::Device device = torch::kCPU);

// A policy saved in a checkpoint, rebuilt (CPU unless `device` says otherwise), with the
// config it was trained with. `path`: a .pt checkpoint, or a run directory (its latest.pt).
struct LoadedPolicy {
  std::shared_ptr<ActorCritic> policy;
  TrainConfig config;
  std::int64_t update = 0, global_step = 0;
};
LoadedPolicy load_policy(const std::filesystem::path& path, torch::Device device = torch::kCPU);
std::filesystem::path resolve_checkpoint(const std::filesystem::path& path);

}  // namespace opsrl::train
