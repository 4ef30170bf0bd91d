// For every fault type: its symptoms appear, its correct remedy restores the SLO, and a wrong
// remedy does not. Default scenario, fault at 10 min with severity 0.8, noisy telemetry.
#include <functional>
#include <string>

#include <doctest/doctest.h>

#include <opsrl/sim/cluster.hpp>

using namespace opsrl::sim;

namespace {

constexpr SimTime kOnset = 6 * kHour;  // mean traffic: the diurnal curve crosses base_rps
constexpr SimTime kPeak = 12 * kHour;  // diurnal peak: little headroom
constexpr SimTime kWindow = 3 * kMinute;  // SLO judged over the last minutes before a check

struct FaultCase {
  FaultType type;
  SimTime onset;
  std::string root;         // entity name; "@node-of:<replica>" picks the node running it
  SimTime act_after;        // remedy applied this long after onset
  SimTime verify_after;     // SLO checked this long after the remedy
  std::function<bool(const Cluster&, EntityRef)> symptom;
  std::function<void(Cluster&, EntityRef)> remedy;
  std::function<void(Cluster&, EntityRef)> wrong;
};

EntityRef resolve(const Cluster& c, const std::string& name) {
  if (name.rfind("@node-of:", 0) == 0) {
    const EntityRef replica = c.find_entity(name.substr(9));
    return {EntityKind::kNode, static_cast<int>(c.telemetry().replicas(replica.index, kRepNode))};
  }
  return c.find_entity(name);
}

void act(Cluster& c, Verb v, EntityRef e) {
  const ActionResult r = c.apply({v, e});
  REQUIRE_MESSAGE(r.accepted, verb_info(v).name, " refused: ", r.reason);
}

void act(Cluster& c, Verb v, const std::string& name) { act(c, v, c.find_entity(name)); }

const Telemetry& tm(const Cluster& c) { return c.telemetry(); }
double svc(const Cluster& c, const char* name, ServiceMetric m) { return tm(c).services(c.find_entity(name).index, m); }

// Scale out every service whose replicas run hot, as an operator would during a surge.
void scale_hot_services(Cluster& c) {
  for (int s = 0; s < c.num_services(); ++s)
    for (int k = 0; k < 3 && tm(c).services(s, kSvcCpuUtil) > 0.7; ++k)
      if (c.apply({Verb::kScaleOut, {EntityKind::kService, s}}).accepted) continue;
}

std::vector<FaultCase> cases() {
  using enum Verb;
  return {
      {FaultType::kRunawayProcess, kOnset, "catalog-1", 5 * kMinute, 10 * kMinute,
       [](const Cluster& c, EntityRef e) { return tm(c).replicas(e.index, kRepCpuUtil) > 0.9; },
       [](Cluster& c, EntityRef e) { act(c, kKillProcess, e); },
       [](Cluster& c, EntityRef) { act(c, kScaleOut, "catalog"); }},
      {FaultType::kMemoryLeak, kOnset, "cart", 15 * kMinute, 10 * kMinute,
       [](const Cluster& c, EntityRef e) {
         return tm(c).services(e.index, kSvcRestarts) >= 2 && c.counters().oom_kills >= 1;
       },
       [](Cluster& c, EntityRef e) { act(c, kRollback, e); },
       [](Cluster& c, EntityRef) { act(c, kRestartReplica, "cart-0"); }},
      {FaultType::kBadDeploy, kOnset, "catalog", 5 * kMinute, 10 * kMinute,
       [](const Cluster& c, EntityRef e) {
         return tm(c).services(e.index, kSvcDeployAge) < 600 &&
                (tm(c).services(e.index, kSvcErrorRate) > 0.02 || tm(c).services(e.index, kSvcLatencyP99) > 300);
       },
       [](Cluster& c, EntityRef e) { act(c, kRollback, e); },
       [](Cluster& c, EntityRef e) { act(c, kScaleOut, e); }},
      {FaultType::kNoisyNeighbour, kOnset, "@node-of:frontend-0", 5 * kMinute, 10 * kMinute,
       [](const Cluster& c, EntityRef e) {
         return tm(c).nodes(e.index, kNodeCpuUtil) > 0.9 && tm(c).replicas(c.find_entity("frontend-0").index, kRepCpuUtil) < 0.9;
       },
       [](Cluster& c, EntityRef e) { act(c, kDrainNode, e); },
       [](Cluster& c, EntityRef) { act(c, kKillProcess, "frontend-0"); }},
      {FaultType::kNodeFailure, kPeak, "@node-of:postgres-db-0", 1 * kMinute, 5 * kMinute,
       [](const Cluster& c, EntityRef e) {
         return tm(c).nodes(e.index, kNodeReady) == 0 && svc(c, "postgres-db", kSvcReadyReplicas) < 2;
       },
       [](Cluster& c, EntityRef e) { act(c, kDrainNode, e); },
       [](Cluster& c, EntityRef) { act(c, kRestartService, "catalog"); }},
      {FaultType::kTrafficSurge, kOnset, "frontend", 3 * kMinute, 10 * kMinute,
       [](const Cluster& c, EntityRef e) { return tm(c).services(e.index, kSvcRequestRate) > 1.5 * 400; },
       [](Cluster& c, EntityRef) { scale_hot_services(c); },
       [](Cluster& c, EntityRef e) { act(c, kRestartService, e); }},
      {FaultType::kDependencyFailure, kOnset, "postgres-db", 5 * kMinute, 10 * kMinute,
       [](const Cluster& c, EntityRef e) {
         return tm(c).services(e.index, kSvcCpuUtil) < 0.2 && svc(c, "frontend", kSvcErrorRate) > 0.05;
       },
       [](Cluster& c, EntityRef e) { act(c, kRestartService, e); },
       [](Cluster& c, EntityRef) { act(c, kScaleOut, "frontend"); }},
      {FaultType::kDiskFull, kOnset, "@node-of:redis-cache-0", 20 * kMinute, 5 * kMinute,
       [](const Cluster& c, EntityRef e) {
         return tm(c).nodes(e.index, kNodeDiskUtil) > 0.95 && svc(c, "redis-cache", kSvcErrorRate) > 0.05;
       },
       [](Cluster& c, EntityRef e) { act(c, kCleanDisk, e); },
       [](Cluster& c, EntityRef) { act(c, kRestartReplica, "redis-cache-0"); }},
      {FaultType::kNetworkDegradation, kOnset, "@node-of:catalog-0", 5 * kMinute, 10 * kMinute,
       [](const Cluster& c, EntityRef e) {
         return tm(c).nodes(e.index, kNodeNetDelayMs) > 30 && tm(c).nodes(e.index, kNodeCpuUtil) < 0.8;
       },
       [](Cluster& c, EntityRef e) { act(c, kDrainNode, e); },
       [](Cluster& c, EntityRef e) { act(c, kCleanDisk, e); }},
  };
}

}  // namespace

