// `random`: masked uniform actions (envs::sample_action), one stream per episode seeded from
// (PolicyOptions::seed, the episode's seed), so an episode's actions never depend on which env
// slot or thread ran it.
#include <opsrl/envs/action_sampler.hpp>
#include <opsrl/agents/baselines.hpp>
#include <opsrl/agents/per_env_policy.hpp>

namespace opsrl::agents {
namespace {

// Distinct from every stream the simulator derives from the episode seed: the seed is mixed
// first, so (mixed seed, kActions) never equals the cluster's (episode seed, kActions).
sim::Rng episode_stream(std::uint64_t policy_seed, std::uint64_t episode_seed) {
  std::uint64_t x = episode_seed ^ 0x5eed'0f'9011c1e5ULL;
  const std::uint64_t mixed = sim::splitmix64(x);
  return sim::Rng(mixed, sim::Stream::kActions, policy_seed);
}

struct RandomState {
  sim::Rng rng;
};

class RandomPolicy final : public PerEnvPolicy<RandomState> {
 public:
  RandomPolicy(const PolicyOptions& options, RandomOptions random) : seed_(options.seed), random_(random) {}

  std::string_view name() const override { return "random"; }
  std::string unsupported_reason(envs::TaskId) const override { return {}; }

 protected:
  void start(const envs::VecEnv& vec, int env, RandomState& s) override {
    s.rng = episode_stream(seed_, vec.env(env).episode_seed());
  }
  void decide(const envs::VecEnv& vec, int env, RandomState& s, std::span<std::int32_t> row) override {
    envs::sample_action(vec.spec(env), mask(vec, env), s.rng, row, random_.p_default);
  }

 private:
  std::uint64_t seed_;
  RandomOptions random_;
};

}  // namespace

std::unique_ptr<Policy> make_random_policy(const PolicyOptions& options, RandomOptions random) {
  return std::make_unique<RandomPolicy>(options, random);
}

}  // namespace opsrl::agents

OPSRL_REGISTER_POLICY(random, "masked uniform random actions over every action head",
                      [](const opsrl::agents::PolicyOptions& o) { return opsrl::agents::make_random_policy(o); });
