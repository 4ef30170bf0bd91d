// Reward terms and episode figures: diagnosis bonus and penalty, escalation and action costs,
// false positives on control episodes, invalid actions, resolution, SLO and cost terms.
#include <cmath>

#include <doctest/doctest.h>

#include <opsrl/envs/actions.hpp>

#include "helpers.hpp"

using namespace opsrl::envs;
using namespace opsrl::envs::test;
namespace sim = opsrl::sim;

namespace {

EnvConfigPtr incident_config(std::vector<sim::FaultType> types, double control = 0.0) {
  EnvConfig c;
  c.incident.fault_types = std::move(types);
  c.incident.control_fraction = control;
  c.incident.severity_min = 0.9;
  c.incident.onset_min = 15 * sim::kSecond;
  c.incident.onset_max = 30 * sim::kSecond;
  return make_config(c);
}

// Noop until every fault has started.
void wait_for_onset(Harness& h) {
  while (h.env->info().episode.elapsed_s < h.env->info().episode.first_onset_s) h.noop();
}

void act(Harness& h, incident::Action a) {
  a.write(h.action);
  h.step();
}

}  // namespace

TEST_CASE("a right first claim earns the diagnosis bonus, once") {
  Harness h("incident", incident_config({sim::FaultType::kBadDeploy}));
  h.reset(3);
  wait_for_onset(h);
  const FaultTruth truth = h.env->info().episode.faults[0];
  incident::Action a;
  a.diag_type = incident::diag_type_of(truth.type);
  a.diag_target = truth.root_token;
  act(h, a);
  const Info& info = h.env->info();
  CHECK(info.reward.diagnosis == doctest::Approx(5.0));
  CHECK(info.episode.claimed);
  CHECK(info.episode.root_correct);
  CHECK(info.episode.type_correct);
  CHECK(info.episode.detected);
  CHECK(info.episode.time_to_diagnose_s >= 0);
  CHECK(info.episode.time_to_detect_s == info.episode.time_to_diagnose_s);
  // A second claim is masked out: penalised as invalid, no second bonus.
  act(h, a);
  CHECK(h.env->info().reward.diagnosis == 0.0);
  CHECK(h.env->info().reward.invalid_action == doctest::Approx(-1.0));
  CHECK(h.env->info().action.reason.find("already claimed") != std::string::npos);
}

TEST_CASE("a wrong claim costs the diagnosis penalty and records what was wrong") {
  Harness h("incident", incident_config({sim::FaultType::kBadDeploy}));
  h.reset(4);
  wait_for_onset(h);
  const FaultTruth truth = h.env->info().episode.faults[0];
  incident::Action a;
  a.diag_type = incident::diag_type_of(sim::FaultType::kMemoryLeak);  // right root, wrong type
  a.diag_target = truth.root_token;
  act(h, a);
  const EpisodeStats& ep = h.env->info().episode;
  CHECK(h.env->info().reward.diagnosis == doctest::Approx(-2.0));
  CHECK(ep.root_correct);
  CHECK_FALSE(ep.type_correct);
  CHECK(ep.time_to_diagnose_s == -1);
}

TEST_CASE("escalation: its action cost, the pending flag, and a second escalation is invalid") {
  Harness h("incident", incident_config({sim::FaultType::kDiskFull}));
  h.reset(5);
  wait_for_onset(h);
  const long taken = h.env->cluster().counters().actions_taken;
  incident::Action a;
  a.verb = sim::Verb::kEscalate;
  act(h, a);
  CHECK(h.env->info().reward.action_cost == doctest::Approx(-0.02 * 300.0));
  CHECK(h.env->info().episode.escalations == 1);
  CHECK(h.env->info().episode.wrong_actions == 0);
  CHECK(h.env->cluster().counters().actions_taken == taken + 1);
  const feature::Layout cols(h.env->spec().history);
  CHECK(h.token_row(0)[cols.global.cur(feature::kEscalationPending)] == 1.0f);
  const incident::MaskLayout m{h.env->spec().max_tokens};
  CHECK(h.view().action_mask[m.verb() + static_cast<int>(sim::Verb::kEscalate)] == 0);
  act(h, a);
  CHECK(h.env->info().reward.invalid_action == doctest::Approx(-1.0));
  CHECK(h.env->info().reward.action_cost == 0.0);
  CHECK(h.env->info().action.reason == "a human is already working on it");
  CHECK(h.env->info().episode.escalations == 1);
  CHECK(h.env->cluster().counters().actions_taken == taken + 1);  // not applied
}

