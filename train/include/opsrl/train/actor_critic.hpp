#pragma once
// What the PPO loop trains: an actor-critic over entity-token observations. The transformer
// policy of agents/ is one (make_transformer_actor_critic); tests plug in tiny ones, so that
// the loop that learns in a test is the loop that trains the transformer.
//
// Contract (the same as agents::TransformerPolicyImpl's methods):
//   act       samples (greedy: argmax) an action row per observation, with its log-probability
//             and value; allowed values only; draws from `generator` when it is defined.
//   evaluate  log-probability, entropy and value of given rows; for the auxiliary loss also the
//             incident diagnosis-type logits (B,D) and the pointer logits (B,T) of the row of
//             `aux_type` (B) int64 (undefined: the taken type). Both may be undefined for a
//             policy without a diagnosis head (then aux.diagnosis_weight must be 0). With
//             `teacher_actions` (B,A) defined, also their log-probability (teacher_log_prob),
//             for the kickstarting loss (undefined: a policy that cannot be taught).
//   value     V(s) (B).
//   update_normalizer  folds the valid tokens' features into the running statistics.
#include <memory>
#include <string>

#include <torch/torch.h>

#include <opsrl/agents/transformer_policy.hpp>

namespace opsrl::train {

using agents::ActOutput;
using agents::EvaluateOutput;
using agents::ObsTensors;

class ActorCritic {
 public:
  virtual ~ActorCritic() = default;
  // The module whose parameters are optimised and whose parameters and buffers are saved.
  virtual torch::nn::Module& module() = 0;
  virtual ActOutput act(const ObsTensors& obs, bool greedy, torch::Generator generator) = 0;
  virtual EvaluateOutput evaluate(const ObsTensors& obs, const torch::Tensor& actions, const torch::Tensor& aux_type,
                                  const torch::Tensor& teacher_actions) = 0;
  virtual torch::Tensor value(const ObsTensors& obs) = 0;
  virtual void update_normalizer(const ObsTensors& obs) = 0;
  // What rebuilds it from a checkpoint: a kind ("transformer") and its options as TOML.
  virtual std::string kind() const = 0;
  virtual std::string options_toml() const = 0;
};

// The transformer of agents/ behind this interface (agents/src/transformer_policy.cpp).
std::shared_ptr<ActorCritic> make_transformer_actor_critic(const agents::TransformerPolicyOptions& options);
// Rebuilds an actor-critic from checkpoint metadata (kind, options TOML); throws
// std::invalid_argument for an unknown kind or bad options.
std::shared_ptr<ActorCritic> make_actor_critic(const std::string& kind, const std::string& options_toml);
// Options as TOML and back (every TransformerPolicyOptions field).
std::string transformer_options_toml(const agents::TransformerPolicyOptions& options);
agents::TransformerPolicyOptions parse_transformer_options(const std::string& toml_text);

}  // namespace opsrl::train
