// `threshold`: the runbook an SRE team writes, over alerts and the telemetry scrape only (never
// the simulator's ground truth). Incident: the first rule below that has something to do acts,
// one remediation at a time with cool-downs; the rule that first acts also makes the episode's
// diagnosis claim. Autoscale: a static CPU-threshold scaler.
//
//   rule  when (alerts of the latest scrape)        remediation                        claim
//   1     NodeNotReady on a node                    drain_node it                      node_failure, that node
//   2     DiskPressure on a node                    clean_disk it                      disk_full, that node
//   3     HighCpu on replicas                       kill_process on the hottest        runaway_process, that replica
//         ... on half or more of a service's        scale_out the service (load,       traffic_surge, the entry
//         ready replicas (at least two)             not a runaway process)             service
//   4     OomKilled / CrashLooping on a replica     restart_replica it; after          memory_leak, its service
//                                                   restarts_before_rollback restarts
//                                                   of a recently deployed service:
//                                                   rollback the service
//   5     HighErrorRate on services                 the most downstream erroring       bad_deploy (rollback) or
//                                                   service: rollback if it was        dependency_failure (restart),
//                                                   deployed recently, else            that service
//                                                   restart_service (waits while
//                                                   that is not possible)
//   6     only HighLatency firing                   scale_out the busiest (CPU)        traffic_surge, the entry
//                                                   service with HighLatency           service (most traffic)
// The same remediation on the same target waits repeat_cooldown_steps (scale_out only the global
// cool-down), so that a rollout can finish and an OomKilled alert clear.
#include <algorithm>
#include <optional>

#include <opsrl/envs/actions.hpp>
#include <opsrl/agents/baselines.hpp>
#include <opsrl/agents/per_env_policy.hpp>

#include "runbook.hpp"

namespace opsrl::agents {
namespace {

using envs::TaskId;
using sim::AlertRule;
using sim::FaultType;
using sim::Verb;

struct Decision {
  Verb verb = Verb::kNoop;
  int target = 0;
  FaultType claim = FaultType::kRunawayProcess;
  int claim_token = 0;
};

// The entry service taking the most traffic now: where a surge comes in.
int entry_service(const sim::Telemetry& tm, const sim::Scenario& sc) {
  int entry = 0;
  double best = -1;
  for (int svc = 0; svc < static_cast<int>(sc.services.size()); ++svc)
    if (sc.services[static_cast<std::size_t>(svc)].traffic_share > 0 && tm.services(svc, sim::kSvcRequestRate) > best) {
      entry = svc;
      best = tm.services(svc, sim::kSvcRequestRate);
    }
  return entry;
}

struct ThresholdState {
  int step = 0;
  int quiet_until = 0;                 // incident: no remediation before this step
  detail::RecentActions recent;        // incident
  std::vector<int> service_restarts;   // incident: restart_replica per service (rule 4)
  // incident, the deploy log: a service's deploy age dropping means a rollout started. Rollouts
  // the runbook started itself (restart_service, rollback) are not deploys.
  std::vector<double> deploy_age;      // per service, at the previous scrape (s)
  std::vector<double> deployed_at;     // per service, cluster seconds of the last deploy seen (-inf: none)
  std::vector<int> own_rollout_step;   // per service, when the runbook last started a rollout
  std::vector<int> next_change;        // autoscale: per service, first step it may change again
  bool claimed = false;
};

class ThresholdPolicy final : public PerEnvPolicy<ThresholdState> {
 public:
  explicit ThresholdPolicy(ThresholdOptions o) : o_(o) {}

  std::string_view name() const override { return "threshold"; }
  std::string unsupported_reason(TaskId) const override { return {}; }

  void reset(const envs::VecEnv& vec) override {
    graphs_.clear();
    graph_of_.assign(static_cast<std::size_t>(vec.size()), 0);
    std::vector<const sim::Scenario*> seen;
    for (int i = 0; i < vec.size(); ++i) {
      const sim::Scenario* sc = &vec.env(i).cluster().scenario();
      auto it = std::find(seen.begin(), seen.end(), sc);
      if (it == seen.end()) {
        seen.push_back(sc);
        graphs_.emplace_back(*sc);
        it = seen.end() - 1;
      }
      graph_of_[static_cast<std::size_t>(i)] = static_cast<int>(it - seen.begin());
    }
    PerEnvPolicy::reset(vec);
  }

