// `oracle`: reads the simulator's ground truth (the faults, their types and roots) and applies
// the best remedy as soon as a fault starts, with the right diagnosis claim: an upper bound for
// the incident task. On control episodes and before any onset it does nothing. On autoscale it
// keeps each service at the replicas its true arrival rate needs for the target utilisation
// (with a trend window: the rate extrapolated along its recent rise).
//
//   fault                               remedy (first one the mask allows)
//   runaway_process                     kill_process the root replica, else restart_replica it
//   memory_leak, bad_deploy             rollback the root service (waits for the faulty rollout to finish)
//   noisy_neighbour, node_failure,
//   network_degradation                 drain_node the root node
//   traffic_surge                       scale_out the service whose utilisation at the current
//                                       replicas is highest, while some is above the target
//   dependency_failure                  restart_service the root service
//   disk_full                           clean_disk the root node
#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include <opsrl/envs/actions.hpp>
#include <opsrl/envs/features.hpp>
#include <opsrl/agents/baselines.hpp>
#include <opsrl/agents/per_env_policy.hpp>

#include "runbook.hpp"

namespace opsrl::agents {
namespace {

using envs::TaskId;
using sim::FaultType;
using sim::Verb;

struct OracleState {
  int step = 0;
  bool claimed = false;
  detail::RecentActions recent;
};

class OraclePolicy final : public PerEnvPolicy<OracleState> {
 public:
  OraclePolicy(OracleOptions o, std::string name) : o_(o), name_(std::move(name)) {
    if (!(o_.target_utilisation > 0 && o_.target_utilisation < 1))
      throw std::invalid_argument(fmt::format("oracle: target_utilisation must be in (0, 1), got {}", o_.target_utilisation));
    if (!(o_.surge_utilisation > 0 && o_.surge_utilisation < 0.85))
      throw std::invalid_argument(fmt::format("oracle: surge_utilisation must be in (0, 0.85), got {}", o_.surge_utilisation));
    if (o_.reaction_delay < 0)
      throw std::invalid_argument(fmt::format("oracle: reaction_delay must be >= 0, got {} s", sim::to_seconds(o_.reaction_delay)));
    if (!(o_.scale_in_margin >= 1))
      throw std::invalid_argument(fmt::format("oracle: scale_in_margin must be >= 1, got {}", o_.scale_in_margin));
    if (o_.trend_window_steps < 0 || !(o_.trend_lookahead_steps >= 0))
      throw std::invalid_argument(fmt::format("oracle: trend_window_steps and trend_lookahead_steps must be >= 0, got {} and {}",
                                              o_.trend_window_steps, o_.trend_lookahead_steps));
  }

  std::string_view name() const override { return name_; }
  std::string unsupported_reason(TaskId) const override { return {}; }

 protected:
  void start(const envs::VecEnv& vec, int env, OracleState&) override {
    if (o_.trend_window_steps >= vec.spec(env).history)
      throw std::invalid_argument(fmt::format("oracle: trend_window_steps ({}) must be below the observation's history ({} scrapes)",
                                              o_.trend_window_steps, vec.spec(env).history));
  }
  // decide() only reads the state and taken() keeps it, so that the oracle can teach: its
  // memory (claimed, recent remedies) follows the rows the envs really stepped with.
  void decide(const envs::VecEnv& vec, int env, OracleState& s, std::span<std::int32_t> row) override {
    if (vec.spec(env).task_id == TaskId::kIncident) incident(vec, env, s, row);
    else autoscale(vec, env, row);
  }
  void taken(const envs::VecEnv& vec, int env, OracleState& s, std::span<const std::int32_t> row) override {
    if (vec.spec(env).task_id == TaskId::kIncident) {
      namespace inc = envs::incident;
      if (row[inc::kDiagType] != inc::kNoClaim) s.claimed = true;
      if (const auto verb = static_cast<Verb>(row[inc::kVerb]); verb != Verb::kNoop) s.recent.note(verb, row[inc::kTarget], s.step);
    }
    ++s.step;
  }

 private:
  void incident(const envs::VecEnv& vec, int env, const OracleState& s, std::span<std::int32_t> row) const;
  void autoscale(const envs::VecEnv& vec, int env, std::span<std::int32_t> row) const;
  // The service to scale out for a surge: the highest utilisation at its desired replicas, if
  // above surge_utilisation and scale_out is allowed; -1 if none.
  int surge_service(const envs::Env& e, const detail::IncidentMask& m) const;

