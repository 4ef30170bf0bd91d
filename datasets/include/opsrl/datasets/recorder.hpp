#pragma once
// Turns a VecEnv's steps into Episodes: one episode being filled per env, handed over when it
// ends. Observes the VecEnv from outside (like a simulator hook): nothing in envs/ knows it.
//
//   vec.reset();
//   EpisodeRecorder rec(vec, {.auto_reset = true, .policy = "oracle"});
//   rec.begin(vec);
//   for (;;) {
//     policy.act(vec, actions);
//     vec.step(actions);
//     rec.step(vec, actions, [&](int env, Episode& ep) { writer.append(ep); });
//   }
//
// Per step it appends to buffers reserved for max_episode_steps, so a steady step allocates
// nothing.
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include <opsrl/datasets/episode.hpp>
#include <opsrl/envs/vec_env.hpp>

namespace opsrl::datasets {

struct RecorderOptions {
  bool auto_reset = true;      // must match the VecEnv's: whether an ended env starts a new episode
  std::string policy;          // written into each episode's attributes
  std::string scenario_hash;   // ditto
};

class EpisodeRecorder {
 public:
  // Every env of `vec` must run the same task (one EnvSpec per dataset).
  EpisodeRecorder(const envs::VecEnv& vec, RecorderOptions options);

  // After vec.reset(): starts every env's episode with its first observation.
  void begin(const envs::VecEnv& vec);
  // After vec.step(actions): records the step of every env still recording; for each env whose
  // episode ended calls done(env, episode). The callee may move the episode out. `intended`
  // (the rows the policy chose, when action noise replaced some; else empty) goes to
  // Episode::intended_actions.
  using DoneFn = std::function<void(int env, Episode& episode)>;
  void step(const envs::VecEnv& vec, std::span<const std::int32_t> actions, const DoneFn& done,
            std::span<const std::int32_t> intended = {});
  // Without auto_reset: whether env i is still recording (its episode has not ended).
  bool active(int env) const { return active_[static_cast<std::size_t>(env)] != 0; }

  // The episode env i is filling (its seed and the steps so far).
  const Episode& current(int env) const { return episodes_[static_cast<std::size_t>(env)]; }
  const EpisodeShape& shape() const { return shape_; }

 private:
  void start(const envs::VecEnv& vec, int env);

  RecorderOptions options_;
  EpisodeShape shape_;
  int max_steps_ = 0;
  std::vector<Episode> episodes_;
  std::vector<std::uint8_t> active_;
};

// Appends observation slot `env` of `batch` (its own task's mask_width bytes of the mask row)
// and its time to `episode`.
void append_observation(Episode& episode, const envs::ObservationBatch& batch, int env, double time_s);

}  // namespace opsrl::datasets
