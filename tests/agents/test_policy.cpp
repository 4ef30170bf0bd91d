// The policy interface and registry: names, paths and loaders, task support, and the mask
// contract of every baseline over many steps of both tasks.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include <opsrl/agents/baselines.hpp>
#include <opsrl/agents/per_env_policy.hpp>
#include <opsrl/envs/actions.hpp>

#include "helpers.hpp"

using namespace opsrl;
using namespace opsrl::agents;
using namespace opsrl::agents::test;

namespace {

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "(no error)";
}

envs::VecEnvOptions vec_options(std::vector<envs::TaskCount> tasks, envs::EnvConfigPtr config, int threads = 1) {
  envs::VecEnvOptions o;
  o.tasks = std::move(tasks);
  o.config = std::move(config);
  o.seed = 4242;
  o.num_threads = threads;
  return o;
}

// Short episodes with every fault type, several faults at once: every rule and remedy fires.
envs::EnvConfigPtr busy_config(bool placement = false) {
  envs::EnvConfig c;
  c.incident.time_limit = 12 * sim::kMinute;
  c.incident.onset_max = 4 * sim::kMinute;
  c.incident.max_faults = 3;
  c.incident.control_fraction = 0.15;
  c.autoscale.episode_length = 20 * sim::kMinute;
  c.autoscale.surges_per_hour = 3;
  c.autoscale.diurnal_period = 2 * sim::kHour;
  c.autoscale.fault_probability = 0.5;
  c.autoscale.placement = placement;
  return envs::make_config(c);
}

// Single-fault episodes that start at once, so that a policy has something to claim and fix.
envs::EnvConfigPtr early_fault_config() {
  envs::EnvConfig c;
  c.incident.control_fraction = 0;
  c.incident.onset_min = 15 * sim::kSecond;
  c.incident.onset_max = sim::kMinute;
  return envs::make_config(c);
}

// A policy from a file, for the loader test.
class FilePolicy final : public PerEnvPolicy<int> {
 public:
  explicit FilePolicy(std::string name) : name_(std::move(name)) {}
  std::string_view name() const override { return name_; }
  std::string unsupported_reason(envs::TaskId) const override { return {}; }

 protected:
  void decide(const envs::VecEnv&, int, int&, std::span<std::int32_t>) override {}

 private:
  std::string name_;
};

}  // namespace

TEST_CASE("the registry builds every baseline by name") {
  const std::vector<std::string> names = registered_policy_names();
  for (const char* want : {"hpa", "noop", "oracle", "oracle_late", "oracle_lean", "oracle_trend", "random", "threshold"}) {
    CAPTURE(want);
    CHECK(std::find(names.begin(), names.end(), want) != names.end());
    const auto p = make_policy(want);
    REQUIRE(p);
    CHECK(p->name() == want);
  }
  for (const PolicyInfo& info : registered_policies()) CHECK_FALSE(info.description.empty());
  CHECK(std::is_sorted(names.begin(), names.end()));
}

TEST_CASE("make_policy: unknown names, missing files and unreadable files are clear errors") {
  const std::string unknown = error_of([] { make_policy("thresold"); });
  CHECK(unknown.find("unknown policy \"thresold\"") != std::string::npos);
  CHECK(unknown.find("hpa, noop, oracle, oracle_late, oracle_lean, oracle_trend, random, threshold") != std::string::npos);

  const std::string missing = error_of([] { make_policy("runs/ppo/checkpoint.pt"); });
  CHECK(missing.find("\"runs/ppo/checkpoint.pt\": no such file") != std::string::npos);

  const auto file = std::filesystem::temp_directory_path() / "opsrl_test_policy.bin";
  std::ofstream(file) << "not a checkpoint";
  const std::string unread = error_of([&] { make_policy(file.string()); });
  CHECK(unread.find("no policy loader reads it") != std::string::npos);
  std::filesystem::remove(file);

  CHECK_THROWS_AS(register_policy("threshold", "again", [](const PolicyOptions&) { return make_noop_policy(); }),
                  std::logic_error);
  CHECK_THROWS_AS(register_policy("a/b", "a path", [](const PolicyOptions&) { return make_noop_policy(); }), std::logic_error);
}

