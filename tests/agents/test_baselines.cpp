// The baselines behave as specified: the oracle bounds the others on incidents and diagnoses
// right; the threshold runbook reacts to the alerts it is written for; the HPA keeps the SLO on
// a diurnal trace at a bounded cost and respects its stabilisation window.
#include <doctest/doctest.h>

#include <opsrl/agents/baselines.hpp>
#include <opsrl/agents/evaluate.hpp>
#include <opsrl/envs/actions.hpp>

#include "helpers.hpp"

using namespace opsrl;
using namespace opsrl::agents;
using namespace opsrl::agents::test;

namespace {

EvalResult eval(Policy& policy, const std::string& task, int episodes, envs::EnvConfigPtr config = nullptr,
                std::uint64_t seed = 0) {
  EvalOptions o;
  o.task = task;
  o.episodes = episodes;
  o.seed = seed;
  o.config = std::move(config);
  o.num_threads = 2;
  return evaluate(policy, o);
}

EvalResult eval(const std::string& policy, const std::string& task, int episodes, envs::EnvConfigPtr config = nullptr,
                std::uint64_t seed = 0) {
  return eval(*make_policy(policy), task, episodes, std::move(config), seed);
}

// The default scenario's autoscale task with a traffic surge an hour.
envs::EnvConfigPtr surge_an_hour() {
  envs::EnvConfig c;
  c.autoscale.surges_per_hour = 1;
  return envs::make_config(c);
}

envs::EnvConfigPtr single_fault(sim::FaultType type) {
  envs::EnvConfig c;
  c.incident.fault_types = {type};
  c.incident.control_fraction = 0;
  c.incident.severity_min = 0.6;
  return envs::make_config(c);
}

// The default cluster under a smooth diurnal day squeezed into two hours, from its trough, with
// a peak (x 1.7 of a 25 % higher base) that the initial replicas cannot carry.
envs::EnvConfigPtr smooth_diurnal() {
  auto sc = std::make_shared<sim::Scenario>(*sim::load_scenario("default"));
  sc->traffic.noise_sigma = 0;
  sc->traffic.surges_per_hour = 0;
  sc->traffic.base_rps = 500;
  sc->traffic.diurnal_amplitude = 0.7;
  sc->traffic.period = 2 * sim::kHour;
  envs::EnvConfig c;
  c.scenario = sc;
  c.day_phases = 1;
  return envs::make_config(c);
}

}  // namespace

TEST_CASE("incident: oracle MTTR < threshold MTTR < random MTTR, and the same order for mitigation") {
  const EvalSummary oracle = eval("oracle", "incident", 240).summary;
  const EvalSummary threshold = eval("threshold", "incident", 240).summary;
  const EvalSummary random = eval("random", "incident", 240).summary;
  const EvalSummary noop = eval("noop", "incident", 240).summary;
  MESSAGE("MTTR (min): oracle ", oracle.mttr_min.mean, ", threshold ", threshold.mttr_min.mean, ", random ",
          random.mttr_min.mean, ", noop ", noop.mttr_min.mean);
  REQUIRE(oracle.fault_episodes > 150);
  // Well apart, not just in order: each gap is several confidence half-widths.
  CHECK(oracle.mttr_min.mean + oracle.mttr_min.ci95 + threshold.mttr_min.ci95 < threshold.mttr_min.mean);
  CHECK(threshold.mttr_min.mean + threshold.mttr_min.ci95 + random.mttr_min.ci95 < random.mttr_min.mean);
  CHECK(oracle.mttr_min.mean < 3.0);
  CHECK(oracle.mitigation.value() > threshold.mitigation.value());
  CHECK(threshold.mitigation.value() > random.mitigation.value());
  CHECK(random.mitigation.value() > noop.mitigation.value());
  CHECK(oracle.return_.mean > threshold.return_.mean);
  CHECK(threshold.return_.mean > noop.return_.mean);
  CHECK(noop.return_.mean > random.return_.mean);
  CHECK(oracle.slo_violation_min.mean < threshold.slo_violation_min.mean);
}