  OracleOptions o_;
  std::string name_;
};

int OraclePolicy::surge_service(const envs::Env& e, const detail::IncidentMask& m) const {
  const sim::Cluster& c = e.cluster();
  const sim::Telemetry& tm = c.telemetry();
  int best = -1;
  double best_util = o_.surge_utilisation;
  for (int svc = 0; svc < c.num_services(); ++svc) {
    const sim::ServiceSpec& spec = c.scenario().services[static_cast<std::size_t>(svc)];
    const double desired = std::max(1.0, tm.services(svc, sim::kSvcDesiredReplicas));
    const double util = tm.services(svc, sim::kSvcRequestRate) * spec.cpu_seconds_per_request / (desired * spec.cpu_request);
    if (util > best_util && m.remedy(Verb::kScaleOut, e.tokens().service_token(svc))) {
      best = svc;
      best_util = util;
    }
  }
  return best;
}

void OraclePolicy::incident(const envs::VecEnv& vec, int env, const OracleState& s, std::span<std::int32_t> row) const {
  const envs::Env& e = vec.env(env);
  const sim::Cluster& c = e.cluster();
  const envs::TokenLayout& L = e.tokens();
  const detail::IncidentMask m{mask(vec, env), envs::incident::MaskLayout{vec.spec(env).max_tokens}};
  const sim::SimTime now = c.now();
  envs::incident::Action a;

  // The faults that have started, earliest onset first (injection order breaks ties).
  const std::vector<sim::FaultRecord>& faults = c.faults();
  std::array<int, envs::kMaxFaults> order{};
  int started = 0;
  for (int k = 0; k < static_cast<int>(faults.size()) && started < envs::kMaxFaults; ++k)
    if (faults[static_cast<std::size_t>(k)].spec.onset + o_.reaction_delay <= now) order[static_cast<std::size_t>(started++)] = k;
  std::stable_sort(order.begin(), order.begin() + started,
                   [&](int x, int y) { return faults[static_cast<std::size_t>(x)].spec.onset < faults[static_cast<std::size_t>(y)].spec.onset; });
  if (started == 0) return;  // control episode, or before the onset (+ delay): nothing to do yet

  if (!s.claimed) {
    // The earliest fault still active (else the earliest): right type, right root.
    int pick = order[0];
    for (int k = 0; k < started; ++k)
      if (faults[static_cast<std::size_t>(order[static_cast<std::size_t>(k)])].active) {
        pick = order[static_cast<std::size_t>(k)];
        break;
      }
    const sim::FaultSpec& f = faults[static_cast<std::size_t>(pick)].spec;
    const int type = envs::incident::diag_type_of(f.type);
    const int token = L.token_of(f.root);
    if (m.claim(type, token)) {
      a.diag_type = type;
      a.diag_target = token;
    }
  }

  auto fresh = [&](Verb v, int token) { return m.remedy(v, token) && !s.recent.within(v, token, s.step, o_.repeat_steps); };
  for (int k = 0; k < started && a.verb == Verb::kNoop; ++k) {
    const sim::FaultRecord& f = faults[static_cast<std::size_t>(order[static_cast<std::size_t>(k)])];
    if (!f.active) continue;
    const int root = L.token_of(f.spec.root);
    auto choose = [&](Verb v, int token) {
      if (a.verb != Verb::kNoop || !fresh(v, token)) return;
      a.verb = v;
      a.target = token;
    };
    switch (f.spec.type) {
      case FaultType::kRunawayProcess:
        choose(Verb::kKillProcess, root);
        choose(Verb::kRestartReplica, root);
        break;
      case FaultType::kMemoryLeak:
      case FaultType::kBadDeploy: choose(Verb::kRollback, root); break;
      case FaultType::kNoisyNeighbour:
      case FaultType::kNodeFailure:
      case FaultType::kNetworkDegradation: choose(Verb::kDrainNode, root); break;
      case FaultType::kTrafficSurge:
        if (const int svc = surge_service(e, m); svc >= 0) {
          a.verb = Verb::kScaleOut;
          a.target = L.service_token(svc);
        }
        break;
      case FaultType::kDependencyFailure: choose(Verb::kRestartService, root); break;
      case FaultType::kDiskFull: choose(Verb::kCleanDisk, root); break;
      case FaultType::kCount: break;
    }
  }
  a.write(row);
}

void OraclePolicy::autoscale(const envs::VecEnv& vec, int env, std::span<std::int32_t> row) const {
  const envs::Env& e = vec.env(env);
  const sim::Telemetry& tm = e.cluster().telemetry();
  const sim::Scenario& sc = e.cluster().scenario();
  const envs::TokenLayout& L = e.tokens();
  const std::uint8_t* m = mask(vec, env);
  const envs::autoscale::MaskLayout ml{vec.spec(env).max_tokens};
  const envs::autoscale::Columns cols{vec.spec(env).max_tokens};
  const envs::feature::Layout layout(vec.spec(env).history);
  const auto F = static_cast<std::size_t>(vec.observations().feature_width());
  const float* features = vec.observations().features().data() + static_cast<std::size_t>(env) * static_cast<std::size_t>(vec.max_tokens()) * F;
  for (int svc = 0; svc < L.num_services; ++svc) {
    const sim::ServiceSpec& spec = sc.services[static_cast<std::size_t>(svc)];
    const double rate = tm.services(svc, sim::kSvcRequestRate);
    double ahead = rate;
    if (o_.trend_window_steps > 0) {
      // The rise over the window, read from the observation's rate history (what a learner sees;
      // it is also restored exactly on --resume, where a memory of past scrapes would not be).
      const float* f = features + static_cast<std::size_t>(L.service_token(svc)) * F;
      const double now = f[layout.service.newest(envs::feature::kSvcRate)];
      const double then = f[layout.service.hist(envs::feature::kSvcRate, o_.trend_window_steps)];
      if (now > 0 && then > 0) ahead += rate * std::max(0.0, 1.0 - then / now) / o_.trend_window_steps * o_.trend_lookahead_steps;
    }
    const int desired = static_cast<int>(tm.services(svc, sim::kSvcDesiredReplicas));
    int delta = envs::autoscale::kKeep;
    if (desired < detail::replicas_for(spec, ahead, o_.target_utilisation)) delta = envs::autoscale::kScaleOut;
    else if (desired > detail::replicas_for(spec, ahead * o_.scale_in_margin, o_.target_utilisation)) delta = envs::autoscale::kScaleIn;
    const int token = L.service_token(svc);
    if (delta != envs::autoscale::kKeep && m[ml.delta(token) + delta]) row[static_cast<std::size_t>(cols.delta(token))] = delta;
  }
}

}  // namespace

std::unique_ptr<Policy> make_oracle_policy(OracleOptions oracle, std::string name) {
  return std::make_unique<OraclePolicy>(oracle, std::move(name));
}

}  // namespace opsrl::agents