TEST_CASE("a registered loader builds policies from the files it accepts") {
  register_policy_loader({"test", "*.opsrl-test-policy files",
                          [](const std::filesystem::path& p) { return p.extension() == ".opsrl-test-policy"; },
                          [](const std::filesystem::path& p, const PolicyOptions&) -> std::unique_ptr<Policy> {
                            return std::make_unique<FilePolicy>(p.stem().string());
                          }});
  const auto file = std::filesystem::temp_directory_path() / "mine.opsrl-test-policy";
  std::ofstream(file) << "weights";
  const auto p = make_policy(file.string());
  CHECK(p->name() == "mine");
  std::filesystem::remove(file);
}

TEST_CASE("hpa refuses the incident task, naming why and what to use") {
  const auto hpa = make_policy("hpa");
  CHECK(hpa->supports(envs::TaskId::kAutoscale));
  CHECK_FALSE(hpa->supports(envs::TaskId::kIncident));
  envs::VecEnv vec(vec_options({{"incident", 2}}, busy_config()));
  vec.reset();
  const std::string why = error_of([&] { hpa->reset(vec); });
  CHECK(why.find("policy hpa does not support task incident") != std::string::npos);
  CHECK(why.find("threshold") != std::string::npos);
  for (const char* both : {"noop", "random", "threshold", "oracle"}) {
    CHECK(make_policy(both)->supports(envs::TaskId::kIncident));
    CHECK(make_policy(both)->supports(envs::TaskId::kAutoscale));
  }
}

TEST_CASE("act checks the size of the action buffer and that reset came first") {
  envs::VecEnv vec(vec_options({{"incident", 3}}, busy_config()));
  vec.reset();
  const auto p = make_policy("threshold");
  std::vector<std::int32_t> actions(static_cast<std::size_t>(vec.size() * vec.action_width()));
  CHECK_THROWS_AS(p->act(vec, actions), std::logic_error);  // before reset(vec)
  p->reset(vec);
  std::vector<std::int32_t> short_buffer(actions.size() - 1);
  const std::string why = error_of([&] { p->act(vec, short_buffer); });
  CHECK(why.find("3 x 4 = 12 entries, got 11") != std::string::npos);
  p->act(vec, actions);
}

TEST_CASE("every baseline sends only mask-allowed actions, over many steps of both tasks") {
  struct Case {
    const char* policy;
    std::vector<envs::TaskCount> tasks;
    bool placement;
  };
  const std::vector<Case> cases{
      {"noop", {{"incident", 6}, {"autoscale", 3}}, false},
      {"random", {{"incident", 6}, {"autoscale", 3}}, false},
      {"random", {{"autoscale", 4}}, true},
      {"threshold", {{"incident", 8}, {"autoscale", 4}}, false},
      {"threshold", {{"autoscale", 4}}, true},
      {"oracle", {{"incident", 8}, {"autoscale", 4}}, false},
      {"oracle_lean", {{"autoscale", 4}}, false},
      {"oracle_trend", {{"autoscale", 4}}, false},
      {"hpa", {{"autoscale", 8}}, false},
      {"hpa", {{"autoscale", 4}}, true},
  };
  for (const Case& c : cases) {
    CAPTURE(c.policy);
    CAPTURE(c.placement);
    envs::VecEnv vec(vec_options(c.tasks, busy_config(c.placement), 2));
    const auto p = make_policy(c.policy, PolicyOptions{}.with_seed(3));
    const DriveResult r = drive(*p, vec, 400);
    CAPTURE(r.first_violation);
    CHECK(r.rows == 400L * vec.size());
    CHECK(r.violations == 0);
    CHECK(r.invalid == 0);
    CHECK(r.episodes >= vec.size());  // episodes ended and restarted under the policy
    if (std::string(c.policy) != "noop") CHECK(r.applied > 0);
    else CHECK(r.applied == 0);
  }
}

TEST_CASE("policies act the same for any thread count") {
  for (const char* name : {"random", "threshold", "oracle"}) {
    CAPTURE(name);
    std::vector<std::vector<std::int32_t>> runs;
    for (int threads : {1, 2}) {
      envs::VecEnv vec(vec_options({{"incident", 5}, {"autoscale", 3}}, busy_config(), threads));
      const auto p = make_policy(name, PolicyOptions{}.with_seed(9));
      vec.reset();
      p->reset(vec);
      std::vector<std::int32_t> actions(static_cast<std::size_t>(vec.size() * vec.action_width())), all;
      for (int t = 0; t < 150; ++t) {
        p->act(vec, actions);
        all.insert(all.end(), actions.begin(), actions.end());
        vec.step(actions);
        for (int i = 0; i < vec.size(); ++i)
          if (vec.terminated()[static_cast<std::size_t>(i)] || vec.truncated()[static_cast<std::size_t>(i)]) p->begin_episode(vec, i);
      }
      runs.push_back(std::move(all));
    }
    CHECK(runs[0] == runs[1]);
  }
}