TEST_CASE("incident: the oracle detects at once, localizes and names the fault type every time") {
  for (const char* difficulty : {"easy", "medium", "hard"}) {
    CAPTURE(difficulty);
    envs::EnvConfig c;
    c.incident = envs::IncidentOptions::difficulty(difficulty);
    const EvalSummary s = eval("oracle", "incident", 120, envs::make_config(c)).summary;
    REQUIRE(s.fault_episodes > 80);
    CHECK(s.detection.value() == 1.0);
    CHECK(s.localization.value() == 1.0);
    CHECK(s.rca.value() == 1.0);
    CHECK(s.false_positive.k == 0);  // never acts on a healthy cluster
    CHECK(s.wrong_actions.mean == 0.0);
    CHECK(s.escalations.mean == 0.0);
    CHECK(s.time_to_diagnose_min.mean < 0.25);  // at the first scrape after the onset
    CHECK(s.mitigation.value() > 0.9);
  }
}

TEST_CASE("incident: oracle_late acts like the oracle, 30 s after each onset") {
  const EvalSummary oracle = eval("oracle", "incident", 160).summary;
  const EvalSummary late = eval("oracle_late", "incident", 160).summary;
  REQUIRE(late.fault_episodes > 100);
  CHECK(late.time_to_diagnose_min.mean >= 0.5);   // never before the 30 s are up
  CHECK(late.time_to_diagnose_min.mean < 0.75);   // at the first scrape after them
  CHECK(late.rca.value() > 0.95);                 // a few faults are over (surges end) before the claim
  CHECK(late.wrong_actions.mean == 0.0);
  CHECK(late.mitigation.value() > 0.9);
  // The same remedies 30 s later: MTTR about half a minute longer, never shorter.
  CHECK(late.mttr_resolved_min.mean > oracle.mttr_resolved_min.mean + 0.2);
  CHECK(late.mttr_resolved_min.mean < oracle.mttr_resolved_min.mean + 1.0);
  CHECK(late.return_.mean < oracle.return_.mean);
}

TEST_CASE("incident: false-positive rates on control episodes are reported") {
  envs::EnvConfig c;
  c.incident.control_fraction = 0.5;
  const envs::EnvConfigPtr config = envs::make_config(c);
  const EvalSummary threshold = eval("threshold", "incident", 120, config).summary;
  const EvalSummary random = eval("random", "incident", 120, config).summary;
  const EvalSummary noop = eval("noop", "incident", 120, config).summary;
  MESSAGE("false-positive rate on control episodes: threshold ", threshold.false_positive.value(), " (",
          threshold.false_positive.k, "/", threshold.false_positive.n, ")");
  REQUIRE(threshold.control_episodes > 40);
  CHECK(threshold.false_positive.n == threshold.control_episodes);
  CHECK(threshold.false_positive.value() <= 0.1);  // healthy clusters fire no alert the runbook acts on
  CHECK(random.false_positive.value() == 1.0);
  CHECK(noop.false_positive.value() == 0.0);
  CHECK(noop.detection.value() == 0.0);
}

TEST_CASE("threshold: each alert rule leads to its remedy and its claim") {
  struct Case {
    sim::FaultType fault;
    double min_localization, min_rca, min_mitigation;
  };
  // Faults with a distinctive alert; the runbook cannot tell noisy neighbours or degraded
  // networks apart from service problems (no alert of their own), so they are not listed.
  const std::vector<Case> cases{
      {sim::FaultType::kNodeFailure, 0.9, 0.9, 0.9},
      {sim::FaultType::kDiskFull, 0.9, 0.9, 0.9},
      // Time-outs raise HighErrorRate a minute before HighCpu's two: the runbook restarts the
      // service (which ends the runaway process too) and blames the service, not the replica.
      {sim::FaultType::kRunawayProcess, 0.0, 0.0, 0.9},
      {sim::FaultType::kBadDeploy, 0.8, 0.7, 0.9},
      {sim::FaultType::kDependencyFailure, 0.7, 0.7, 0.9},
      {sim::FaultType::kMemoryLeak, 0.5, 0.5, 0.9},
  };
  for (const Case& c : cases) {
    CAPTURE(sim::fault_info(c.fault).name);
    const EvalSummary s = eval("threshold", "incident", 40, single_fault(c.fault)).summary;
    MESSAGE(sim::fault_info(c.fault).name, ": localization ", s.localization.value(), ", RCA ", s.rca.value(),
            ", mitigation ", s.mitigation.value(), ", MTTR ", s.mttr_min.mean);
    CHECK(s.localization.value() >= c.min_localization);
    CHECK(s.rca.value() >= c.min_rca);
    CHECK(s.mitigation.value() >= c.min_mitigation);
  }
  // Without an alert of its own, a noisy neighbour is not diagnosed.
  const EvalSummary noisy = eval("threshold", "incident", 40, single_fault(sim::FaultType::kNoisyNeighbour)).summary;
  CHECK(noisy.rca.value() == 0.0);
}