OPSRL_REGISTER_POLICY(oracle,
                      "reads the ground truth: best remedy and right claim at once; utilisation 0.6 on autoscale",
                      [](const opsrl::agents::PolicyOptions&) { return opsrl::agents::make_oracle_policy(); });

// The oracle an engineer paged by symptoms would be: the same ground-truth remedies, 30 s (two
// scrapes) after each onset. Its recordings are what imitation needs: the plain oracle acts at
// the onset, when the observation does not show the fault yet (docs/results.md, offline training).
OPSRL_REGISTER_POLICY(oracle_late, "the oracle, acting 30 s after each onset (when the telemetry starts to show it)",
                      [](const opsrl::agents::PolicyOptions&) {
                        opsrl::agents::OracleOptions o;
                        o.reaction_delay = 30 * opsrl::sim::kSecond;
                        return opsrl::agents::make_oracle_policy(o, "oracle_late");
                      });

// The oracle's autoscaler run lean: utilisation 0.7, scale-in margin 1.1. On the default
// scenario with a surge an hour it keeps HPA's SLO minutes at about 12 % less replica cost
// (agents/README.md): the autoscale teacher of `opsrl train`'s [teacher]. Incident: as the oracle.
OPSRL_REGISTER_POLICY(oracle_lean, "the oracle with an autoscale target of 0.7 and a scale-in margin of 1.1 (lean replicas)",
                      [](const opsrl::agents::PolicyOptions&) {
                        opsrl::agents::OracleOptions o;
                        o.target_utilisation = 0.7;
                        o.scale_in_margin = 1.1;
                        return opsrl::agents::make_oracle_policy(o, "oracle_lean");
                      });

// The oracle's autoscaler ahead of ramps: utilisation 0.73, scale-in margin 1.12, and scale-out
// for the rate extrapolated 4 scrapes (1 min) along its rise over the last 3 (what a learner's
// 4-scrape history shows). On the default scenario with a surge an hour: HPA's SLO minutes at
// 11-12 % less replica cost (agents/README.md). Incident: as the oracle.
OPSRL_REGISTER_POLICY(oracle_trend,
                      "the oracle scaling out ahead of a rising arrival rate (utilisation 0.73, 1 min look-ahead, "
                      "scale-in margin 1.12)",
                      [](const opsrl::agents::PolicyOptions&) {
                        opsrl::agents::OracleOptions o;
                        o.target_utilisation = 0.73;
                        o.scale_in_margin = 1.12;
                        o.trend_window_steps = 3;
                        o.trend_lookahead_steps = 4;
                        return opsrl::agents::make_oracle_policy(o, "oracle_trend");
                      });
