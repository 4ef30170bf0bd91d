// The fault and action catalogues: names, root kinds, symptoms, remedies, delays and costs.
// `opsrl faults list` prints these tables; docs/faults.md describes them (keep both in step).
#include <array>

#include <opsrl/sim/actions.hpp>
#include <opsrl/sim/faults.hpp>

namespace opsrl::sim {
namespace {

using enum EntityKind;

constexpr std::array<FaultInfo, kNumFaultTypes> kFaults{{
    {FaultType::kRunawayProcess, "runaway_process", kReplica,
     "one replica's CPU pinned near its limit; that replica's latency and time-outs rise, so the "
     "service's p99 and error rate rise; node CPU up",
     "kill_process", "restart_replica, migrate_replica"},
    {FaultType::kMemoryLeak, "memory_leak", kService,
     "after a rollout, replica memory climbs steadily; OOM kills, restarts and crash-loop back-off; "
     "errors and lost capacity while replicas restart",
     "rollback", ""},
    {FaultType::kBadDeploy, "bad_deploy", kService,
     "right after a rollout: error rate up and/or latency and CPU per request up on the new "
     "version's replicas; callers see errors",
     "rollback", ""},
    {FaultType::kNoisyNeighbour, "noisy_neighbour", kNode,
     "node CPU near 100% while its replicas' own CPU is not; every replica on the node slows down, "
     "services with replicas there show latency and time-outs",
     "drain_node", "migrate_replica (each affected replica)"},
    {FaultType::kNodeFailure, "node_failure", kNode,
     "node not ready; calls to its replicas time out for 40 s until they leave the load balancer; "
     "then capacity is short until they are rescheduled (automatically after a 5 min eviction "
     "time-out)",
     "drain_node", ""},
    {FaultType::kTrafficSurge, "traffic_surge", kService,
     "request rate at an entry service jumps 1.5-2.5x; CPU, latency and time-outs rise on it and "
     "its callees; nothing is broken",
     "scale_out", "(on every saturated service)"},
    {FaultType::kDependencyFailure, "dependency_failure", kService,
     "a service hangs (exhausted connection pool): its CPU drops, its callers time out, errors "
     "cascade up the call graph to the entry service",
     "restart_service", "restart_replica (each replica)"},
    {FaultType::kDiskFull, "disk_full", kNode,
     "node disk climbs to 100% (DiskPressure at 85%); once full, replicas on the node fail writes "
     "(errors) while CPU and latency look normal",
     "clean_disk", ""},
    {FaultType::kNetworkDegradation, "network_degradation", kNode,
     "calls crossing the node gain delay and packet loss: latency and some errors on services "
     "with replicas there, CPU normal",
     "drain_node", "migrate_replica (each affected replica)"},
}};

constexpr std::array<VerbInfo, kNumVerbs> kVerbs{{
    {Verb::kNoop, "noop", kNone, 0, 0.0, "do nothing"},
    {Verb::kRestartReplica, "restart_replica", kReplica, 0, 2.0,
     "delete the pod; it restarts on a node and is down for its start-up time"},
    {Verb::kRestartService, "restart_service", kService, 0, 5.0,
     "rolling restart, one replica at a time"},
    {Verb::kKillProcess, "kill_process", kReplica, 5 * kSecond, 1.0,
     "kill the hottest process in the container after 5 s; if that is the service itself, the "
     "container restarts"},
    {Verb::kRollback, "rollback", kService, 0, 10.0,
     "rolling restart onto the previous version, one replica at a time"},
    {Verb::kScaleOut, "scale_out", kService, 0, 1.0, "add a replica (ready after start-up)"},
    {Verb::kScaleIn, "scale_in", kService, 0, 1.0, "remove the newest replica at once"},
    {Verb::kMigrateReplica, "migrate_replica", kReplica, 0, 3.0,
     "reschedule the replica onto another node; down for its start-up time"},
    {Verb::kDrainNode, "drain_node", kNode, 0, 10.0,
     "cordon the node and move every replica on it elsewhere (all restart at once)"},
    {Verb::kCleanDisk, "clean_disk", kNode, 60 * kSecond, 5.0,
     "delete old logs and fix rotation; the disk is back to its baseline after 60 s"},
    {Verb::kEscalate, "escalate", kNone, 30 * kMinute, 300.0,
     "page a human: after 30 min every active fault is fixed"},
}};

}  // namespace

const FaultInfo& fault_info(FaultType t) { return kFaults[static_cast<int>(t)]; }
std::span<const FaultInfo> fault_catalogue() { return kFaults; }
std::optional<FaultType> fault_type_from_name(std::string_view name) {
  for (const FaultInfo& f : kFaults)
    if (f.name == name) return f.type;
  return std::nullopt;
}

const VerbInfo& verb_info(Verb v) { return kVerbs[static_cast<int>(v)]; }
std::span<const VerbInfo> verb_catalogue() { return kVerbs; }
std::optional<Verb> verb_from_name(std::string_view name) {
  for (const VerbInfo& v : kVerbs)
    if (v.name == name) return v.verb;
  return std::nullopt;
}

static_assert(static_cast<int>(FaultType::kNetworkDegradation) == kNumFaultTypes - 1, "kFaults order");
static_assert(static_cast<int>(Verb::kEscalate) == kNumVerbs - 1, "kVerbs order");

}  // namespace opsrl::sim
