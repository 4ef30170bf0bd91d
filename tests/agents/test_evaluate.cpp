// Evaluation: statistics, the aggregate figures, seeds, determinism across thread and env
// counts, and the JSON form parsed back.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>

#include <opsrl/agents/baselines.hpp>
#include <opsrl/agents/evaluate.hpp>

#include "helpers.hpp"

using namespace opsrl;
using namespace opsrl::agents;
using namespace opsrl::agents::test;

namespace {

envs::EnvConfigPtr short_config() {
  envs::EnvConfig c;
  c.incident.time_limit = 15 * sim::kMinute;
  c.incident.onset_max = 3 * sim::kMinute;
  c.autoscale.episode_length = 30 * sim::kMinute;
  c.autoscale.surges_per_hour = 2;
  return envs::make_config(c);
}

EvalResult run(const std::string& policy, const std::string& task, int episodes, int threads, int envs,
               std::uint64_t seed = 5) {
  EvalOptions o;
  o.task = task;
  o.episodes = episodes;
  o.seed = seed;
  o.config = short_config();
  o.num_threads = threads;
  o.num_envs = envs;
  const auto p = make_policy(policy, PolicyOptions{}.with_seed(1));
  return evaluate(*p, o);
}

// Every figure of every episode, bit for bit.
void check_same(const EvalResult& a, const EvalResult& b) {
  REQUIRE(a.episodes.size() == b.episodes.size());
  for (std::size_t k = 0; k < a.episodes.size(); ++k) {
    CAPTURE(k);
    const envs::EpisodeStats& x = a.episodes[k].stats;
    const envs::EpisodeStats& y = b.episodes[k].stats;
    CHECK(a.episodes[k].seed == b.episodes[k].seed);
    CHECK(x.steps == y.steps);
    CHECK(std::memcmp(&x.return_, &y.return_, sizeof(double)) == 0);
    CHECK(x.return_components.as_array() == y.return_components.as_array());
    CHECK(x.resolved == y.resolved);
    CHECK(x.time_to_recover_s == y.time_to_recover_s);
    CHECK(x.slo_violation_minutes == y.slo_violation_minutes);
    CHECK(x.replica_cost_usd == y.replica_cost_usd);
    CHECK(x.actions == y.actions);
  }
  EvalRun r;
  r.task = a.summary.task;
  CHECK(to_json(r, {a}) == to_json(r, {b}));
}

EpisodeRecord fault_episode(bool resolved, double onset_s, double ttr_s, double elapsed_s) {
  EpisodeRecord r;
  r.stats.num_faults = 1;
  r.stats.first_onset_s = onset_s;
  r.stats.elapsed_s = elapsed_s;
  r.stats.resolved = resolved;
  r.stats.time_to_recover_s = resolved ? ttr_s : -1;
  return r;
}

}  // namespace

TEST_CASE("Student t quantiles and confidence intervals") {
  CHECK(student_t975(1) == doctest::Approx(12.7062).epsilon(1e-5));
  CHECK(student_t975(10) == doctest::Approx(2.22814).epsilon(1e-5));
  CHECK(student_t975(30) == doctest::Approx(2.04227).epsilon(1e-5));
  CHECK(student_t975(31) == doctest::Approx(2.03951).epsilon(1e-5));  // the expansion takes over
  CHECK(student_t975(60) == doctest::Approx(2.00030).epsilon(1e-5));
  CHECK(student_t975(120) == doctest::Approx(1.97993).epsilon(1e-5));
  CHECK(student_t975(100000) == doctest::Approx(1.95999).epsilon(1e-5));
  CHECK_THROWS_AS(student_t975(0), std::invalid_argument);

  const MeanCI m = mean_ci({1, 2, 3, 4});
  CHECK(m.n == 4);
  CHECK(m.mean == doctest::Approx(2.5));
  CHECK(m.ci95 == doctest::Approx(3.182446 * std::sqrt(5.0 / 3.0) / 2));
  CHECK(std::isnan(mean_ci({}).mean));
  CHECK(mean_ci({7}).mean == 7);
  CHECK(std::isnan(mean_ci({7}).ci95));
}