TEST_CASE("invalid actions are penalised with check's reason and never applied") {
  Harness h("incident", incident_config({sim::FaultType::kRunawayProcess}));
  h.reset(6);
  const TokenLayout& L = h.env->tokens();
  const long taken = h.env->cluster().counters().actions_taken;
  incident::Action a;
  a.verb = sim::Verb::kKillProcess;
  a.target = L.service_token(0);  // kill_process needs a replica
  act(h, a);
  CHECK(h.env->info().reward.invalid_action == doctest::Approx(-1.0));
  CHECK(h.env->info().action.invalid == 1);
  CHECK(h.env->info().action.reason.find("needs a replica target") != std::string::npos);
  std::fill(h.action.begin(), h.action.end(), 0);
  h.action[incident::kVerb] = 99;
  h.step();
  CHECK(h.env->info().action.reason.find("out of range") != std::string::npos);
  h.action[incident::kVerb] = static_cast<int>(sim::Verb::kRestartReplica);
  h.action[incident::kTarget] = -3;
  h.step();
  CHECK(h.env->info().action.reason.find("out of range") != std::string::npos);
  // scale_in at min_replicas: the mask forbids it; the reason is the cluster's.
  const int payment = h.env->cluster().scenario().service_index("postgres-db");
  a.verb = sim::Verb::kScaleIn;
  a.target = L.service_token(payment);
  act(h, a);
  act(h, a);  // postgres-db: 2 replicas, min 1 — the second is refused
  CHECK(h.env->info().action.reason.find("min_replicas") != std::string::npos);
  CHECK(h.env->info().episode.invalid_actions == 4);
  CHECK(h.env->cluster().counters().actions_taken == taken + 1);
}

TEST_CASE("control episodes: acting is a false positive, the episode runs to the time limit") {
  Harness h("incident", incident_config({}, /*control=*/1.0));
  h.reset(7);
  CHECK(h.env->info().episode.control);
  CHECK(h.env->info().episode.num_faults == 0);
  incident::Action a;
  a.verb = sim::Verb::kRestartService;
  a.target = h.env->tokens().service_token(1);
  act(h, a);
  const Info& info = h.env->info();
  CHECK(info.reward.false_positive == doctest::Approx(-2.0));
  CHECK(info.reward.action_cost == doctest::Approx(-0.02 * 5.0));
  CHECK(info.episode.false_positive);
  CHECK(info.episode.false_positive_actions == 1);
  CHECK_FALSE(info.episode.detected);
  // A claim on a control episode is wrong too.
  incident::Action claim;
  claim.diag_type = incident::diag_type_of(sim::FaultType::kNodeFailure);
  claim.diag_target = h.env->tokens().node_token(0);
  act(h, claim);
  CHECK(h.env->info().reward.diagnosis == doctest::Approx(-2.0));
  StepResult r;
  do r = h.noop();
  while (!r.done());
  CHECK(r.truncated);
  CHECK_FALSE(r.terminated);
  CHECK(h.env->info().episode.steps == h.env->spec().max_episode_steps);
}

