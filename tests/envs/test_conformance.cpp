// The conformance suite, run on every registered task: random play within the masks, returns,
// determinism, the API's error cases.
#include <cmath>
#include <stdexcept>

#include <doctest/doctest.h>

#include "helpers.hpp"

using namespace opsrl::envs;
using namespace opsrl::envs::test;
using opsrl::sim::kMinute;

TEST_CASE("both tasks are registered") {
  const auto names = registered_tasks();
  CHECK(std::find(names.begin(), names.end(), "incident") != names.end());
  CHECK(std::find(names.begin(), names.end(), "autoscale") != names.end());
  CHECK_THROWS_WITH_AS(make_env("incidnet", make_config()), doctest::Contains("registered tasks: autoscale, incident"),
                       std::invalid_argument);
}

TEST_CASE("conformance: random play within the masks") {
  for (const std::string& task : registered_tasks()) {
    CAPTURE(task);
    Harness h(task, short_config());
    const EnvSpec& spec = h.env->spec();
    CHECK(spec.task == task);
    CHECK(spec.reward_components.size() == kRewardComponentNames.size());
    int episodes = 0, steps = 0, refused = 0;
    for (std::uint64_t seed = 1; seed <= 4; ++seed) {
      h.reset(seed);
      double sum = 0;
      for (;;) {
        const StepResult r = h.step_random(0.5);
        ++steps;
        const Info& info = h.env->info();
        // Random play within the masks is never penalised as invalid.
        REQUIRE_MESSAGE(info.action.invalid == 0, info.action.reason);
        refused += info.action.refused;
        CHECK(r.reward == doctest::Approx(info.reward.total()).epsilon(1e-12));
        sum += r.reward;
        CHECK(info.episode.return_ == doctest::Approx(sum).epsilon(1e-9));
        CHECK(info.episode.steps <= spec.max_episode_steps);
        CHECK(!(r.terminated && r.truncated));
        // Observation invariants.
        const ObservationView v = h.view();
        CHECK(*v.task_id == static_cast<int>(spec.task_id));
        for (int t = 0; t < spec.max_tokens * spec.feature_width; ++t) REQUIRE(std::isfinite(v.features[t]));
        if (r.done()) {
          if (r.truncated) CHECK(info.episode.steps == spec.max_episode_steps);
          CHECK(h.env->episode_over());
          break;
        }
      }
      // The episode's return is the sum of its rewards, and of its reward terms.
      const EpisodeStats& ep = h.env->info().episode;
      CHECK(ep.return_ == doctest::Approx(sum).epsilon(1e-9));
      CHECK(ep.return_components.total() == doctest::Approx(sum).epsilon(1e-9));
      ++episodes;
    }
    CHECK(episodes == 4);
    // Refusals need the state to change after the mask was computed: rare.
    CHECK(refused <= steps / 50);
  }
}

TEST_CASE("conformance: the same seed gives the same episode, another seed another") {
  for (const std::string& task : registered_tasks()) {
    CAPTURE(task);
    auto run = [&](std::uint64_t seed) {
      Harness h(task, short_config(), /*policy_seed=*/seed);
      h.reset(seed);
      std::uint64_t hash = hash_view(kFnvSeed, h.view());
      for (int i = 0; i < 40 && !h.env->episode_over(); ++i) {
        const StepResult r = h.step_random(0.5);
        hash = hash_view(hash, h.view());
        hash = hash_bytes(hash, &r.reward, sizeof r.reward);
      }
      return hash;
    };
    const auto a = run(11);
    CHECK(a == run(11));
    CHECK(a != run(12));
  }
}

TEST_CASE("conformance: reset reuses the env and a later episode equals a fresh env's") {
  for (const std::string& task : registered_tasks()) {
    CAPTURE(task);
    auto play = [](Harness& h, std::uint64_t seed) {
      h.reset(seed);
      std::uint64_t hash = hash_view(kFnvSeed, h.view());
      for (int i = 0; i < 20; ++i) {
        h.noop();
        hash = hash_view(hash, h.view());
      }
      return hash;
    };
    Harness used(task, short_config());
    play(used, 5);
    play(used, 6);
    Harness fresh(task, short_config());
    CHECK(play(used, 7) == play(fresh, 7));
  }
}

TEST_CASE("conformance: API errors are explicit") {
  for (const std::string& task : registered_tasks()) {
    CAPTURE(task);
    Harness h(task, short_config());
    CHECK_THROWS_WITH_AS(h.step(), doctest::Contains("before reset()"), std::logic_error);
    h.reset(1);
    std::vector<std::int32_t> short_row(1, 0);
    if (h.env->spec().action_width > 1)
      CHECK_THROWS_AS(h.env->step(short_row, h.view()), std::invalid_argument);
    ObservationBatch wrong(1, h.env->spec().max_tokens + 1, h.env->spec().feature_width, h.env->spec().mask_width);
    CHECK_THROWS_WITH_AS(h.env->step(h.action, wrong.view(0)), doctest::Contains("max_tokens"), std::invalid_argument);
    while (!h.env->episode_over()) h.noop();
    CHECK_THROWS_WITH_AS(h.step(), doctest::Contains("after the episode ended"), std::logic_error);
  }
}

TEST_CASE("config errors name the field and the value") {
  EnvConfig c;
  c.history = 0;
  CHECK_THROWS_WITH_AS(make_config(c), doctest::Contains("history"), std::invalid_argument);
  c = {};
  c.incident.max_faults = 9;
  CHECK_THROWS_WITH_AS(make_config(c), doctest::Contains("max = 9"), std::invalid_argument);
  c = {};
  c.max_tokens = 3;
  CHECK_THROWS_WITH_AS(make_env("incident", make_config(c)), doctest::Contains("got 3"), std::invalid_argument);
  CHECK_THROWS_AS(IncidentOptions::difficulty("nightmare"), std::invalid_argument);
  CHECK(IncidentOptions::difficulty("hard").max_faults == 2);
}

TEST_CASE("spec describes the arrays and heads") {
  auto env = make_env("incident", make_config());
  const EnvSpec& s = env->spec();
  CHECK(s.num_real_tokens() == 1 + 8 + 8 + s.num_replica_slots);
  CHECK(s.max_tokens == s.num_real_tokens());
  CHECK(s.feature_width == 48);
  CHECK(s.history == 4);
  CHECK(s.step_interval == 15 * opsrl::sim::kSecond);
  CHECK(s.max_episode_steps == 160);  // 40 min
  CHECK(s.head("verb").choices == opsrl::sim::kNumVerbs);
  CHECK(s.head("target").depends_on == "verb");
  CHECK_THROWS_WITH_AS(s.head("nope"), doctest::Contains("verb, target, diag_type, diag_target"), std::out_of_range);
  const auto arrays = s.observation_arrays();
  REQUIRE(arrays.size() == 6);
  CHECK(arrays[0].shape == std::vector<int>{s.max_tokens, s.feature_width});
  CHECK(arrays[5].shape == std::vector<int>{s.mask_width});
  auto as = make_env("autoscale", make_config());
  CHECK(as->spec().action_width == 2 * as->spec().max_tokens);
  CHECK(as->spec().max_episode_steps == 480);  // 2 h
}