TEST_CASE("random: the policy seed changes the actions, the same seed repeats them") {
  auto run = [](std::uint64_t seed) {
    envs::VecEnv vec(vec_options({{"incident", 2}}, busy_config()));
    const auto p = make_random_policy(PolicyOptions{}.with_seed(seed), RandomOptions{0.5});
    vec.reset();
    p->reset(vec);
    std::vector<std::int32_t> actions(static_cast<std::size_t>(vec.size() * vec.action_width())), all;
    for (int t = 0; t < 40; ++t) {
      p->act(vec, actions);
      all.insert(all.end(), actions.begin(), actions.end());
      vec.step(actions);
      for (int i = 0; i < vec.size(); ++i)
        if (vec.terminated()[static_cast<std::size_t>(i)] || vec.truncated()[static_cast<std::size_t>(i)]) p->begin_episode(vec, i);
    }
    return all;
  };
  CHECK(run(1) == run(1));
  CHECK(run(1) != run(2));
}

TEST_CASE("the test's mask check catches forbidden and out-of-range values") {
  envs::VecEnv vec(vec_options({{"incident", 1}, {"autoscale", 1}}, busy_config()));
  vec.reset();
  const auto M = static_cast<std::size_t>(vec.mask_width());
  const std::uint8_t* inc_mask = vec.observations().action_mask().data();
  const std::uint8_t* auto_mask = inc_mask + M;
  std::vector<std::int32_t> row(static_cast<std::size_t>(vec.action_width()), 0);
  CHECK(mask_violation(vec.spec(0), inc_mask, row).empty());
  row[envs::incident::kVerb] = static_cast<int>(sim::Verb::kScaleOut);
  row[envs::incident::kTarget] = 1;  // a node token: scale_out needs a service
  CHECK(mask_violation(vec.spec(0), inc_mask, row).find("target[0]") != std::string::npos);
  row.assign(row.size(), 0);
  row[envs::incident::kDiagType] = 99;
  CHECK(mask_violation(vec.spec(0), inc_mask, row).find("out of range") != std::string::npos);
  row.assign(row.size(), 0);
  row[0] = envs::autoscale::kScaleOut;  // the global token cannot scale
  CHECK(mask_violation(vec.spec(1), auto_mask, row).find("delta[0]") != std::string::npos);
}

