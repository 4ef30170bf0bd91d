// Recording through the VecEnv: episode k has seed S + k and its first observation is the env's
// reset observation for that seed; the file does not depend on the number of envs or threads;
// rewards, returns and flags agree; the checker accepts what the recorder writes.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstring>

#include <opsrl/datasets/check.hpp>
#include <opsrl/datasets/reader.hpp>
#include <opsrl/envs/actions.hpp>
#include <opsrl/envs/env.hpp>

#include "helpers.hpp"

using namespace opsrl;
using namespace opsrl::datasets;
using namespace opsrl::datasets::test;

TEST_CASE("dataset record: seeds, first observations, rewards and endings of every episode") {
  TempFile file("record.h5");
  const auto config = short_config();
  const Recording rec = record_file(file.str(), "oracle", "incident", 6, 40, config, /*num_envs=*/4);
  CHECK(rec.result.episodes == 6);
  const Reader r(file.path());
  REQUIRE(r.num_episodes() == 6);
  CHECK(r.header().total_steps == rec.result.steps);
  CHECK(r.header().policy == "oracle");
  auto env = envs::make_env("incident", config);
  envs::ObservationBatch obs = envs::ObservationBatch::for_spec(env->spec());
  std::int64_t steps = 0;
  for (int k = 0; k < 6; ++k) {
    CAPTURE(k);
    const Episode ep = r.read(k);
    steps += ep.steps();
    CHECK(ep.meta.seed == 40u + static_cast<unsigned>(k));
    CHECK(ep.meta.policy == "oracle");
    CHECK(ep.meta.scenario_hash == r.header().scenario_hash);
    // Row 0 is what the env writes on reset with that seed.
    env->reset(ep.meta.seed, obs.view(0));
    const std::size_t n = obs.features().size();
    CHECK(std::memcmp(ep.features.data(), obs.features().data(), n * sizeof(float)) == 0);
    CHECK(std::memcmp(ep.action_mask.data(), obs.action_mask().data(), obs.action_mask().size()) == 0);
    // The return is the rewards' sum in step order, each reward the sum of its components.
    double ret = 0;
    for (double x : ep.rewards) ret += x;
    CHECK(ret == ep.meta.return_);
    const auto C = static_cast<std::size_t>(ep.shape.reward_components);
    CHECK(C == r.spec().reward_components.size());
    for (std::size_t t = 0; t < ep.rewards.size(); ++t) {
      double s = 0;
      for (std::size_t c = 0; c < C; ++c) s += ep.reward_components[t * C + c];
      CHECK(s == doctest::Approx(ep.rewards[t]).epsilon(1e-12));
    }
    // Exactly the last step ends the episode.
    const auto T = static_cast<std::size_t>(ep.steps());
    for (std::size_t t = 0; t + 1 < T; ++t) CHECK((ep.terminations[t] | ep.truncations[t]) == 0);
    CHECK((ep.terminations[T - 1] | ep.truncations[T - 1]) == 1);
    CHECK(ep.meta.terminated == (ep.terminations[T - 1] == 1));
    CHECK(ep.time_s[0] == 0.0);
    CHECK(ep.time_s[T] == doctest::Approx(15.0 * static_cast<double>(T)));
    // The oracle diagnoses every fault episode, and the ground truth is in the file.
    if (!ep.faults.empty()) {
      CHECK(ep.meta.claimed);
      CHECK(ep.meta.root_correct);
      CHECK(ep.faults[0].onset_s > 0);
    }
  }
  CHECK(steps == r.header().total_steps);
  const CheckReport report = check_dataset(file.path());
  for (const Problem& p : report.problems) FAIL_CHECK(p.path << ": " << p.message);
  CHECK(report.episodes == 6);
  CHECK(report.steps == steps);
}

