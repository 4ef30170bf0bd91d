// VecEnv: equals the same envs stepped one by one, and the same for any thread count.
#include <doctest/doctest.h>

#include <opsrl/envs/vec_env.hpp>

#include "helpers.hpp"

using namespace opsrl::envs;
using namespace opsrl::envs::test;
namespace sim = opsrl::sim;

namespace {

// Per-env action streams that depend only on the env index and the step.
void sample_batch(const VecEnv& vec, std::vector<sim::Rng>& rngs, std::vector<std::int32_t>& actions) {
  const auto A = static_cast<std::size_t>(vec.action_width());
  const auto M = static_cast<std::size_t>(vec.mask_width());
  for (int i = 0; i < vec.size(); ++i)
    sample_action(vec.spec(i), vec.observations().action_mask().data() + i * M, rngs[i],
                  std::span(actions).subspan(i * A, A), 0.5);
}

std::vector<sim::Rng> policy_rngs(int n) {
  std::vector<sim::Rng> r;
  for (int i = 0; i < n; ++i) r.emplace_back(1234, sim::Stream::kScenarioGen, 500 + i);
  return r;
}

std::uint64_t hash_batch(std::uint64_t h, const VecEnv& v) {
  const ObservationBatch& o = v.observations();
  h = hash_bytes(h, o.features().data(), o.features().size_bytes());
  h = hash_bytes(h, o.action_mask().data(), o.action_mask().size_bytes());
  h = hash_bytes(h, o.links().data(), o.links().size_bytes());
  h = hash_bytes(h, v.rewards().data(), v.rewards().size_bytes());
  h = hash_bytes(h, v.terminated().data(), v.terminated().size_bytes());
  return hash_bytes(h, v.truncated().data(), v.truncated().size_bytes());
}

VecEnvOptions mixed(int threads) {
  VecEnvOptions o;
  o.tasks = {{"incident", 4}, {"autoscale", 2}};
  o.config = short_config(3 * sim::kMinute, 4 * sim::kMinute);
  o.seed = 77;
  o.num_threads = threads;
  return o;
}

}  // namespace

TEST_CASE("vectorized equals sequential, across automatic resets") {
  VecEnv vec(mixed(2));
  const int N = vec.size();
  REQUIRE(N == 6);
  vec.reset();
  // The same envs one by one, reset with the seeds the VecEnv documents.
  std::vector<std::unique_ptr<Env>> envs;
  std::vector<ObservationBatch> obs;
  std::vector<std::int64_t> episode(N, 0);
  for (int i = 0; i < N; ++i) {
    envs.push_back(make_env(vec.spec(i).task, short_config(3 * sim::kMinute, 4 * sim::kMinute)));
    obs.push_back(ObservationBatch(1, vec.max_tokens(), vec.feature_width(), vec.mask_width()));
    envs[i]->reset(vec.episode_seed(i, 0), obs[i].view(0));
  }
  CHECK(vec.episode_seed(3, 0) == 80);
  CHECK(vec.episode_seed(3, 2) == 92);
  auto rngs = policy_rngs(N);
  std::vector<std::int32_t> actions(static_cast<std::size_t>(N * vec.action_width()));
  ObservationBatch vec_obs_copy(1, vec.max_tokens(), vec.feature_width(), vec.mask_width());
  int resets = 0;
  const auto A = static_cast<std::size_t>(vec.action_width());
  for (int step = 0; step < 60; ++step) {
    for (int i = 0; i < N; ++i)
      REQUIRE(hash_view(kFnvSeed, const_cast<ObservationBatch&>(vec.observations()).view(i)) ==
              hash_view(kFnvSeed, obs[i].view(0)));
    sample_batch(vec, rngs, actions);
    vec.step(actions);
    for (int i = 0; i < N; ++i) {
      const StepResult r = envs[i]->step(std::span(actions).subspan(i * A, A), obs[i].view(0));
      CHECK(vec.rewards()[i] == static_cast<float>(r.reward));
      CHECK(vec.terminated()[i] == r.terminated);
      CHECK(vec.truncated()[i] == r.truncated);
      if (!r.done()) continue;
      ++resets;
      CHECK(hash_view(kFnvSeed, const_cast<ObservationBatch&>(vec.final_observations()).view(i)) ==
            hash_view(kFnvSeed, obs[i].view(0)));
      CHECK(vec.final_info(i).episode.return_ == envs[i]->info().episode.return_);
      CHECK(vec.final_info(i).episode.steps == envs[i]->info().episode.steps);
      envs[i]->reset(vec.episode_seed(i, ++episode[i]), obs[i].view(0));
      CHECK(vec.episode(i) == episode[i]);
      CHECK(vec.info(i).episode.steps == 0);
    }
  }
  CHECK(resets >= N);
}

