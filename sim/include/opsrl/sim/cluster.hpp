#pragma once
// The cluster simulator: a discrete-event model of nodes, services, replicas and traffic,
// with injected faults and remediation actions. Between events every continuous quantity
// (queue backlogs, memory and disk growth, request and cost counters) advances in closed form
// at the rates last computed; an event changes the state and the rates are recomputed.
//
//   Cluster c(load_scenario("default"), /*seed=*/7);
//   c.inject({FaultType::kMemoryLeak, 10 * kMinute, {EntityKind::kService, 2}});
//   c.run_until(30 * kMinute);            // telemetry() holds the latest scrape
//   c.apply({Verb::kRollback, {EntityKind::kService, 2}});
//
// Determinism: the run is a pure function of (scenario, seed, injected faults, actions and
// their times); each component draws from its own random stream.
#include <array>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <opsrl/sim/actions.hpp>
#include <opsrl/sim/event_queue.hpp>
#include <opsrl/sim/faults.hpp>
#include <opsrl/sim/queueing.hpp>
#include <opsrl/sim/rng.hpp>
#include <opsrl/sim/scenario.hpp>
#include <opsrl/sim/telemetry.hpp>
#include <opsrl/sim/traffic.hpp>

namespace opsrl::sim {

// Totals since the start of the run. External requests obey
//   requests_in == requests_served + requests_failed + requests_in_flight.
struct Counters {
  double requests_in = 0;         // external requests that arrived
  double requests_served = 0;     // answered successfully
  double requests_failed = 0;     // errors, time-outs, rejections, dropped on kill
  double requests_in_flight = 0;  // queued at entry replicas now
  double replica_seconds = 0;     // replica-seconds provisioned (starting, running or in back-off)
  double replica_cost_usd = 0;    // sum of replica-hours * cost_per_replica_hour
  double node_cost_usd = 0;       // sum of node-hours * cost_per_hour (ready nodes)
  double action_cost_usd = 0;     // cost of the actions taken
  double slo_violation_seconds = 0;  // time with an entry service outside its SLO (exact rates)
  std::int64_t actions_taken = 0;
  std::int64_t actions_refused = 0;
  std::int64_t oom_kills = 0;
  std::int64_t events_processed = 0;
};

// What happened, for timelines and recorders (see Cluster::set_timeline).
struct TimelineEntry {
  SimTime time;
  std::string_view what;   // e.g. "fault.onset", "replica.oom_killed", "alert.firing"
  EntityRef entity;
  std::string detail;      // free text, e.g. the fault type or the alert name
};

struct ClusterOptions {
  bool telemetry_noise = true;  // false: exact values (validation and tests)
};

// Fractional calls of a service that become branches of its latency mixture (the heaviest);
// any more are folded into the moments.
inline constexpr int kMaxMixtureCalls = 3;
inline constexpr int kMaxLatencyBranches = 1 << kMaxMixtureCalls;

class Cluster {
 public:
  Cluster(ScenarioPtr scenario, std::uint64_t seed, ClusterOptions options = {});

  // Back to time 0 with a new seed, keeping allocations.
  void reset(std::uint64_t seed);

  const Scenario& scenario() const { return *scenario_; }
  SimTime now() const { return now_; }

  // Schedules a fault. Returns its id (index into faults()). Throws std::invalid_argument if
  // the root entity is not of the fault's kind or out of range.
  int inject(const FaultSpec& fault);
  // Applies an action now. Refused actions change nothing but the refusal counter.
  ActionResult apply(const Action& action);
  // Applies several actions at the same instant, in order (each checked against the state the
  // previous ones left), recomputing rates once at the end. results.size() >= actions.size().
  void apply(std::span<const Action> actions, std::span<ActionResult> results);
  // Whether apply(action) would be accepted now, and if not why.
  ActionResult check(const Action& action) const;

  // Processes every event up to and including t, then advances continuous state to t.
  void run_until(SimTime t);

  const Telemetry& telemetry() const { return telemetry_; }
  const std::vector<FaultRecord>& faults() const { return faults_; }
  const Counters& counters() const { return counters_; }
  bool any_fault_active() const;