TEST_CASE("summarize: the four levels, MTTR with unresolved episodes counted at the limit, control episodes") {
  std::vector<EpisodeRecord> eps;
  eps.push_back(fault_episode(true, 60, 120, 600));     // recovered after 2 min
  eps.push_back(fault_episode(false, 60, -1, 2400));    // never: 39 min from the onset to the limit
  eps.back().stats.detected = true;
  eps.back().stats.time_to_detect_s = 30;
  eps.back().stats.claimed = true;
  eps.back().stats.root_correct = true;
  EpisodeRecord control;
  control.stats.control = true;
  control.stats.false_positive = true;
  control.stats.elapsed_s = 2400;
  control.stats.slo_violation_minutes = 3;
  eps.push_back(control);
  const EvalSummary s = summarize("incident", eps);
  const std::vector<FaultSummary> groups = summarize_by_fault("incident", eps);
  REQUIRE(groups.size() == 1);  // both fault episodes have the default type, the control none
  CHECK(groups[0].summary.episodes == 2);
  CHECK(groups[0].summary.control_episodes == 0);
  CHECK(s.episodes == 3);
  CHECK(s.fault_episodes == 2);
  CHECK(s.control_episodes == 1);
  CHECK(s.mttr_min.mean == doctest::Approx((2.0 + 39.0) / 2));
  CHECK(s.mttr_resolved_min.mean == doctest::Approx(2.0));
  CHECK(s.mttr_resolved_min.n == 1);
  CHECK(s.mitigation.k == 1);
  CHECK(s.mitigation.n == 2);
  CHECK(s.detection.value() == 0.5);
  CHECK(s.time_to_detect_min.mean == doctest::Approx(0.5));
  CHECK(s.localization.value() == 0.5);
  CHECK(s.rca.value() == 0.0);
  CHECK(std::isnan(s.time_to_diagnose_min.mean));
  CHECK(s.false_positive.k == 1);
  CHECK(s.false_positive.n == 1);
  CHECK(s.slo_violation_min.mean == doctest::Approx(1.0));

  // The table and the JSON list the same figures; incident and autoscale different ones.
  const std::vector<Figure> inc = figures(s);
  const std::vector<Figure> aut = figures(summarize("autoscale", eps));
  auto has = [](const std::vector<Figure>& f, const std::string& key) {
    return std::any_of(f.begin(), f.end(), [&](const Figure& x) { return x.key == key; });
  };
  for (const char* key : {"return", "detection_rate", "false_positive_rate", "localization_accuracy", "rca_accuracy",
                          "mitigation_rate", "time_to_detect_min", "time_to_diagnose_min", "mttr_min", "slo_violation_min",
                          "cost_usd", "wrong_actions", "escalations"})
    CHECK_MESSAGE(has(inc, key), key);
  for (const char* key : {"return", "slo_violation_min", "replica_cost_usd", "mean_replicas", "actions"})
    CHECK_MESSAGE(has(aut, key), key);
  CHECK_FALSE(has(aut, "mttr_min"));
}

TEST_CASE("evaluation seeds are 2^40 + seed + k, apart from any training seed below 2^40") {
  const EvalResult r = run("noop", "incident", 10, 1, 4, 123);
  for (std::size_t k = 0; k < r.episodes.size(); ++k) {
    CHECK(r.episodes[k].index == static_cast<int>(k));
    CHECK(r.episodes[k].seed == (std::uint64_t{1} << 40) + 123 + k);
  }
  EvalOptions o;
  o.seed = kEvalSeedOffset;
  CHECK_THROWS_WITH_AS(o.validate(), doctest::Contains("seed must be < 2^40"), std::invalid_argument);
}

TEST_CASE("evaluation is deterministic: the same figures for any thread count and env count") {
  for (const char* policy : {"random", "threshold"}) {
    CAPTURE(policy);
    const EvalResult one = run(policy, "incident", 40, 1, 8);
    check_same(one, run(policy, "incident", 40, 2, 8));
    check_same(one, run(policy, "incident", 40, 2, 5));
    check_same(one, run(policy, "incident", 40, 0, 0));
    CHECK(one.summary.invalid_actions.mean == 0.0);
  }
  const EvalResult hpa = run("hpa", "autoscale", 12, 1, 4);
  check_same(hpa, run("hpa", "autoscale", 12, 2, 4));
  check_same(hpa, run("hpa", "autoscale", 12, 2, 7));
  // A different evaluation seed gives other episodes.
  CHECK(to_json({}, {run("random", "incident", 10, 1, 4, 1)}) != to_json({}, {run("random", "incident", 10, 1, 4, 2)}));
}