TEST_CASE("teaching: the oracle's propose() commits nothing, and observe() follows the rows the envs took") {
  const auto config = early_fault_config();
  envs::VecEnv own(vec_options({{"incident", 4}, {"autoscale", 2}}, config));
  envs::VecEnv taught(vec_options({{"incident", 4}, {"autoscale", 2}}, config));
  own.reset();
  taught.reset();
  const auto acting = make_policy("oracle"), teaching = make_policy("oracle");
  acting->reset(own);
  teaching->reset(taught);
  const auto A = static_cast<std::size_t>(own.action_width());
  std::vector<std::int32_t> a(own.size() * A), proposed(a.size()), again(a.size()), noop(a.size(), 0);
  int claims_proposed = 0;
  for (int step = 0; step < 80; ++step) {
    acting->act(own, a);
    teaching->propose(taught, proposed);
    teaching->propose(taught, again);
    CHECK(proposed == again);  // proposing changed nothing
    for (int i = 0; i < 4; ++i) claims_proposed += proposed[i * A + envs::incident::kDiagType] != envs::incident::kNoClaim;
    // The learner in `taught` never acts: the teacher must go on proposing its claim and remedy
    // instead of believing it made them.
    for (int i = 0; i < taught.size(); ++i) teaching->observe(taught, i, std::span<const std::int32_t>(noop).subspan(i * A, A));
    own.step(a);
    taught.step(noop);
    for (int i = 0; i < own.size(); ++i) {
      if (own.terminated()[i] || own.truncated()[i]) acting->begin_episode(own, i);
      if (taught.terminated()[i] || taught.truncated()[i]) teaching->begin_episode(taught, i);
    }
  }
  // An acting oracle claims once per episode; the teacher of a learner that never claims
  // proposes the claim at every step from the onset on.
  CHECK(claims_proposed > 4 * 20);

  // act() is propose() followed by observe() of its own rows: the same rows step by step (the
  // trend scaler keeps its rate history in observe(), the runbook its cool-downs and restarts).
  for (const char* name : {"oracle_late", "oracle_trend", "threshold"}) {
    CAPTURE(name);
    envs::VecEnv x(vec_options({{"incident", 4}, {"autoscale", 2}}, config)), y(vec_options({{"incident", 4}, {"autoscale", 2}}, config));
    x.reset();
    y.reset();
    const auto p = make_policy(name), q = make_policy(name);
    p->reset(x);
    q->reset(y);
    std::vector<std::int32_t> ax(a.size()), ay(a.size());
    int acted = 0;
    for (int step = 0; step < 120; ++step) {
      p->act(x, ax);
      q->propose(y, ay);
      for (int i = 0; i < y.size(); ++i) q->observe(y, i, std::span<const std::int32_t>(ay).subspan(i * A, A));
      REQUIRE(ax == ay);
      for (int i = 0; i < 4; ++i) acted += ax[i * A + envs::incident::kVerb] != 0;
      x.step(ax);
      y.step(ay);
      for (int i = 0; i < x.size(); ++i) {
        if (x.terminated()[i] || x.truncated()[i]) p->begin_episode(x, i);
        if (y.terminated()[i] || y.truncated()[i]) q->begin_episode(y, i);
      }
    }
    CHECK(acted > 0);
  }
}

TEST_CASE("teaching: the runbook whose remediations do not run retries at the next scrape, not after its cool-down") {
  envs::VecEnv own(vec_options({{"incident", 8}}, early_fault_config()));
  envs::VecEnv taught(vec_options({{"incident", 8}}, early_fault_config()));
  own.reset();
  taught.reset();
  const auto acting = make_policy("threshold"), teaching = make_policy("threshold");
  acting->reset(own);
  teaching->reset(taught);
  const auto A = static_cast<std::size_t>(own.action_width());
  std::vector<std::int32_t> a(own.size() * A), proposed(a.size()), noop(a.size(), 0);
  std::vector<int> own_last(8, -100), taught_last(8, -100);
  std::vector<int> claims(8, 0);
  int own_back_to_back = 0, taught_back_to_back = 0;
  for (int step = 0; step < 60; ++step) {
    acting->act(own, a);
    teaching->propose(taught, proposed);
    for (int i = 0; i < 8; ++i) {
      if (a[i * A + envs::incident::kVerb] != 0) {
        own_back_to_back += own_last[i] == step - 1;
        own_last[i] = step;
      }
      if (proposed[i * A + envs::incident::kVerb] != 0) {
        taught_back_to_back += taught_last[i] == step - 1;
        taught_last[i] = step;
      }
      claims[static_cast<std::size_t>(i)] += proposed[i * A + envs::incident::kDiagType] != envs::incident::kNoClaim;
      // Only the claim goes through, as a step of `opsrl record --action-noise` that was skipped.
      noop[i * A + envs::incident::kDiagType] = proposed[i * A + envs::incident::kDiagType];
      noop[i * A + envs::incident::kDiagTarget] = proposed[i * A + envs::incident::kDiagTarget];
      teaching->observe(taught, i, std::span<const std::int32_t>(noop).subspan(i * A, A));
    }
    own.step(a);
    taught.step(noop);
    std::fill(noop.begin(), noop.end(), 0);
    for (int i = 0; i < 8; ++i) {
      if (own.terminated()[i] || own.truncated()[i]) acting->begin_episode(own, i);
      REQUIRE_FALSE(taught.terminated()[i]);  // nothing is fixed in `taught`
    }
  }
  CHECK(own_back_to_back == 0);   // an acting runbook waits cooldown_steps between remediations
  CHECK(taught_back_to_back > 8); // one whose remediations did not run tries again at once
  // The claim went through: it is made once per episode.
  CHECK(*std::max_element(claims.begin(), claims.end()) == 1);
}