  // Called for every timeline entry; without a callback no detail text is formatted.
  void set_timeline(std::function<void(const TimelineEntry&)> fn) { timeline_ = std::move(fn); }
  // Called after every scrape, with the new telemetry.
  void set_scrape_hook(std::function<void(const Telemetry&)> fn) { scrape_hook_ = std::move(fn); }

  // Entities and names.
  int num_nodes() const { return static_cast<int>(nodes_.size()); }
  int num_services() const { return static_cast<int>(services_.size()); }
  int num_replica_slots() const { return static_cast<int>(replicas_.size()); }
  int replica_offset(int service) const { return services_[service].first_slot; }
  int replica_service(int slot) const { return replicas_[slot].service; }
  bool replica_running(int slot) const { return replicas_[slot].phase == Phase::kRunning; }
  bool rollout_in_progress(int service) const { return services_[service].rolling; }
  bool escalation_pending() const { return escalated_; }
  bool disk_cleaning(int node) const { return nodes_[node].cleaning; }
  std::string entity_name(EntityRef e) const;  // "node-3", "cart", "cart-1"
  // Finds "node-3", "cart" or "cart-1" (slot 1 of cart); kind kNone if nothing matches.
  EntityRef find_entity(std::string_view name) const;

  // Entry services' SLO at this instant (exact, not the noisy scrape).
  bool slo_ok_now() const;

 private:
  enum class Phase : std::uint8_t { kEmpty, kBackoff, kStarting, kRunning, kLost };
  enum EventKind : std::uint16_t {
    kScrape, kFaultOnset, kReplicaReady, kReplicaOom, kBackoffEnd, kEvictLost, kKillDone,
    kCleanDiskDone, kEscalationDone, kRolloutStep, kDiskFull, kSurgeEnd, kNodeMarkedNotReady,
  };

  struct NodeState {
    bool ready = true;
    bool cordoned = false;
    double disk_used = 0;       // fraction
    double disk_fill_rate = 0;  // fraction per second
    double foreign_cores = 0;   // cores used by a noisy neighbour
    double net_delay_ms = 0;
    double net_loss = 0;
    bool cleaning = false;
    EventHandle disk_full_event;
    EventHandle evict_event;
    // derived by recompute()
    double cpu_used = 0;
    double mem_used_gib = 0;
    int replicas = 0;
  };

  struct ReplicaState {
    int service = -1;
    int slot_in_service = 0;
    Phase phase = Phase::kEmpty;
    int node = -1;
    bool bad_version = false;  // runs the faulty version of its service
    double runaway = 0;        // share of its CPU limit a runaway process takes (0: none)
    bool hung = false;
    double mem_gib = 0;
    double leak_rate = 0;      // GiB/s while running
    double backlog = 0;        // queued requests
    int restarts = 0;
    int recent_crashes = 0;    // for the crash-loop back-off
    SimTime ready_since = -1;
    SimTime last_oom = -1;
    SimTime routed_until = -1; // lost replicas still receive traffic until then
    EventHandle phase_event;   // ready or back-off end
    EventHandle oom_event;
    std::vector<SimTime> restart_times;  // for the CrashLooping alert, pruned to 15 min
    // derived by recompute()
    double arrival = 0;        // requests/s
    double capacity = 0;       // requests/s it can serve
    double cpu_used = 0;       // cores
    double demand = 0;         // cores it asks for (capped at its limit)
    double cpu_potential = 0;  // cores it could get now
    bool settled = false;      // water-filling scratch
    double local_error = 0;    // fraction failing locally
    double sojourn_mean = 0;   // s, own queueing + service
  };