TEST_CASE("evaluate refuses bad options and unsupported tasks, naming them") {
  const auto hpa = make_policy("hpa");
  EvalOptions o;
  o.task = "incident";
  o.episodes = 3;
  CHECK_THROWS_WITH_AS(evaluate(*hpa, o), doctest::Contains("policy hpa does not support task incident"), std::invalid_argument);
  o.task = "autoscaling";
  CHECK_THROWS_WITH_AS(evaluate(*hpa, o), doctest::Contains("unknown task \"autoscaling\"; expected one of autoscale, incident"),
                       std::invalid_argument);
  o.task = "autoscale";
  o.episodes = 0;
  CHECK_THROWS_WITH_AS(evaluate(*hpa, o), doctest::Contains("episodes must be >= 1, got 0"), std::invalid_argument);
  o.episodes = 2;
  o.num_threads = -1;
  CHECK_THROWS_WITH_AS(evaluate(*hpa, o), doctest::Contains("num_threads must be >= 0"), std::invalid_argument);
}

TEST_CASE("progress is reported once per episode, in order") {
  std::vector<int> seen;
  EvalOptions o;
  o.task = "incident";
  o.episodes = 12;
  o.config = short_config();
  o.num_threads = 2;
  o.num_envs = 5;
  o.progress = [&](int done, int total) {
    CHECK(total == 12);
    seen.push_back(done);
  };
  const auto p = make_policy("noop");
  evaluate(*p, o);
  REQUIRE(seen.size() == 12);
  for (int k = 0; k < 12; ++k) CHECK(seen[static_cast<std::size_t>(k)] == k + 1);
}

TEST_CASE("the JSON form parses back to the same figures") {
  const std::vector<EvalResult> results{run("oracle", "incident", 16, 2, 8), run("threshold", "incident", 16, 2, 8)};
  EvalRun r;
  r.task = "incident";
  r.scenario = "default";
  r.difficulty = "medium";
  r.episodes = 16;
  r.seed = 5;
  r.command = "opsrl eval --policy oracle,threshold --task \"incident\"\n";
  const Json j = JsonReader::parse(to_json(r, results));
  CHECK(j["format"].str() == "opsrl-eval");
  CHECK(j["task"].str() == "incident");
  CHECK(j["difficulty"].str() == "medium");
  CHECK(j["command"].str() == r.command);
  CHECK(j["eval_seeds"]["first"].num() == static_cast<double>(eval_seed(5, 0)));
  REQUIRE(j["policies"].arr().size() == 2);
  for (std::size_t p = 0; p < results.size(); ++p) {
    const Json& jp = j["policies"][p];
    CHECK(jp["policy"].str() == results[p].policy);
    for (const Figure& f : figures(results[p].summary)) {
      CAPTURE(f.key);
      const Json& jf = jp["figures"][f.key];
      if (std::isnan(f.value)) CHECK(jf["value"].is_null());
      else CHECK(jf["value"].num() == f.value);  // shortest round-trip form: exact
      CHECK(jf["n"].num() == f.n);
    }
    int grouped = 0;
    for (const FaultSummary& g : summarize_by_fault("incident", results[p].episodes)) {
      const Json& jg = jp["by_fault"][std::string(sim::fault_info(g.type).name)];
      CHECK(jg["episodes"].num() == g.summary.episodes);
      CHECK(jg["mitigation_rate"].num() == g.summary.mitigation.value());
      grouped += g.summary.episodes;
    }
    CHECK(grouped == results[p].summary.fault_episodes);
    const Json& eps = jp["episodes"];
    REQUIRE(eps["return"].arr().size() == 16);
    for (std::size_t k = 0; k < 16; ++k) {
      CHECK(eps["return"][k].num() == results[p].episodes[k].stats.return_);
      CHECK(eps["seed"][k].num() == static_cast<double>(results[p].episodes[k].seed));
    }
  }
  CHECK_THROWS(JsonReader::parse("{\"a\": nan}"));
}