TEST_CASE("the right remedy resolves the incident: resolution bonus, recovery time, no wrong action") {
  Harness h("incident", incident_config({sim::FaultType::kRunawayProcess}));
  h.reset(8);
  wait_for_onset(h);
  const FaultTruth truth = h.env->info().episode.faults[0];
  // First a wrong action (restart an unrelated service), then the remedy.
  incident::Action a;
  a.verb = sim::Verb::kRestartService;
  a.target = h.env->tokens().service_token(h.env->tokens().entity_of(truth.root_token).index == 0 ? 1 : 0);
  const int root_service = h.env->cluster().replica_service(h.env->tokens().entity_of(truth.root_token).index);
  a.target = h.env->tokens().service_token(root_service == 0 ? 1 : 0);
  act(h, a);
  CHECK(h.env->info().episode.wrong_actions == 1);
  CHECK(h.env->info().reward.wrong_action == doctest::Approx(-1.0));
  CHECK(h.env->info().reward.false_positive == 0);
  CHECK(h.env->info().episode.detected);
  a.verb = sim::Verb::kKillProcess;
  a.target = truth.root_token;
  act(h, a);
  CHECK(h.env->info().episode.wrong_actions == 1);
  CHECK(h.env->info().reward.wrong_action == 0);  // the remedy is not penalised
  StepResult r;
  int guard = 0;
  do r = h.noop();
  while (!r.done() && ++guard < 200);
  CHECK(r.terminated);
  const EpisodeStats& ep = h.env->info().episode;
  CHECK(ep.resolved);
  CHECK(h.env->info().reward.resolution == doctest::Approx(10.0));
  CHECK(ep.time_to_recover_s > 0);
  CHECK(ep.faults[0].mitigated_s > 0);
  CHECK_FALSE(ep.faults[0].active);
  CHECK(ep.return_components.resolution == doctest::Approx(10.0));
}

TEST_CASE("SLO and cost terms follow the cluster's counters") {
  Harness h("incident", incident_config({sim::FaultType::kDependencyFailure}));
  h.reset(9);
  const auto& k = h.env->cluster().counters();
  double slo = k.slo_violation_seconds, cost = k.replica_cost_usd;
  double slo_total = 0;
  for (int i = 0; i < 30 && !h.env->episode_over(); ++i) {
    h.noop();
    const Info& info = h.env->info();
    CHECK(info.reward.slo_penalty == doctest::Approx(-(k.slo_violation_seconds - slo) / 60.0));
    CHECK(info.reward.cost == doctest::Approx(-20.0 * (k.replica_cost_usd - cost)));
    CHECK(info.reward.cost < 0);
    slo_total += k.slo_violation_seconds - slo;
    slo = k.slo_violation_seconds;
    cost = k.replica_cost_usd;
  }
  CHECK(slo_total > 0);  // a hung dependency breaks the SLO
  CHECK(h.env->info().episode.slo_violation_minutes == doctest::Approx(slo_total / 60.0));
}

TEST_CASE("autoscale.slo_per_minute prices autoscale's violation minutes, the incident's stay shared") {
  EnvConfig c;
  c.autoscale.episode_length = 20 * sim::kMinute;
  c.autoscale.surges_per_hour = 12;  // violations within a few minutes
  for (double weight : {-1.0, 5.0}) {
    c.autoscale.slo_per_minute = weight;
    Harness h("autoscale", make_config(c));
    h.reset(3);
    double minutes = 0, penalty = 0;
    while (!h.env->episode_over()) {
      const double before = h.env->info().episode.slo_violation_minutes;
      h.noop();
      minutes += h.env->info().episode.slo_violation_minutes - before;
      penalty += h.env->info().reward.slo_penalty;
    }
    REQUIRE(minutes > 0);
    CHECK(penalty == doctest::Approx(-(weight < 0 ? 1.0 : weight) * minutes));
  }
  c.autoscale.slo_per_minute = std::nan("");
  CHECK_THROWS_AS(make_config(c), std::invalid_argument);
}

TEST_CASE("autoscale: a scale-out costs more per step and the episode is truncated at its length") {
  EnvConfig c;
  c.autoscale.episode_length = 5 * sim::kMinute;
  Harness h("autoscale", make_config(c));
  h.reset(1);
  h.noop();
  const double before = h.env->info().reward.cost;
  const int frontend = h.env->tokens().service_token(0);
  h.action[autoscale::Columns{h.env->spec().max_tokens}.delta(frontend)] = autoscale::kScaleOut;
  h.step();
  CHECK(h.env->info().action.applied == 1);
  CHECK(h.env->info().reward.action_cost == doctest::Approx(-0.02));
  h.noop();
  CHECK(h.env->info().reward.cost < before);
  StepResult r;
  do r = h.noop();
  while (!r.done());
  CHECK(r.truncated);
  CHECK(h.env->info().episode.steps == 20);
  // A delta on a node token is invalid.
  h.reset(2);
  h.action[autoscale::Columns{h.env->spec().max_tokens}.delta(1)] = autoscale::kScaleOut;
  h.step();
  CHECK(h.env->info().reward.invalid_action == doctest::Approx(-1.0));
}
