#pragma once
// N environments stepped as one batch across cores.
//
//   actions (N x A) --> tbb::parallel_for in a task_arena --> env i: step, write obs slot i
//                                                               `-> episode over: copy slot i to
//                                                                   final_observations, reset in place
//
// Each env writes only its own slot of the contiguous batch buffers and owns its random
// streams, so the buffers after a step are bit-identical for any thread count.
//
// Parameter     Default     Meaning
// tasks         required    (task, count) pairs; envs are laid out in this order
// config        default     shared by every env (null: make_config())
// seed          0           env i's episode e is reset with seed + i + e * N
// num_threads   0           threads of the arena (0: every core)
// auto_reset    true        reset an env as soon as its episode ends
// record_actions false      keep each env's action rows of its current episode, for state() and
//                           restore(): a simulator cannot be serialised, but an episode is a pure
//                           function of (config, task, seed, actions), so an env is restored by
//                           resetting it into its episode and replaying the rows (resumed training)
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <oneapi/tbb/task_arena.h>

#include <opsrl/envs/env.hpp>

namespace opsrl::envs {

struct TaskCount {
  std::string task;
  int count = 1;
};

struct VecEnvOptions {
  std::vector<TaskCount> tasks;
  EnvConfigPtr config;
  std::uint64_t seed = 0;
  int num_threads = 0;
  bool auto_reset = true;
  bool record_actions = false;
};

// Where every env stands (VecEnvOptions::record_actions): its episode index and the action rows
// of its current episode.
struct VecEnvState {
  std::vector<std::int64_t> episode;               // (N) episodes started by env i, minus one
  std::vector<std::vector<std::int32_t>> actions;  // (N) steps x spec(i).action_width, row major
};

class VecEnv {
 public:
  // Builds every env; throws std::invalid_argument when the tasks disagree on the token count
  // or feature width, or a count is < 1 (naming the values).
  explicit VecEnv(VecEnvOptions options);
  ~VecEnv();

  int size() const { return static_cast<int>(envs_.size()); }
  int num_threads() const { return threads_; }
  int max_tokens() const { return obs_.max_tokens(); }
  int feature_width() const { return obs_.feature_width(); }
  int action_width() const { return action_width_; }  // the widest task's; narrower tasks read a prefix
  int mask_width() const { return obs_.mask_width(); }  // the widest task's; narrower tasks zero the rest

  // Starts episode 0 of every env (seed + i) and writes every observation.
  void reset();
  // Steps every env with its row of `actions` (N x action_width(), row major). An env whose
  // episode ends has its last observation copied to final_observations() and its info to
  // final_info(), and (with auto_reset) starts its next episode in place.
  void step(std::span<const std::int32_t> actions);
  // Without auto_reset: starts the next episode of every env whose episode is over.
  void reset_done();

  const ObservationBatch& observations() const { return obs_; }
  const ObservationBatch& final_observations() const { return final_obs_; }  // rows of envs done this step
  std::span<const float> rewards() const { return rewards_; }              // (N) this step's
  std::span<const std::uint8_t> terminated() const { return terminated_; }  // (N)
  std::span<const std::uint8_t> truncated() const { return truncated_; }    // (N)
  const Info& info(int i) const { return envs_[i]->info(); }  // after an auto-reset: the new episode's
  const Info& final_info(int i) const { return final_info_[i]; }  // of the episode that ended this step
  const Env& env(int i) const { return *envs_[i]; }
  const EnvSpec& spec(int i) const { return envs_[i]->spec(); }
  std::int64_t episode(int i) const { return episode_[i]; }  // episodes started by env i, minus one
  std::uint64_t episode_seed(int i, std::int64_t episode) const;

  // The state after the last step or reset; needs record_actions (else std::logic_error).
  VecEnvState state() const;
  // Puts every env where `state` says by resetting it into its episode and replaying its rows;
  // afterwards observations() equal those at the time of state(). Throws std::invalid_argument
  // when the state does not fit (env count, row widths), std::logic_error without record_actions.
  void restore(const VecEnvState& state);

 private:
  template <typename Body>
  void for_each_env(Body&& body);

  VecEnvOptions options_;
  std::vector<std::unique_ptr<Env>> envs_;
  int threads_ = 1;
  int action_width_ = 0;
  std::unique_ptr<tbb::task_arena> arena_;
  ObservationBatch obs_, final_obs_;
  std::vector<float> rewards_;
  std::vector<std::uint8_t> terminated_, truncated_;
  std::vector<Info> final_info_;
  std::vector<std::int64_t> episode_;
  std::vector<std::vector<std::int32_t>> log_;  // record_actions: (N) the current episode's rows, reserved
  bool started_ = false;
};

}  // namespace opsrl::envs