  struct ServiceState {
    int first_slot = 0;
    int desired = 0;
    double external_rps = 0;   // external arrivals (entry services)
    double surge_factor = 1.0; // injected traffic surge multiplier
    EventHandle surge_end;     // ends the injected surge
    bool bad_version = false;  // the current rollout target is faulty
    double bad_error = 0;      // error fraction of the faulty version
    double bad_slowdown = 1;   // CPU-per-request factor of the faulty version
    double bad_leak_gib_s = 0; // leak rate of the faulty version
    SimTime last_rollout = 0;
    bool rolling = false;      // a rolling restart/rollout is in progress
    int rollout_next = 0;      // next slot (in service) to restart
    int restarts = 0;
    // derived by recompute()
    double arrival = 0;
    int ready = 0;
    queueing::Moments e2e;     // end-to-end latency moments, s
    double call_error = 0;     // fraction of calls into it failing (time-outs, rejections, errors)
    double served_error = 0;   // fraction of requests it processed that fail (errors, time-outs)
    double own_error = 0;      // mean local error of its ready replicas
    double reject_frac = 0;    // fraction rejected by full queues or for lack of ready replicas
    double p50 = 0, p95 = 0, p99 = 0;  // s
    double quantile_hint[3] = {0, 0, 0};  // last cube-root quantiles, to warm-start the search
    // Latency as a mixture over which fractional calls a request makes (see cluster_rates.cpp);
    // num_branches == 0: one gamma with moments e2e.
    std::array<queueing::CubeRootNormal, kMaxLatencyBranches> branches{};
    int num_branches = 0;
    double cpu_util = 0, mem_util_max = 0;
    double utilisation = 0;    // arrival / capacity over ready replicas
  };

  struct AlertState {
    SimTime pending_since = -1;
    bool firing = false;
    SimTime firing_since = -1;
    SimTime clear_since = -1;
  };

  void schedule(SimTime t, EventKind kind, int target, std::int64_t arg = 0);
  EventHandle schedule_handle(SimTime t, EventKind kind, int target, std::int64_t arg = 0);
  void handle(const ScheduledEvent& e);
  void advance(SimTime t);      // continuous state from now_ to t
  void recompute();             // rates from discrete state
  void scrape();
  void evaluate_alerts();
  void emit(std::string_view what, EntityRef e, std::string detail = {});
  bool timeline_on() const { return static_cast<bool>(timeline_); }

  // replicas
  bool start_replica(int slot, int avoid_node);  // place and start; false if nowhere fits
  void stop_replica(int slot, bool count_restart);
  void oom_kill(int slot);       // OOM kill, then CrashLoopBackOff
  void become_ready(int slot);
  void schedule_oom(int slot);
  int place(int slot, int avoid_node) const;     // scheduler: node index or -1
  void drop_backlog(int slot);
  void restart_in_place(int slot);
  void begin_rollout(int service, bool to_bad_version, std::string_view what);
  void rollout_step(int service);

  // faults
  void fault_onset(int id);
  void update_fault_status();
  void repair(const FaultRecord& f);  // what the human does after an escalation
  void reconcile();             // the replica-set controller: start missing replicas
  bool fault_mitigated(const FaultRecord& f) const;
  std::size_t alert_index(AlertRule r, int entity) const;

  ScenarioPtr scenario_;
  std::uint64_t seed_;
  ClusterOptions options_;
  EventQueue queue_;
  SimTime now_ = 0;
  TrafficModel traffic_;
  Rng noise_rng_, fault_rng_;
  std::vector<Rng> replica_rng_;
  std::vector<NodeState> nodes_;
  std::vector<ServiceState> services_;
  std::vector<ReplicaState> replicas_;
  double per_request_cpu(const ReplicaState& r) const;
  void update_percentiles(int service, bool all);  // p99 only, or p50/p95/p99
  ActionResult apply_without_recompute(const Action& action);
  bool routable(const ReplicaState& r) const;  // the load balancer sends it traffic
  std::vector<int> node_members_start_, node_members_, node_fill_;  // replicas grouped by node
  mutable std::vector<double> place_cpu_, place_mem_;  // scheduler scratch (no allocation per call)
  mutable std::vector<int> place_same_;
  std::vector<int> topo_;       // services, callers before callees
  std::vector<FaultRecord> faults_;
  Telemetry telemetry_;
  std::vector<AlertState> alert_state_;  // (kNumAlertRules x entities) flattened
  Counters counters_;
  double external_rps_ = 0;
  bool escalated_ = false;
  std::function<void(const TimelineEntry&)> timeline_;
  std::function<void(const Telemetry&)> scrape_hook_;
};

}  // namespace opsrl::sim

namespace opsrl::sim {
// Draws a fault of a type from `types` (all types if empty) rooted at a random entity of the
// right kind: a running replica, an entry service for surges, any service or node otherwise.
FaultSpec sample_fault(const Cluster& cluster, Rng& rng, SimTime onset, std::span<const FaultType> types = {});
}  // namespace opsrl::sim
