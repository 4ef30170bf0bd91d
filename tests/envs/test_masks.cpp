// Action masks: every remediation mask bit agrees with sim::Cluster::check over random play;
// diagnosis and autoscale masks have the documented shape.
#include <doctest/doctest.h>

#include <opsrl/envs/actions.hpp>

#include "helpers.hpp"

using namespace opsrl::envs;
using namespace opsrl::envs::test;
namespace sim = opsrl::sim;

TEST_CASE("incident masks agree with Cluster::check for every verb and target") {
  EnvConfig c;
  c.incident.max_faults = 3;
  c.incident.fault_types = {};  // every type: node failures, drains and full disks change the rules
  Harness h("incident", make_config(c), 3);
  const EnvSpec& s = h.env->spec();
  const TokenLayout& L = h.env->tokens();
  const incident::MaskLayout m{s.max_tokens};
  long checked = 0, disagree = 0;
  for (std::uint64_t seed = 1; seed <= 6; ++seed) {
    h.reset(seed);
    for (int step = 0; step < 80 && !h.env->episode_over(); ++step) {
      const ObservationView v = h.view();
      const sim::Cluster& cl = h.env->cluster();
      for (int verb = 0; verb < incident::kNumVerbs; ++verb) {
        const auto kind = sim::verb_info(static_cast<sim::Verb>(verb)).target_kind;
        bool any = false;
        for (int t = 0; t < L.num_real(); ++t) {
          const sim::EntityRef e = L.entity_of(t);
          const bool mask = v.action_mask[m.target(verb) + t] != 0;
          any = any || mask;
          if (kind == sim::EntityKind::kNone) {
            if (t == 0) {
              ++checked;
              disagree += mask != cl.check({static_cast<sim::Verb>(verb), {}}).accepted;
            } else {
              CHECK_FALSE(mask);
            }
            continue;
          }
          if (e.kind != kind) {
            CHECK_FALSE(mask);
            continue;
          }
          ++checked;
          const bool accepted = cl.check({static_cast<sim::Verb>(verb), e}).accepted;
          if (mask != accepted) {
            ++disagree;
            MESSAGE("verb ", sim::verb_info(static_cast<sim::Verb>(verb)).name, " on ", cl.entity_name(e),
                    ": mask ", mask, ", check ", accepted, " at ", sim::format_time(cl.now()));
          }
        }
        CHECK(v.action_mask[m.verb() + verb] == any);
      }
      h.step_random(0.6);
    }
  }
  CHECK(checked > 50000);
  CHECK(disagree == 0);
}

TEST_CASE("diagnosis masks: none at the global token, each type at its root kind, only none after the claim") {
  Harness h("incident", make_config());
  h.reset(1);
  const EnvSpec& s = h.env->spec();
  const TokenLayout& L = h.env->tokens();
  const incident::MaskLayout m{s.max_tokens};
  const sim::Scenario& sc = h.env->cluster().scenario();
  const std::uint8_t* mask = h.view().action_mask;
  for (int d = 0; d < incident::kNumDiagTypes; ++d) CHECK(mask[m.diag_type() + d] == 1);
  for (int t = 0; t < s.max_tokens; ++t) CHECK(mask[m.diag_target(incident::kNoClaim) + t] == (t == 0));
  for (int d = 1; d < incident::kNumDiagTypes; ++d) {
    const sim::FaultInfo& info = sim::fault_info(incident::fault_type_of(d));
    for (int t = 0; t < s.max_tokens; ++t) {
      const sim::EntityRef e = L.entity_of(t);
      bool want = e.kind == info.root_kind;
      if (want && info.type == sim::FaultType::kTrafficSurge) want = sc.services[e.index].traffic_share > 0;
      CHECK(mask[m.diag_target(d) + t] == want);
    }
  }
  // Claim something: afterwards only "none" remains.
  incident::Action a;
  a.diag_type = incident::diag_type_of(sim::FaultType::kDiskFull);
  a.diag_target = L.node_token(0);
  a.write(h.action);
  h.step();
  mask = h.view().action_mask;
  CHECK(mask[m.diag_type() + incident::kNoClaim] == 1);
  for (int d = 1; d < incident::kNumDiagTypes; ++d) CHECK(mask[m.diag_type() + d] == 0);
}

TEST_CASE("autoscale masks: deltas only on services, agreeing with check, and moves only with placement") {
  for (bool placement : {false, true}) {
    CAPTURE(placement);
    EnvConfig c;
    c.autoscale.placement = placement;
    Harness h("autoscale", make_config(c), 5);
    const EnvSpec& s = h.env->spec();
    const TokenLayout& L = h.env->tokens();
    const autoscale::MaskLayout m{s.max_tokens};
    h.reset(2);
    long disagree = 0, scale_ins = 0;
    for (int step = 0; step < 120; ++step) {
      const std::uint8_t* mask = h.view().action_mask;
      const sim::Cluster& cl = h.env->cluster();
      for (int t = 0; t < s.max_tokens; ++t) {
        const sim::EntityRef e = L.entity_of(t);
        CHECK(mask[m.delta(t) + autoscale::kKeep] == 1);
        CHECK(mask[m.move(t) + autoscale::kStay] == 1);
        if (e.kind == sim::EntityKind::kService) {
          disagree += (mask[m.delta(t) + autoscale::kScaleIn] != 0) != cl.check({sim::Verb::kScaleIn, e}).accepted;
          disagree += (mask[m.delta(t) + autoscale::kScaleOut] != 0) != cl.check({sim::Verb::kScaleOut, e}).accepted;
          scale_ins += mask[m.delta(t) + autoscale::kScaleIn];
        } else {
          CHECK(mask[m.delta(t) + autoscale::kScaleIn] == 0);
          CHECK(mask[m.delta(t) + autoscale::kScaleOut] == 0);
        }
        const bool can_move = placement && e.kind == sim::EntityKind::kReplica &&
                              cl.check({sim::Verb::kMigrateReplica, e}).accepted;
        disagree += (mask[m.move(t) + autoscale::kMigrate] != 0) != can_move;
      }
      h.step_random(0.8);
    }
    CHECK(disagree == 0);
    CHECK(scale_ins > 0);
  }
}
