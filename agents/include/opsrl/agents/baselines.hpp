#pragma once
// The baseline policies, registered by name (make_policy("threshold")) with their default
// options; these factories build them with other options. agents/README.md describes each rule.
//
// name        incident                                   autoscale
// noop        never acts, never claims                   keeps every replica count
// random      masked uniform over every head              masked uniform delta per service
// threshold   SRE runbook over alerts and telemetry      static CPU thresholds (> 0.8 +1, < 0.3 -1)
// hpa         refused (only scales, never diagnoses)     Kubernetes HPA rule, one replica per step
// oracle      ground truth: best remedy, right claim     replicas for utilisation 0.6 at the true rate
#include <memory>
#include <string>

#include <opsrl/sim/time.hpp>
#include <opsrl/agents/policy.hpp>

namespace opsrl::agents {

// Parameter   Default   Meaning
// p_default   0         chance that an entry takes 0 (noop / no claim / keep) when 0 is allowed,
//                       before the uniform draw (0: plain masked uniform)
struct RandomOptions {
  double p_default = 0.0;
};

// Parameter                 Default   Meaning
// cooldown_steps            4         incident: steps after a remediation before the next one (1 min)
// repeat_cooldown_steps     20        incident: steps before the same verb on the same target again (5 min:
//                                     a rollout finishes, an OomKilled alert clears)
// recent_deploy_s           1800      incident: a service with a deploy in the last this many seconds "had a
//                                     deploy": errors there are rolled back, not restarted. Deploys are read
//                                     off the scrape like a deploy log: service_deploy_age_seconds dropping
//                                     means a rollout started (one the runbook started itself is not a deploy)
// restarts_before_rollback  2         incident: after this many restart_replica on OOM-killed or crash-looping
//                                     replicas of a recently deployed service, roll the service back
// scale_out_cpu             0.8       autoscale: service CPU utilisation above which to add a replica
// scale_in_cpu              0.3       autoscale: below which to remove one
// scale_cooldown_steps      4         autoscale: steps between two changes of one service (1 min)
struct ThresholdOptions {
  int cooldown_steps = 4;
  int repeat_cooldown_steps = 20;
  double recent_deploy_s = 1800;
  int restarts_before_rollback = 2;
  double scale_out_cpu = 0.8;
  double scale_in_cpu = 0.3;
  int scale_cooldown_steps = 4;
};

// The Kubernetes HPA (autoscaling/v2) rule on CPU utilisation, evaluated every step (a 15 s
// sync period), per service:
//   util = mean CPU / request over its replicas (the scrape's service_cpu_utilisation)
//   rec  = |util/target - 1| <= tolerance ? desired : ceil(ready x util / target), clamped to
//          [min_replicas, max_replicas]     (starting replicas count as 0 % usage, as in k8s)
//   up   = rec                              (scale-up stabilisation window 0, the k8s default)
//   down = max(rec over the last stabilization_window)
//   goal = desired < up ? up : desired > down ? down : desired
// The action space moves one replica per service per step, so the policy steps toward `goal`
// by one replica a step (k8s could add up to max(4, 100 %) per 15 s).
//
// Parameter              Default   Meaning
// target                 0.6       target CPU utilisation
// tolerance              0.1       no change while util/target is within 1 +- tolerance
// stabilization_window   5 min     scale-down stabilisation (highest recommendation in the window)
struct HpaOptions {
  double target = 0.6;
  double tolerance = 0.1;
  sim::SimTime stabilization_window = 5 * sim::kMinute;
};

// Parameter            Default   Meaning
// target_utilisation   0.6       autoscale: replicas so that arrival x cpu_per_request / (replicas x
//                                cpu_request) stays at this
// surge_utilisation    0.75      incident, traffic surge: scale out the busiest service while its
//                                utilisation at its desired replicas is above this (the surge counts
//                                as mitigated once every service is below 0.85)
// scale_in_margin      1.15      autoscale: scale in only while the replicas for rate x margin are fewer
//                                (keeps measurement noise from flapping)
// repeat_steps         8         incident: steps before re-issuing the same remedy on a fault still active
// reaction_delay       0         incident: a fault is ignored (no claim, no remedy) until it has run this
//                                long; `oracle_late` uses 30 s (two scrapes)
// trend_window_steps   0         autoscale: scrapes back over which the arrival rate's rise is measured,
//                                read from the observation's history (0: no trend; below the history)
// trend_lookahead_steps 0        autoscale: scale out for rate + rise per scrape x this many scrapes
//                                (a new replica needs startup_seconds to serve: scale ahead of a ramp)
struct OracleOptions {
  double target_utilisation = 0.6;
  double surge_utilisation = 0.75;
  double scale_in_margin = 1.15;
  int repeat_steps = 8;
  sim::SimTime reaction_delay = 0;
  int trend_window_steps = 0;
  double trend_lookahead_steps = 0;
};

std::unique_ptr<Policy> make_noop_policy();
std::unique_ptr<Policy> make_random_policy(const PolicyOptions& options = {}, RandomOptions random = {});
std::unique_ptr<Policy> make_threshold_policy(ThresholdOptions threshold = {});
std::unique_ptr<Policy> make_hpa_policy(HpaOptions hpa = {});
// `name` is what tables call it ("oracle", "oracle_late", "oracle_lean": the registered variants).
std::unique_ptr<Policy> make_oracle_policy(OracleOptions oracle = {}, std::string name = "oracle");

}  // namespace opsrl::agents