 protected:
  void start(const envs::VecEnv& vec, int env, ThresholdState& s) override {
    const int services = vec.env(env).cluster().num_services();
    s.service_restarts.assign(static_cast<std::size_t>(services), 0);
    s.next_change.assign(static_cast<std::size_t>(services), 0);
    const sim::Telemetry& tm = vec.env(env).cluster().telemetry();
    s.deploy_age.resize(static_cast<std::size_t>(services));
    for (int svc = 0; svc < services; ++svc) s.deploy_age[static_cast<std::size_t>(svc)] = tm.services(svc, sim::kSvcDeployAge);
    s.deployed_at.assign(static_cast<std::size_t>(services), -1e300);
    s.own_rollout_step.assign(static_cast<std::size_t>(services), -1000);
  }

  // decide() keeps only what it reads off the telemetry (the deploy log); taken() keeps what the
  // runbook did (cool-downs, restarts, the claim) from the row the env really stepped with, so
  // that a recording with action noise (opsrl record --action-noise) shows the runbook retrying
  // a remediation that did not run rather than waiting out its cool-down.
  void decide(const envs::VecEnv& vec, int env, ThresholdState& s, std::span<std::int32_t> row) override {
    if (vec.spec(env).task_id == TaskId::kIncident) incident(vec, env, s, row);
    else autoscale(vec, env, s, row);
  }
  void taken(const envs::VecEnv& vec, int env, ThresholdState& s, std::span<const std::int32_t> row) override {
    if (vec.spec(env).task_id == TaskId::kIncident) taken_incident(vec, env, s, row);
    else taken_autoscale(vec, env, s, row);
    ++s.step;
  }

 private:
  void incident(const envs::VecEnv& vec, int env, ThresholdState& s, std::span<std::int32_t> row) const;
  void autoscale(const envs::VecEnv& vec, int env, const ThresholdState& s, std::span<std::int32_t> row) const;
  void taken_incident(const envs::VecEnv& vec, int env, ThresholdState& s, std::span<const std::int32_t> row) const;
  void taken_autoscale(const envs::VecEnv& vec, int env, ThresholdState& s, std::span<const std::int32_t> row) const;

