// The transformer policy of agents/ behind the ActorCritic interface, and its options as TOML
// for checkpoints.
#include <opsrl/train/actor_critic.hpp>

#include <stdexcept>

#include <fmt/format.h>
#include <toml++/toml.h>

namespace opsrl::train {

namespace {

#ifdef OPSRL_TRAIN_HAVE_TRANSFORMER
class TransformerActorCritic final : public ActorCritic {
 public:
  explicit TransformerActorCritic(const agents::TransformerPolicyOptions& options) : policy_(options) {}

  torch::nn::Module& module() override { return *policy_; }
  ActOutput act(const ObsTensors& obs, bool greedy, torch::Generator generator) override {
    return policy_->act(obs, greedy, std::move(generator));
  }
  EvaluateOutput evaluate(const ObsTensors& obs, const torch::Tensor& actions, const torch::Tensor& aux_type,
                          const torch::Tensor& teacher_actions) override {
    return policy_->evaluate(obs, actions, aux_type, teacher_actions);
  }
  torch::Tensor value(const ObsTensors& obs) override { return policy_->value(obs); }
  void update_normalizer(const ObsTensors& obs) override { policy_->update_normalizer(obs); }
  std::string kind() const override { return "transformer"; }
  std::string options_toml() const override { return transformer_options_toml(policy_->options()); }

 private:
  agents::TransformerPolicy policy_;
};
#endif

}  // namespace

std::shared_ptr<ActorCritic> make_transformer_actor_critic(const agents::TransformerPolicyOptions& options) {
#ifdef OPSRL_TRAIN_HAVE_TRANSFORMER
  return std::make_shared<TransformerActorCritic>(options);
#else
  (void)options;
  throw std::runtime_error("this build has no transformer policy (agents/src/transformer_policy.cpp was not built)");
#endif
}

std::string transformer_options_toml(const agents::TransformerPolicyOptions& o) {
  return fmt::format(
      "feature_width = {}\nd_model = {}\nlayers = {}\nheads = {}\nff = {}\npointer_dim = {}\nvalue_hidden = {}\n"
      "max_tokens = {}\nnorm_clip = {}\nnorm_epsilon = {}\n",
      o.feature_width(), o.d_model(), o.layers(), o.heads(), o.ff(), o.pointer_dim(), o.value_hidden(), o.max_tokens(),
      fmt::format("{:e}", o.norm_clip()), fmt::format("{:e}", o.norm_epsilon()));
}

agents::TransformerPolicyOptions parse_transformer_options(const std::string& text) {
  toml::table t;
  try {
    t = toml::parse(std::string_view(text), std::string_view("policy_options"));
  } catch (const toml::parse_error& e) {
    throw std::invalid_argument(fmt::format("policy options: {}", e.description()));
  }
  auto get = [&](const char* key) {
    const auto v = t[key].value<std::int64_t>();
    if (!v) throw std::invalid_argument(fmt::format("policy options: \"{}\" is missing or not an integer", key));
    return static_cast<int>(*v);
  };
  auto get_double = [&](const char* key) {
    const auto v = t[key].value<double>();
    if (!v) throw std::invalid_argument(fmt::format("policy options: \"{}\" is missing or not a number", key));
    return *v;
  };
  return agents::TransformerPolicyOptions()
      .feature_width(get("feature_width"))
      .d_model(get("d_model"))
      .layers(get("layers"))
      .heads(get("heads"))
      .ff(get("ff"))
      .pointer_dim(get("pointer_dim"))
      .value_hidden(get("value_hidden"))
      .max_tokens(get("max_tokens"))
      .norm_clip(get_double("norm_clip"))
      .norm_epsilon(get_double("norm_epsilon"));
}

std::shared_ptr<ActorCritic> make_actor_critic(const std::string& kind, const std::string& options_toml) {
  if (kind == "transformer") return make_transformer_actor_critic(parse_transformer_options(options_toml));
  throw std::invalid_argument(fmt::format("unknown policy kind \"{}\"; known: transformer", kind));
}

}  // namespace opsrl::train
