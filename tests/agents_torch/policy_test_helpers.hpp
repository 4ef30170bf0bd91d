#pragma once
// Shared by the transformer policy tests: real observations from VecEnvs, a brute-force reading
// of action rows against their masks.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <doctest/doctest.h>
#include <torch/torch.h>

#include <opsrl/agents/transformer_policy.hpp>
#include <opsrl/envs/actions.hpp>
#include <opsrl/envs/vec_env.hpp>

namespace opsrl::agents::test {

// A config over a built-in scenario, with replica moves on so that every head has choices.
inline envs::EnvConfigPtr config_for(const std::string& scenario, int max_tokens = 0) {
  envs::EnvConfig c;
  c.scenario = sim::load_scenario(scenario);
  c.max_tokens = max_tokens;
  c.autoscale.placement = true;
  return envs::make_config(c);
}

inline std::unique_ptr<envs::VecEnv> mixed_vec(const std::string& scenario, int incident, int autoscale,
                                               std::uint64_t seed = 5, int max_tokens = 0) {
  envs::VecEnvOptions o;
  if (incident > 0) o.tasks.push_back({"incident", incident});
  if (autoscale > 0) o.tasks.push_back({"autoscale", autoscale});
  o.config = config_for(scenario, max_tokens);
  o.seed = seed;
  o.num_threads = 1;
  auto vec = std::make_unique<envs::VecEnv>(o);
  vec->reset();
  return vec;
}

inline ObsTensors observe(const envs::VecEnv& vec) {
  return to_tensors(vec.observations(), torch::kCPU, vec.action_width());
}

inline TransformerPolicy make_policy(const envs::VecEnv& vec, int seed = 0) {
  torch::manual_seed(seed);
  return TransformerPolicy(TransformerPolicyOptions().feature_width(vec.feature_width()));
}

// The action row of env i as std::vector.
inline std::vector<std::int32_t> row_of(const torch::Tensor& actions, int i) {
  const torch::Tensor r = actions[i].to(torch::kInt32).contiguous();
  return {r.data_ptr<std::int32_t>(), r.data_ptr<std::int32_t>() + r.numel()};
}

// Whether `value` is allowed by the `choices` mask bytes at `m`: an allowed choice, or 0 when
// the row allows nothing.
inline bool allowed(const std::uint8_t* m, int choices, int value) {
  bool any = false;
  for (int k = 0; k < choices; ++k) any = any || m[k];
  if (!any) return value == 0;
  return value >= 0 && value < choices && m[value] != 0;
}

// Checks every head of an action row against the env's mask row (brute force, from the layouts).
inline void check_row_allowed(const envs::VecEnv& vec, int i, const std::vector<std::int32_t>& row) {
  const int T = vec.max_tokens();
  const std::uint8_t* mask = vec.observations().action_mask().data() + static_cast<std::size_t>(i) * vec.mask_width();
  const int own_width = vec.spec(i).action_width;
  INFO("env " << i << " task " << vec.spec(i).task);
  if (vec.spec(i).task_id == envs::TaskId::kIncident) {
    namespace inc = envs::incident;
    const inc::MaskLayout l{T};
    CHECK(allowed(mask + l.verb(), inc::kNumVerbs, row[inc::kVerb]));
    CHECK(allowed(mask + l.target(row[inc::kVerb]), T, row[inc::kTarget]));
    CHECK(allowed(mask + l.diag_type(), inc::kNumDiagTypes, row[inc::kDiagType]));
    CHECK(allowed(mask + l.diag_target(row[inc::kDiagType]), T, row[inc::kDiagTarget]));
  } else {
    namespace as = envs::autoscale;
    const as::MaskLayout l{T};
    const as::Columns c{T};
    for (int t = 0; t < T; ++t) {
      CHECK(allowed(mask + l.delta(t), as::kNumDeltas, row[c.delta(t)]));
      CHECK(allowed(mask + l.move(t), as::kNumMoves, row[c.move(t)]));
    }
  }
  for (std::size_t k = own_width; k < row.size(); ++k) CHECK(row[k] == 0);
}

inline double max_abs_diff(const torch::Tensor& a, const torch::Tensor& b) {
  return (a.to(torch::kFloat64) - b.to(torch::kFloat64)).abs().max().item<double>();
}

}  // namespace opsrl::agents::test
