// Replay: closed loop with the recording's own policy reproduces every array of every episode
// bit for bit; another policy gives the counterfactual; open loop scores claims and agreement
// on the very states behind the recorded observations.
#include <doctest/doctest.h>

#include <cmath>

#include <opsrl/datasets/reader.hpp>
#include <opsrl/datasets/replay.hpp>

#include "helpers.hpp"

using namespace opsrl;
using namespace opsrl::datasets;
using namespace opsrl::datasets::test;

namespace {

PolicyHooks hooks_for(std::unique_ptr<agents::Policy>& holder, const std::string& name, std::uint64_t seed) {
  holder = agents::make_policy(name, agents::PolicyOptions{}.with_seed(seed));
  return policy_hooks(*holder);
}

}  // namespace

TEST_CASE("dataset replay (closed loop): the recording's policy reproduces every array of every episode bit for bit") {
  struct Case {
    std::string policy, task, scenario;
    double action_noise = 0;
  };
  for (const Case& c : {Case{"threshold", "incident", "small"}, Case{"random", "incident", "small"},
                        Case{"oracle", "incident", "default"}, Case{"hpa", "autoscale", "small"},
                        Case{"oracle", "incident", "small", 0.5}}) {
    const std::string& policy = c.policy;
    CAPTURE(policy);
    CAPTURE(c.action_noise);
    TempFile file("closed-" + policy + ".h5");
    const auto config = short_config(c.scenario);
    record_file(file.str(), policy, c.task, 5, 11, config, /*num_envs=*/2, 1, c.scenario, c.action_noise);
    const Reader r(file.path());
    std::unique_ptr<agents::Policy> p;
    PolicyHooks hooks = hooks_for(p, policy, r.header().policy_seed);
    ReplayOptions o;
    o.num_envs = 3;  // other batches than the recording's
    int compared = 0;
    const ClosedLoopResult res = replay_closed_loop(r, hooks, o, [&](int k, const Episode& replayed) {
      const Episode recorded = r.read(k);
      CHECK(first_difference(recorded, replayed) == "");
      // Every array, element by element, and the attributes that derive from the run.
      CHECK(recorded.features == replayed.features);
      CHECK(recorded.action_mask == replayed.action_mask);
      CHECK(recorded.actions == replayed.actions);
      CHECK(recorded.intended_actions == replayed.intended_actions);
      CHECK(recorded.intended_actions.empty() == (c.action_noise == 0));
      CHECK(recorded.rewards == replayed.rewards);
      CHECK(recorded.reward_components == replayed.reward_components);
      CHECK(recorded.terminations == replayed.terminations);
      CHECK(recorded.truncations == replayed.truncations);
      CHECK(recorded.time_s == replayed.time_s);
      CHECK(recorded.meta.return_ == replayed.meta.return_);
      CHECK(recorded.meta.resolved == replayed.meta.resolved);
      ++compared;
    });
    CHECK(compared == 5);
    CHECK(res.identical() == 5);
  }
}

TEST_CASE("dataset replay (closed loop): another policy gives the counterfactual outcome beside the recorded one") {
  TempFile file("counterfactual.h5");
  envs::EnvConfig c = *short_config("default");
  c.incident = envs::IncidentOptions::difficulty("easy");
  c.incident.control_fraction = 0;
  c.incident.time_limit = 12 * sim::kMinute;
  c.incident.onset_max = 2 * sim::kMinute;
  const auto config = envs::make_config(c);
  record_file(file.str(), "oracle", "incident", 4, 5, config, 0, 1, "default");
  const Reader r(file.path());
  std::unique_ptr<agents::Policy> p;
  PolicyHooks noop = hooks_for(p, "noop", 0);
  const ClosedLoopResult res = replay_closed_loop(r, noop, {});
  REQUIRE(res.episodes.size() == 4);
  double oracle_mttr = 0, noop_mttr = 0;
  for (const ClosedLoopEpisode& e : res.episodes) {
    CAPTURE(e.episode);
    CHECK(e.difference != "");
    CHECK(e.recorded.diagnosed);
    CHECK_FALSE(e.replayed.diagnosed);
    CHECK(e.recorded.return_ > e.replayed.return_);
    oracle_mttr += e.recorded.mttr_min;
    noop_mttr += e.replayed.mttr_min;
  }
  CHECK(oracle_mttr < noop_mttr);
}

TEST_CASE("dataset replay (open loop): proposals scored on the recorded states") {
  TempFile file("open.h5");
  const auto config = short_config();
  record_file(file.str(), "oracle", "incident", 6, 21, config);
  const Reader r(file.path());
  SUBCASE("the recording's policy agrees on every row and diagnoses as recorded") {
    std::unique_ptr<agents::Policy> p;
    PolicyHooks oracle = hooks_for(p, "oracle", r.header().policy_seed);
    const OpenLoopResult res = replay_open_loop(r, oracle, {});
    CHECK(res.resimulated);
    REQUIRE(res.episodes.size() == 6);
    for (const OpenLoopEpisode& e : res.episodes) {
      CAPTURE(e.episode);
      const Episode ep = r.read(e.episode);
      CHECK(e.observations_diverged == 0);
      CHECK(e.rows_matched == e.steps);
      CHECK(e.claimed == ep.meta.claimed);
      CHECK(e.diagnosed == (ep.meta.time_to_diagnose_s >= 0));
      if (e.diagnosed) CHECK(e.time_to_diagnose_s == doctest::Approx(ep.meta.time_to_diagnose_s));
    }
  }
  SUBCASE("another policy: its own claims, the same states") {
    std::unique_ptr<agents::Policy> p;
    PolicyHooks threshold = hooks_for(p, "threshold", 0);
    ReplayOptions o;
    o.num_envs = 4;
    const OpenLoopResult res = replay_open_loop(r, threshold, o);
    int fewer = 0;
    for (const OpenLoopEpisode& e : res.episodes) {
      CHECK(e.observations_diverged == 0);
      CHECK(e.rows_matched <= e.steps);
      fewer += e.rows_matched < e.steps;
      if (e.claimed) {
        CHECK(e.claim_time_s >= 0);
        if (e.diagnosed) CHECK(e.time_to_diagnose_s >= 0);
      }
    }
    CHECK(fewer > 0);
  }
}
