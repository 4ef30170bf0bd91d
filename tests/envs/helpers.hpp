#pragma once
// Shared pieces of the envs tests: configs that make episodes short, observation hashing and
// a driver that plays random masked actions.
#include <cstdint>
#include <cstring>
#include <vector>

#include <opsrl/envs/action_sampler.hpp>
#include <opsrl/envs/env.hpp>

namespace opsrl::envs::test {

// FNV-1a.
inline std::uint64_t hash_bytes(std::uint64_t h, const void* data, std::size_t n) {
  const auto* p = static_cast<const unsigned char*>(data);
  for (std::size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 0x100000001B3ULL;
  return h;
}
inline constexpr std::uint64_t kFnvSeed = 0xCBF29CE484222325ULL;

inline std::uint64_t hash_view(std::uint64_t h, const ObservationView& v) {
  const auto T = static_cast<std::size_t>(v.max_tokens);
  h = hash_bytes(h, v.features, sizeof(float) * T * static_cast<std::size_t>(v.feature_width));
  h = hash_bytes(h, v.token_type, sizeof(std::int32_t) * T);
  h = hash_bytes(h, v.valid, T);
  h = hash_bytes(h, v.links, sizeof(std::int32_t) * T * 2);
  h = hash_bytes(h, v.task_id, sizeof(std::int32_t));
  return hash_bytes(h, v.action_mask, static_cast<std::size_t>(v.mask_width));
}

// Short episodes so that tests see several resets.
inline EnvConfigPtr short_config(sim::SimTime incident_limit = 8 * sim::kMinute,
                                 sim::SimTime autoscale_length = 10 * sim::kMinute) {
  EnvConfig c;
  c.incident.time_limit = incident_limit;
  c.incident.onset_max = std::min<sim::SimTime>(c.incident.onset_max, incident_limit / 2);
  c.autoscale.episode_length = autoscale_length;
  return make_config(c);
}

// A single env with its own one-slot batch.
struct Harness {
  std::unique_ptr<Env> env;
  ObservationBatch obs;
  std::vector<std::int32_t> action;
  sim::Rng rng;

  Harness(std::string_view task, EnvConfigPtr config, std::uint64_t policy_seed = 1)
      : env(make_env(task, std::move(config))),
        obs(ObservationBatch::for_spec(env->spec())),
        action(static_cast<std::size_t>(env->spec().action_width), 0),
        rng(policy_seed, sim::Stream::kScenarioGen, 99) {}

  ObservationView view() { return obs.view(0); }
  void reset(std::uint64_t seed) { env->reset(seed, view()); }
  StepResult step() { return env->step(action, view()); }
  StepResult step_random(double p_default = 0.5) {
    sample_action(env->spec(), view().action_mask, rng, action, p_default);
    return step();
  }
  StepResult noop() {
    std::fill(action.begin(), action.end(), 0);
    return step();
  }
  const float* token_row(int token) { return view().features + static_cast<std::ptrdiff_t>(token) * env->spec().feature_width; }
};

}  // namespace opsrl::envs::test