  ThresholdOptions o_;
  std::vector<detail::CallGraph> graphs_;  // one per distinct scenario among the envs
  std::vector<int> graph_of_;              // (envs) index into graphs_
};

void ThresholdPolicy::incident(const envs::VecEnv& vec, int env, ThresholdState& s, std::span<std::int32_t> row) const {
  const envs::Env& e = vec.env(env);
  const sim::Cluster& c = e.cluster();  // read only: telemetry(), scenario() and static topology
  const sim::Telemetry& tm = c.telemetry();
  const sim::Scenario& sc = c.scenario();
  const envs::TokenLayout& L = e.tokens();
  const detail::IncidentMask m{mask(vec, env), envs::incident::MaskLayout{vec.spec(env).max_tokens}};
  const detail::CallGraph& graph = graphs_[static_cast<std::size_t>(graph_of_[static_cast<std::size_t>(env)])];
  // The same remediation on the same target waits repeat_cooldown_steps; adding capacity only
  // waits the global cool-down.
  auto usable = [&](Verb v, int token) {
    return m.remedy(v, token) && (v == Verb::kScaleOut || !s.recent.within(v, token, s.step, o_.repeat_cooldown_steps));
  };
  const double now_s = sim::to_seconds(tm.time);
  for (int svc = 0; svc < c.num_services(); ++svc) {
    const auto k = static_cast<std::size_t>(svc);
    const double age = tm.services(svc, sim::kSvcDeployAge);
    if (age < s.deploy_age[k] && s.step - s.own_rollout_step[k] > 1) s.deployed_at[k] = now_s - age;
    s.deploy_age[k] = age;
  }
  auto recently_deployed = [&](int svc) { return now_s - s.deployed_at[static_cast<std::size_t>(svc)] < o_.recent_deploy_s; };

  bool firing[sim::kNumAlertRules] = {};
  for (const sim::Alert& a : tm.alerts) firing[static_cast<int>(a.rule)] = true;

  if (s.step < s.quiet_until) return;
  std::optional<Decision> d;
  // Rules 1 and 2: node alerts.
  for (const sim::Alert& a : tm.alerts) {
    if (d) break;
    if (a.rule == AlertRule::kNodeNotReady && usable(Verb::kDrainNode, L.node_token(a.entity.index)))
      d = Decision{Verb::kDrainNode, L.node_token(a.entity.index), FaultType::kNodeFailure, L.node_token(a.entity.index)};
  }
  for (const sim::Alert& a : tm.alerts) {
    if (d) break;
    if (a.rule == AlertRule::kDiskPressure && usable(Verb::kCleanDisk, L.node_token(a.entity.index)))
      d = Decision{Verb::kCleanDisk, L.node_token(a.entity.index), FaultType::kDiskFull, L.node_token(a.entity.index)};
  }
  // Rule 3: HighCpu. On at least half of a service's ready replicas (two or more) it is load:
  // scale that service out. Otherwise a process runs away: kill it on the hottest replica.
  if (!d) {
    int hottest = -1, loaded = -1;
    for (const sim::Alert& a : tm.alerts) {
      if (a.rule != AlertRule::kHighCpu) continue;
      const int svc = c.replica_service(a.entity.index);
      int hot = 0;
      for (const sim::Alert& b : tm.alerts) hot += b.rule == AlertRule::kHighCpu && c.replica_service(b.entity.index) == svc;
      if (hot >= 2 && 2 * hot >= static_cast<int>(tm.services(svc, sim::kSvcReadyReplicas))) {
        if (loaded < 0 && usable(Verb::kScaleOut, L.service_token(svc))) loaded = svc;
        continue;
      }
      if (!usable(Verb::kKillProcess, L.replica_token(a.entity.index))) continue;
      if (hottest < 0 || tm.replicas(a.entity.index, sim::kRepCpuUtil) > tm.replicas(hottest, sim::kRepCpuUtil))
        hottest = a.entity.index;
    }
    if (hottest >= 0)
      d = Decision{Verb::kKillProcess, L.replica_token(hottest), FaultType::kRunawayProcess, L.replica_token(hottest)};
    else if (loaded >= 0)
      d = Decision{Verb::kScaleOut, L.service_token(loaded), FaultType::kTrafficSurge, L.service_token(entry_service(tm, sc))};
  }
  // Rule 4: OOM-killed or crash-looping replicas.
  for (const sim::Alert& a : tm.alerts) {
    if (d) break;
    if (a.rule != AlertRule::kOomKilled && a.rule != AlertRule::kCrashLooping) continue;
    const int svc = c.replica_service(a.entity.index);
    const int svc_token = L.service_token(svc);
    if (recently_deployed(svc) && s.service_restarts[static_cast<std::size_t>(svc)] >= o_.restarts_before_rollback) {
      if (usable(Verb::kRollback, svc_token)) d = Decision{Verb::kRollback, svc_token, FaultType::kMemoryLeak, svc_token};
    } else if (usable(Verb::kRestartReplica, L.replica_token(a.entity.index))) {
      d = Decision{Verb::kRestartReplica, L.replica_token(a.entity.index), FaultType::kMemoryLeak, svc_token};
    }
  }
  // Rule 5: errors. Errors travel up the call graph, so the runbook acts on the erroring service
  // that calls no other erroring service (the highest error rate among several such).
  if (!d && firing[static_cast<int>(AlertRule::kHighErrorRate)]) {
    int root = -1;
    for (const sim::Alert& x : tm.alerts) {
      if (x.rule != AlertRule::kHighErrorRate) continue;
      const int a = x.entity.index;
      bool downstream_errors = false;
      for (const sim::Alert& y : tm.alerts)
        downstream_errors = downstream_errors ||
                            (y.rule == AlertRule::kHighErrorRate && y.entity.index != a && graph.reaches(a, y.entity.index));
      if (downstream_errors) continue;
      if (root < 0 || tm.services(a, sim::kSvcErrorRate) > tm.services(root, sim::kSvcErrorRate)) root = a;
    }
    if (root < 0) return;
    const int token = L.service_token(root);
    if (recently_deployed(root)) {
      if (usable(Verb::kRollback, token)) d = Decision{Verb::kRollback, token, FaultType::kBadDeploy, token};
    } else if (usable(Verb::kRestartService, token)) {
      d = Decision{Verb::kRestartService, token, FaultType::kDependencyFailure, token};
    }
    if (!d) return;  // wait for the rollout under way rather than act elsewhere
  }
  // Rule 6: latency alone: add capacity where CPU is highest.
  if (!d && firing[static_cast<int>(AlertRule::kHighLatency)] &&
      std::all_of(tm.alerts.begin(), tm.alerts.end(), [](const sim::Alert& a) { return a.rule == AlertRule::kHighLatency; })) {
    int busiest = -1;
    for (const sim::Alert& a : tm.alerts) {
      const int svc = a.entity.index;
      if (!usable(Verb::kScaleOut, L.service_token(svc))) continue;
      if (busiest < 0 || tm.services(svc, sim::kSvcCpuUtil) > tm.services(busiest, sim::kSvcCpuUtil)) busiest = svc;
    }
    if (busiest >= 0)
      d = Decision{Verb::kScaleOut, L.service_token(busiest), FaultType::kTrafficSurge, L.service_token(entry_service(tm, sc))};
  }
  if (!d) return;

  envs::incident::Action a;
  a.verb = d->verb;
  a.target = d->target;
  if (!s.claimed && m.claim(envs::incident::diag_type_of(d->claim), d->claim_token)) {
    a.diag_type = envs::incident::diag_type_of(d->claim);
    a.diag_target = d->claim_token;
  }
  a.write(row);
}

void ThresholdPolicy::taken_incident(const envs::VecEnv& vec, int env, ThresholdState& s,
                                     std::span<const std::int32_t> row) const {
  namespace inc = envs::incident;
  if (row[inc::kDiagType] != inc::kNoClaim) s.claimed = true;
  const auto verb = static_cast<Verb>(row[inc::kVerb]);
  if (verb == Verb::kNoop) return;
  const int target = row[inc::kTarget];
  const envs::TokenLayout& L = vec.env(env).tokens();
  s.recent.note(verb, target, s.step);
  if (verb == Verb::kRollback || verb == Verb::kRestartService)
    s.own_rollout_step[static_cast<std::size_t>(L.entity_of(target).index)] = s.step;
  if (verb == Verb::kRestartReplica)
    ++s.service_restarts[static_cast<std::size_t>(vec.env(env).cluster().replica_service(L.entity_of(target).index))];
  s.quiet_until = s.step + o_.cooldown_steps;
}

void ThresholdPolicy::autoscale(const envs::VecEnv& vec, int env, const ThresholdState& s, std::span<std::int32_t> row) const {
  const envs::Env& e = vec.env(env);
  const sim::Telemetry& tm = e.cluster().telemetry();
  const envs::TokenLayout& L = e.tokens();
  const std::uint8_t* m = mask(vec, env);
  const envs::autoscale::MaskLayout ml{vec.spec(env).max_tokens};
  const envs::autoscale::Columns cols{vec.spec(env).max_tokens};
  for (int svc = 0; svc < L.num_services; ++svc) {
    if (s.step < s.next_change[static_cast<std::size_t>(svc)]) continue;
    const int token = L.service_token(svc);
    const double cpu = tm.services(svc, sim::kSvcCpuUtil);
    int delta = envs::autoscale::kKeep;
    if (cpu > o_.scale_out_cpu) delta = envs::autoscale::kScaleOut;
    else if (cpu < o_.scale_in_cpu) delta = envs::autoscale::kScaleIn;
    if (delta == envs::autoscale::kKeep || !m[ml.delta(token) + delta]) continue;
    row[static_cast<std::size_t>(cols.delta(token))] = delta;
  }
}

void ThresholdPolicy::taken_autoscale(const envs::VecEnv& vec, int env, ThresholdState& s,
                                      std::span<const std::int32_t> row) const {
  const envs::TokenLayout& L = vec.env(env).tokens();
  const envs::autoscale::Columns cols{vec.spec(env).max_tokens};
  for (int svc = 0; svc < L.num_services; ++svc)
    if (row[static_cast<std::size_t>(cols.delta(L.service_token(svc)))] != envs::autoscale::kKeep)
      s.next_change[static_cast<std::size_t>(svc)] = s.step + o_.scale_cooldown_steps;
}

}  // namespace

std::unique_ptr<Policy> make_threshold_policy(ThresholdOptions threshold) {
  return std::make_unique<ThresholdPolicy>(threshold);
}

}  // namespace opsrl::agents

OPSRL_REGISTER_POLICY(threshold,
                      "SRE runbook over alerts and telemetry, claim from the rule that fired; CPU thresholds on autoscale",
                      [](const opsrl::agents::PolicyOptions&) { return opsrl::agents::make_threshold_policy(); });
