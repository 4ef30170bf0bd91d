#pragma once
// A trained actor-critic behind agents::Policy, so that evaluation (agents::evaluate, `opsrl
// eval`) runs it exactly like a baseline. Acts greedily by default (argmax of every head), which
// makes the rows a pure function of the observation, as Policy::act's contract asks.
#include <memory>
#include <string>

#include <opsrl/agents/policy.hpp>
#include <opsrl/train/actor_critic.hpp>

namespace opsrl::train {

class LearnedPolicy final : public agents::Policy {
 public:
  LearnedPolicy(std::shared_ptr<ActorCritic> policy, std::string name, torch::Device device = torch::kCPU);

  std::string_view name() const override { return name_; }
  std::string unsupported_reason(envs::TaskId task) const override;
  void begin_episode(const envs::VecEnv& vec, int env) override;
  void act(const envs::VecEnv& vec, std::span<std::int32_t> actions) override;

 private:
  std::shared_ptr<ActorCritic> policy_;
  std::string name_;
  torch::Device device_;
  ObsTensors scratch_;
};

}  // namespace opsrl::train
