// The "cue" task of helpers.hpp, registered with the envs registry like a real task.
#include <opsrl/envs/env.hpp>

#include "helpers.hpp"

namespace opsrl::train::test {
namespace {

class CueTask final : public envs::Env {
 public:
  explicit CueTask(envs::EnvConfigPtr config) : Env(std::move(config), "cue", envs::TaskId::kIncident) {
    finish_spec(1, 2, {{"arm", 0, 1, 2, 0, 1, ""}}, kCueEpisodeSteps);
  }

 protected:
  void DoReset(sim::Rng& rng) override {
    rng_ = rng;
    cue_ = static_cast<int>(rng_.below(2));
  }
  bool DoStep(std::span<const std::int32_t> action, envs::RewardComponents& reward) override {
    const bool right = action[0] == cue_;
    advance(reward);
    if (right) reward.diagnosis += 1;
    cue_ = static_cast<int>(rng_.below(2));
    return !right;
  }
  void WriteMasks(std::uint8_t* mask) override { mask[0] = mask[1] = 1; }
  void WriteTaskFeatures(float* global_row) override { global_row[kCueColumn] = cue_ ? 1.0f : -1.0f; }

 private:
  sim::Rng rng_;
  int cue_ = 0;
};

}  // namespace
}  // namespace opsrl::train::test

OPSRL_REGISTER_TASK(cue, [](opsrl::envs::EnvConfigPtr c) { return std::make_unique<opsrl::train::test::CueTask>(std::move(c)); });