TEST_CASE("dataset record: the file's episodes do not depend on the number of envs or threads") {
  TempFile a("envs1.h5"), b("envs3.h5");
  const auto config = short_config();
  record_file(a.str(), "random", "incident", 5, 7, config, /*num_envs=*/1, /*threads=*/1);
  record_file(b.str(), "random", "incident", 5, 7, config, /*num_envs=*/3, /*threads=*/2);
  const Reader ra(a.path()), rb(b.path());
  REQUIRE(ra.num_episodes() == rb.num_episodes());
  for (int k = 0; k < ra.num_episodes(); ++k) {
    CAPTURE(k);
    CHECK(first_difference(ra.read(k), rb.read(k)) == "");
  }
}

TEST_CASE("dataset record: action noise drops the remediation on the steps its draw picks and keeps the policy's rows") {
  TempFile noisy("noise.h5"), other_envs("noise-envs1.h5"), clean("no-noise.h5");
  const auto config = short_config();
  const double p = 0.5;
  record_file(noisy.str(), "oracle", "incident", 12, 5, config, /*num_envs=*/4, 1, "small", p);
  record_file(other_envs.str(), "oracle", "incident", 12, 5, config, /*num_envs=*/1, 1, "small", p);
  record_file(clean.str(), "oracle", "incident", 12, 5, config, /*num_envs=*/4, 1, "small");
  const Reader r(noisy.path()), r1(other_envs.path()), r0(clean.path());
  CHECK(r.header().action_noise == p);
  CHECK(r0.header().action_noise == 0);
  const auto A = static_cast<std::size_t>(r.spec().action_width);
  int skipped_actions = 0, rows = 0, skipped_rows = 0;
  double noisy_recovery = 0, clean_recovery = 0;
  for (int k = 0; k < r.num_episodes(); ++k) {
    CAPTURE(k);
    const Episode ep = r.read(k);
    CHECK(first_difference(ep, r1.read(k)) == "");  // the draw does not depend on the envs
    CHECK(r0.read(k).intended_actions.empty());
    REQUIRE(ep.intended_actions.size() == ep.actions.size());
    for (int t = 0; t < ep.steps(); ++t) {
      const auto row = static_cast<std::size_t>(t) * A;
      using namespace envs::incident;
      const bool same = std::equal(ep.actions.begin() + row, ep.actions.begin() + row + A, ep.intended_actions.begin() + row);
      const bool intends = ep.intended_actions[row + kVerb] != 0;
      if (noise_skips(p, ep.meta.seed, t)) {
        // No remedy; the claim goes through.
        CHECK(ep.actions[row + kVerb] == 0);
        CHECK(ep.actions[row + kTarget] == 0);
        CHECK(ep.actions[row + kDiagType] == ep.intended_actions[row + kDiagType]);
        CHECK(ep.actions[row + kDiagTarget] == ep.intended_actions[row + kDiagTarget]);
        skipped_actions += intends;
        ++skipped_rows;
      } else {
        CHECK(same);
      }
      ++rows;
    }
    if (const Episode base = r0.read(k); ep.meta.resolved && base.meta.resolved) {
      noisy_recovery += ep.meta.time_to_recover_s;
      clean_recovery += base.meta.time_to_recover_s;
    }
  }
  CHECK(skipped_actions > 0);
  CHECK(skipped_rows == doctest::Approx(p * rows).epsilon(0.25));
  CHECK(noisy_recovery > clean_recovery);  // the teacher's remedies came later
  CHECK(check_dataset(noisy.path()).ok());
}

TEST_CASE("dataset record: autoscale episodes with their action rows of 2T columns") {
  TempFile file("autoscale.h5");
  const auto config = short_config();
  record_file(file.str(), "hpa", "autoscale", 2, 3, config);
  const Reader r(file.path());
  CHECK(r.spec().task == "autoscale");
  CHECK(r.spec().action_width == 2 * r.spec().max_tokens);
  const Episode ep = r.read(1);
  CHECK(ep.steps() == 40);  // 10 min of 15 s steps
  CHECK(ep.actions.size() == static_cast<std::size_t>(40 * r.spec().action_width));
  CHECK(ep.task_id[0] == 1);
  CHECK(ep.faults.empty());
  CHECK(check_dataset(file.path()).ok());
}