TEST_CASE("every fault type: symptoms, correct remedy restores the SLO, wrong remedy does not") {
  const ScenarioPtr sc = load_scenario("default");
  const auto all = cases();
  REQUIRE(all.size() == static_cast<std::size_t>(kNumFaultTypes));
  for (const FaultCase& fc : all) {
    const std::string name(fault_info(fc.type).name);
    SUBCASE(name.c_str()) {
      Cluster base(sc, 5);
      base.run_until(fc.onset - kSecond);
      REQUIRE(base.counters().slo_violation_seconds == 0);
      const EntityRef root = resolve(base, fc.root);
      REQUIRE(root.kind == fault_info(fc.type).root_kind);
      base.inject({fc.type, fc.onset, root, 0.8});
      const SimTime act_at = fc.onset + fc.act_after;
      base.run_until(act_at);
      CHECK_MESSAGE(fc.symptom(base, root), name, ": symptom missing");
      CHECK_MESSAGE(base.counters().slo_violation_seconds > 0, name, ": SLO not broken by the fault");
      CHECK(base.faults()[0].active);

      // Each branch runs to the start of the judging window, then through it.
      const SimTime verify_at = act_at + fc.verify_after;
      auto violated_in_window = [&](Cluster& c) {
        c.run_until(verify_at - kWindow);
        const double before = c.counters().slo_violation_seconds;
        c.run_until(verify_at);
        return c.counters().slo_violation_seconds - before;
      };
      Cluster fixed = base;
      fc.remedy(fixed, root);
      const double fixed_violation = violated_in_window(fixed);
      CHECK_MESSAGE(!fixed.faults()[0].active, name, ": correct remedy did not end the fault");
      CHECK_MESSAGE(fixed_violation == 0, name, ": correct remedy did not restore the SLO");
      CHECK(fixed.counters().actions_taken >= 1);

      Cluster wrong = base;
      fc.wrong(wrong, root);
      const double wrong_violation = violated_in_window(wrong);
      CHECK_MESSAGE(wrong_violation > 0, name, ": SLO restored by a wrong remedy");
      CHECK(wrong.counters().slo_violation_seconds > fixed.counters().slo_violation_seconds);
    }
  }
}

TEST_CASE("escalation fixes every active fault after 30 minutes") {
  Cluster c(load_scenario("default"), 5);
  c.inject({FaultType::kMemoryLeak, kOnset, c.find_entity("cart"), 0.8});
  c.inject({FaultType::kDependencyFailure, kOnset, c.find_entity("postgres-db"), 0.8});
  c.run_until(kOnset + kMinute);
  REQUIRE(c.apply({Verb::kEscalate, {}}).accepted);
  c.run_until(kOnset + 30 * kMinute);
  CHECK(c.any_fault_active());
  c.run_until(kOnset + 33 * kMinute);
  CHECK_FALSE(c.any_fault_active());
  CHECK(c.slo_ok_now());
  CHECK(c.counters().action_cost_usd == verb_info(Verb::kEscalate).cost_usd);
}

TEST_CASE("a memory leak ends in a loop of OOM kills and restarts") {
  Cluster c(load_scenario("default"), 5);
  std::vector<SimTime> ooms;
  c.set_timeline([&](const TimelineEntry& e) {
    if (e.what == "replica.oom_killed" && e.entity == c.find_entity("cart-0")) ooms.push_back(e.time);
  });
  c.inject({FaultType::kMemoryLeak, kOnset, c.find_entity("cart"), 1.0});
  c.run_until(kOnset + 2 * kHour);
  CHECK(ooms.size() >= 5);
  CHECK(c.counters().oom_kills >= 10);
}