TEST_CASE("thread count does not change a single bit") {
  auto run = [](int threads) {
    VecEnv vec(mixed(threads));
    vec.reset();
    auto rngs = policy_rngs(vec.size());
    std::vector<std::int32_t> actions(static_cast<std::size_t>(vec.size() * vec.action_width()));
    std::uint64_t h = hash_batch(kFnvSeed, vec);
    for (int step = 0; step < 40; ++step) {
      sample_batch(vec, rngs, actions);
      vec.step(actions);
      h = hash_batch(h, vec);
    }
    return h;
  };
  CHECK(run(1) == run(2));
}

TEST_CASE("VecEnv errors name the values") {
  VecEnvOptions o;
  CHECK_THROWS_WITH_AS(VecEnv{o}, doctest::Contains("tasks is empty"), std::invalid_argument);
  o.tasks = {{"incident", 0}};
  CHECK_THROWS_WITH_AS(VecEnv{o}, doctest::Contains("got 0"), std::invalid_argument);
  o.tasks = {{"incident", 2}};
  VecEnv vec(o);
  std::vector<std::int32_t> actions(3);
  CHECK_THROWS_AS(vec.step(actions), std::logic_error);
  vec.reset();
  CHECK_THROWS_WITH_AS(vec.step(actions), doctest::Contains("got 3"), std::invalid_argument);
  CHECK(vec.num_threads() >= 1);
}

TEST_CASE("without auto-reset an ended env waits until reset_done starts its next episode") {
  VecEnvOptions o = mixed(1);
  o.auto_reset = false;
  o.tasks = {{"autoscale", 2}};
  VecEnv vec(o);
  vec.reset();
  std::vector<std::int32_t> actions(static_cast<std::size_t>(vec.size() * vec.action_width()), 0);
  const int steps = vec.spec(0).max_episode_steps;
  for (int s = 0; s < steps; ++s) vec.step(actions);
  CHECK(vec.truncated()[0] == 1);
  CHECK(vec.env(0).episode_over());
  vec.step(actions);  // nothing happens to ended envs
  CHECK(vec.rewards()[0] == 0.0f);
  CHECK(vec.env(0).info().episode.steps == steps);
  vec.reset_done();
  CHECK(vec.episode(0) == 1);
  CHECK_FALSE(vec.env(0).episode_over());
}

TEST_CASE("VecEnv with record_actions steps like one without and restores mid-episode") {
  EnvConfig ec;
  ec.incident.time_limit = 5 * sim::kMinute;
  ec.incident.onset_max = 2 * sim::kMinute;
  ec.autoscale.episode_length = 6 * sim::kMinute;
  VecEnvOptions o;
  o.tasks = {{"incident", 3}, {"autoscale", 2}};
  o.config = make_config(ec);
  o.seed = 77;
  o.num_threads = 2;
  VecEnv reference(o);
  o.record_actions = true;
  VecEnv vec(o);
  reference.reset();
  vec.reset();
  const int N = vec.size(), A = vec.action_width(), M = vec.mask_width();
  sim::Rng rng(5, sim::Stream::kTraffic);
  std::vector<std::int32_t> actions(static_cast<std::size_t>(N) * A);
  auto random_actions = [&](const ObservationBatch& obs) {
    std::fill(actions.begin(), actions.end(), 0);
    for (int i = 0; i < N; ++i)
      sample_action(vec.spec(i), obs.action_mask().data() + static_cast<std::size_t>(i) * M, rng,
                          std::span<std::int32_t>(actions).subspan(static_cast<std::size_t>(i) * A, vec.spec(i).action_width),
                          0.7);
  };
  auto same = [](const ObservationBatch& a, const ObservationBatch& b) {
    return std::equal(a.features().begin(), a.features().end(), b.features().begin()) &&
           std::equal(a.action_mask().begin(), a.action_mask().end(), b.action_mask().begin());
  };
  int ended = 0;
  for (int t = 0; t < 40; ++t) {
    random_actions(vec.observations());
    reference.step(actions);
    vec.step(actions);
    REQUIRE(same(reference.observations(), vec.observations()));
    for (int i = 0; i < N; ++i) {
      REQUIRE(reference.rewards()[i] == vec.rewards()[i]);
      REQUIRE(reference.terminated()[i] == vec.terminated()[i]);
      REQUIRE(reference.truncated()[i] == vec.truncated()[i]);
      ended += vec.terminated()[i] || vec.truncated()[i];
    }
    REQUIRE(same(reference.final_observations(), vec.final_observations()));
  }
  CHECK(ended >= N);  // every env went through at least one reset
  CHECK_THROWS_AS(reference.state(), std::logic_error);  // without record_actions
  const VecEnvState state = vec.state();
  VecEnv restored(o);
  restored.restore(state);
  CHECK(same(restored.observations(), vec.observations()));
  for (int t = 0; t < 30; ++t) {
    random_actions(vec.observations());
    vec.step(actions);
    restored.step(actions);
    REQUIRE(same(restored.observations(), vec.observations()));
    for (int i = 0; i < N; ++i) REQUIRE(restored.rewards()[i] == vec.rewards()[i]);
  }
  VecEnvState broken = state;
  broken.actions[0].push_back(1);
  CHECK_THROWS_AS(restored.restore(broken), std::invalid_argument);
}