TEST_CASE("autoscale: HPA keeps the SLO on a smooth diurnal trace, beats random and a static scaler, at bounded cost") {
  const envs::EnvConfigPtr config = smooth_diurnal();
  const EvalSummary hpa = eval("hpa", "autoscale", 12, config).summary;
  const EvalSummary fixed = eval("noop", "autoscale", 12, config).summary;
  const EvalSummary random = eval("random", "autoscale", 12, config).summary;
  const EvalSummary oracle = eval("oracle", "autoscale", 12, config).summary;
  MESSAGE("SLO violation (min/episode): hpa ", hpa.slo_violation_min.mean, ", static ", fixed.slo_violation_min.mean,
          ", random ", random.slo_violation_min.mean, "; replica cost USD: hpa ", hpa.replica_cost_usd.mean, ", static ",
          fixed.replica_cost_usd.mean);
  CHECK(fixed.slo_violation_min.mean > 10);  // the trace needs scaling
  CHECK(hpa.slo_violation_min.mean < 1.0);   // of 120 minutes
  CHECK(hpa.slo_violation_min.mean < 0.1 * fixed.slo_violation_min.mean);
  CHECK(hpa.slo_violation_min.mean < 0.1 * random.slo_violation_min.mean);
  CHECK(hpa.replica_cost_usd.mean < 1.3 * fixed.replica_cost_usd.mean);
  CHECK(hpa.return_.mean > fixed.return_.mean);
  CHECK(hpa.return_.mean > random.return_.mean);
  CHECK(oracle.slo_violation_min.mean < 1.0);
  CHECK(hpa.invalid_actions.mean == 0.0);
}

TEST_CASE("autoscale: oracle_lean keeps HPA's SLO minutes at a tenth less replica cost, a surge an hour") {
  const auto config = surge_an_hour();
  const EvalSummary hpa = eval("hpa", "autoscale", 100, config).summary;
  const EvalSummary lean = eval("oracle_lean", "autoscale", 100, config).summary;
  REQUIRE(hpa.slo_violation_min.mean > 0);  // the surges cost every scaler some minutes
  CHECK(lean.slo_violation_min.mean < hpa.slo_violation_min.mean + 0.1);
  CHECK(lean.replica_cost_usd.mean < 0.9 * hpa.replica_cost_usd.mean);
}

TEST_CASE("autoscale: oracle_trend holds HPA's SLO minutes at a tenth less cost, where the same scaler without look-ahead cannot") {
  const auto config = surge_an_hour();
  const EvalSummary hpa = eval("hpa", "autoscale", 100, config).summary;
  const EvalSummary trend = eval("oracle_trend", "autoscale", 100, config).summary;
  OracleOptions flat;  // the same target and margin, scaling for the current rate only
  flat.target_utilisation = 0.73;
  flat.scale_in_margin = 1.12;
  const EvalSummary no_trend = eval(*make_oracle_policy(flat, "flat"), "autoscale", 100, config).summary;
  REQUIRE(hpa.slo_violation_min.mean > 0);
  CHECK(trend.slo_violation_min.mean < hpa.slo_violation_min.mean + 0.01);  // 0.6 s per 2-h episode
  CHECK(no_trend.slo_violation_min.mean > hpa.slo_violation_min.mean + 0.03);
  CHECK(trend.replica_cost_usd.mean < 0.9 * hpa.replica_cost_usd.mean);
}

