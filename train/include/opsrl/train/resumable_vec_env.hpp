#pragma once
// envs::VecEnv's semantics (same seeds, same-step auto-reset, final observations and infos,
// bit-identical for any thread count) plus a state that can be saved and restored, so that a
// resumed training run continues its episodes exactly where they stopped.
//
//   actions (N x A) --> tbb::parallel_for in a task_arena --> env i: step, log the action row,
//                                                               write obs slot i
//                                                               `-> episode over: copy slot i to
//                                                                   final_observations, reset in place
//
// Why not envs::VecEnv itself: a simulator cannot be serialised, but an episode is a pure
// function of (config, task, seed, actions), so env i is restored by resetting it with its
// episode's seed and replaying the action rows of its current episode. VecEnv keeps neither
// the rows nor a way to reset one env into episode e; this class does. (Once envs::VecEnv offers
// a restore hook, the trainer can switch back: the accessors below are VecEnv's.)
//
// Parameter     Default     Meaning (envs::VecEnvOptions)
// tasks         required    (task, count) pairs; envs are laid out in this order
// config        default     shared by every env
// seed          0           env i's episode e is reset with seed + i + e x N
// num_threads   0           threads of the arena (0: every core)
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include <oneapi/tbb/task_arena.h>

#include <opsrl/envs/env.hpp>
#include <opsrl/envs/vec_env.hpp>

namespace opsrl::train {

// Where every env stands: its episode index and the action rows of its current episode.
struct VecEnvState {
  std::vector<std::int64_t> episode;               // (N) episodes started by env i, minus one
  std::vector<std::vector<std::int32_t>> actions;  // (N) steps x action_width(i), row major
};

class ResumableVecEnv {
 public:
  explicit ResumableVecEnv(envs::VecEnvOptions options);  // auto_reset must be true
  ~ResumableVecEnv();

  int size() const { return static_cast<int>(envs_.size()); }
  int num_threads() const { return threads_; }
  int max_tokens() const { return obs_.max_tokens(); }
  int feature_width() const { return obs_.feature_width(); }
  int action_width() const { return action_width_; }
  int mask_width() const { return obs_.mask_width(); }

  void reset();
  void step(std::span<const std::int32_t> actions);

  const envs::ObservationBatch& observations() const { return obs_; }
  const envs::ObservationBatch& final_observations() const { return final_obs_; }
  std::span<const float> rewards() const { return rewards_; }
  std::span<const std::uint8_t> terminated() const { return terminated_; }
  std::span<const std::uint8_t> truncated() const { return truncated_; }
  const envs::Info& info(int i) const { return envs_[i]->info(); }
  const envs::Info& final_info(int i) const { return final_info_[i]; }
  const envs::Env& env(int i) const { return *envs_[i]; }
  const envs::EnvSpec& spec(int i) const { return envs_[i]->spec(); }
  std::int64_t episode(int i) const { return episode_[i]; }
  std::uint64_t episode_seed(int i, std::int64_t episode) const;

  // The state after the last step (or reset).
  VecEnvState state() const;
  // Puts every env where `state` says by resetting it into its episode and replaying the rows;
  // afterwards observations() equal those at the time of state(). Throws std::invalid_argument
  // when the state does not fit (env count, row widths).
  void restore(const VecEnvState& state);

 private:
  template <typename Body>
  void for_each_env(Body&& body);

  envs::VecEnvOptions options_;
  std::vector<std::unique_ptr<envs::Env>> envs_;
  int threads_ = 1;
  int action_width_ = 0;
  std::unique_ptr<tbb::task_arena> arena_;
  envs::ObservationBatch obs_, final_obs_;
  std::vector<float> rewards_;
  std::vector<std::uint8_t> terminated_, truncated_;
  std::vector<envs::Info> final_info_;
  std::vector<std::int64_t> episode_;
  std::vector<std::vector<std::int32_t>> log_;  // (N) the current episode's rows, reserved
  bool started_ = false;
};

}  // namespace opsrl::train
