#pragma once
// A minimal env and policy pair for the trainer's tests: the "cue" task shows a random bit in
// the global token's features each step; answering it right earns 1, a wrong answer ends the
// episode (terminated), and episodes are truncated after 8 steps. A tiny MLP actor-critic reads
// the global token. The PPO loop under test is the real one (Trainer), only smaller. Also:
// same_parameters, for checkpoint and resume tests.
#include <memory>
#include <span>

#include <torch/torch.h>

#include <opsrl/envs/env.hpp>
#include <opsrl/train/actor_critic.hpp>
#include <opsrl/train/config.hpp>
#include <opsrl/train/trainer.hpp>

namespace opsrl::train::test {

// Every parameter and buffer of two modules is equal (same names, bit-identical values).
inline bool same_parameters(torch::nn::Module& a, torch::nn::Module& b) {
  const auto pa = a.named_parameters(), pb = b.named_parameters();
  if (pa.size() != pb.size()) return false;
  for (const auto& item : pa)
    if (!torch::equal(item.value(), pb[item.key()])) return false;
  const auto ba = a.named_buffers(), bb = b.named_buffers();
  for (const auto& item : ba)
    if (!torch::equal(item.value(), bb[item.key()])) return false;
  return true;
}

inline constexpr int kCueColumn = 20;  // a task-feature column of the global token
inline constexpr int kCueEpisodeSteps = 8;

struct TinyNetImpl : torch::nn::Module {
  explicit TinyNetImpl(int feature_width) {
    l1 = register_module("l1", torch::nn::Linear(feature_width, 32));
    pi = register_module("pi", torch::nn::Linear(32, 2));
    v = register_module("v", torch::nn::Linear(32, 1));
    seen = register_buffer("seen", torch::zeros({1}, torch::kFloat64));
  }
  torch::nn::Linear l1{nullptr}, pi{nullptr}, v{nullptr};
  torch::Tensor seen;  // observations folded into the "normaliser" (a buffer, checkpointed)
};
TORCH_MODULE(TinyNet);

class TinyActorCritic final : public ActorCritic {
 public:
  explicit TinyActorCritic(int feature_width) : net_(feature_width) {}

  torch::nn::Module& module() override { return *net_; }

  ActOutput act(const ObsTensors& obs, bool greedy, torch::Generator generator) override {
    torch::NoGradGuard no_grad;
    const auto [logits, value] = forward(obs);
    const auto a = greedy ? logits.argmax(-1) : torch::multinomial(torch::softmax(logits, -1), 1, false, generator).squeeze(1);
    ActOutput out;
    out.actions = a.to(torch::kInt32).unsqueeze(1);
    out.log_prob = torch::log_softmax(logits, -1).gather(1, a.unsqueeze(1)).squeeze(1);
    out.value = value;
    return out;
  }
  EvaluateOutput evaluate(const ObsTensors& obs, const torch::Tensor& actions, const torch::Tensor&,
                          const torch::Tensor&) override {
    const auto [logits, value] = forward(obs);
    const auto logp = torch::log_softmax(logits, -1);
    EvaluateOutput out;
    out.log_prob = logp.gather(1, actions.narrow(1, 0, 1).to(torch::kInt64)).squeeze(1);
    out.entropy = -(logp.exp() * logp).sum(-1);
    out.value = value;
    return out;
  }
  torch::Tensor value(const ObsTensors& obs) override { return forward(obs).second; }
  void update_normalizer(const ObsTensors& obs) override { net_->seen.add_(static_cast<double>(obs.batch())); }
  std::string kind() const override { return "tiny"; }
  std::string options_toml() const override { return ""; }

  TinyNet& net() { return net_; }

 private:
  std::pair<torch::Tensor, torch::Tensor> forward(const ObsTensors& obs) {
    const auto h = torch::tanh(net_->l1(obs.features.select(1, 0)));
    const auto mask = obs.action_mask.narrow(1, 0, 2);
    const auto logits = net_->pi(h).masked_fill(mask.logical_not(), -1e9);
    return {logits, net_->v(h).squeeze(-1)};
  }
  TinyNet net_;
};

// Config for cue training: N envs of the "cue" task (counted as incident envs), small scenario.
inline TrainConfig cue_config(int envs = 8, int steps = 32) {
  TrainConfig c;
  c.run.seed = 3;
  c.run.threads = 1;
  c.env.threads = 1;
  c.env.scenario = "small";
  c.env.incident_envs = envs;
  c.env.autoscale_envs = 0;
  c.ppo.num_steps = steps;
  c.ppo.num_minibatches = 4;
  c.ppo.update_epochs = 4;
  c.ppo.learning_rate = 3e-3;
  c.ppo.gamma = 0.9;
  c.ppo.target_kl = 0;
  c.aux.diagnosis_weight = 0;
  c.teacher = {"", ""};  // no baseline knows the cue task
  c.log.progress = "off";
  c.eval.every = 0;  // the cue task is not an opsrl task that agents::evaluate runs
  c.run.total_steps = 40 * envs * steps;
  return c;
}

inline TrainerOptions cue_options(const TrainConfig& c) {
  envs::EnvConfig e = *make_env_config(c);
  e.reward.slo_per_minute = 0;  // only the task's own reward
  e.reward.cost_per_usd = 0;
  TrainerOptions o;
  o.tasks = {{"cue", c.num_envs()}};
  o.env_config = envs::make_config(e);
  o.make_policy = [](int feature_width, int) { return std::make_shared<TinyActorCritic>(feature_width); };
  return o;
}

}  // namespace opsrl::train::test