TEST_CASE("autoscale: oracle_trend refuses an observation history too short for its window") {
  envs::EnvConfig c;
  c.history = 3;  // oracle_trend reads the rate 3 scrapes back: needs 4
  envs::VecEnvOptions o;
  o.tasks = {{"autoscale", 2}};
  o.config = envs::make_config(c);
  envs::VecEnv vec(o);
  vec.reset();
  const auto p = make_policy("oracle_trend");
  CHECK_THROWS_WITH_AS(p->reset(vec), doctest::Contains("trend_window_steps (3) must be below the observation's history (3 scrapes)"),
                       std::invalid_argument);
}

TEST_CASE("autoscale: HPA scales in no sooner than its stabilisation window after a scale-out") {
  envs::EnvConfig c;
  c.autoscale.diurnal_period = 1 * sim::kHour;
  c.autoscale.surges_per_hour = 2;
  c.autoscale.episode_length = 1 * sim::kHour;
  envs::VecEnvOptions o;
  o.tasks = {{"autoscale", 6}};
  o.config = envs::make_config(c);
  o.seed = 17;
  envs::VecEnv vec(o);
  const auto hpa = make_hpa_policy();
  vec.reset();
  hpa->reset(vec);
  const int T = vec.max_tokens(), S = vec.env(0).tokens().num_services;
  const envs::autoscale::Columns cols{T};
  std::vector<std::int32_t> actions(static_cast<std::size_t>(vec.size() * vec.action_width()));
  std::vector<int> last_out(static_cast<std::size_t>(vec.size() * S), -1000);
  int scale_outs = 0, scale_ins = 0, too_soon = 0;
  for (int t = 0; t < 240; ++t) {  // one episode each
    hpa->act(vec, actions);
    for (int i = 0; i < vec.size(); ++i)
      for (int s = 0; s < S; ++s) {
        const int d = actions[static_cast<std::size_t>(i * vec.action_width() + cols.delta(vec.env(i).tokens().service_token(s)))];
        int& last = last_out[static_cast<std::size_t>(i * S + s)];
        if (d == envs::autoscale::kScaleOut) {
          ++scale_outs;
          last = t;
        } else if (d == envs::autoscale::kScaleIn) {
          ++scale_ins;
          too_soon += t - last <= 20;  // 5 min of 15 s steps
        }
      }
    vec.step(actions);
  }
  CHECK(scale_outs > 10);
  CHECK(scale_ins > 10);
  CHECK(too_soon == 0);
}

TEST_CASE("autoscale: the threshold scaler follows its CPU thresholds and cool-down") {
  envs::EnvConfig c;
  c.autoscale.diurnal_period = 1 * sim::kHour;
  c.autoscale.surges_per_hour = 2;
  c.autoscale.episode_length = 1 * sim::kHour;
  envs::VecEnvOptions o;
  o.tasks = {{"autoscale", 4}};
  o.config = envs::make_config(c);
  o.seed = 5;
  envs::VecEnv vec(o);
  const auto p = make_threshold_policy();
  vec.reset();
  p->reset(vec);
  const int T = vec.max_tokens(), S = vec.env(0).tokens().num_services;
  const envs::autoscale::Columns cols{T};
  std::vector<std::int32_t> actions(static_cast<std::size_t>(vec.size() * vec.action_width()));
  std::vector<int> last(static_cast<std::size_t>(vec.size() * S), -1000);
  int changes = 0, wrong_side = 0, too_soon = 0;
  for (int t = 0; t < 240; ++t) {
    p->act(vec, actions);
    for (int i = 0; i < vec.size(); ++i)
      for (int s = 0; s < S; ++s) {
        const int d = actions[static_cast<std::size_t>(i * vec.action_width() + cols.delta(vec.env(i).tokens().service_token(s)))];
        if (d == envs::autoscale::kKeep) continue;
        ++changes;
        const double cpu = vec.env(i).cluster().telemetry().services(s, sim::kSvcCpuUtil);
        wrong_side += d == envs::autoscale::kScaleOut ? cpu <= 0.8 : cpu >= 0.3;
        int& l = last[static_cast<std::size_t>(i * S + s)];
        too_soon += t - l < 4;
        l = t;
      }
    vec.step(actions);
  }
  CHECK(changes > 10);
  CHECK(wrong_side == 0);
  CHECK(too_soon == 0);
}
