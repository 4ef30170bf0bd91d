#pragma once
// The fault catalogue. Each fault type has a root entity kind, a severity-dependent effect on
// the cluster, the symptoms it shows (deliberately overlapping: several faults raise CPU,
// latency or errors) and the remedies that end it. Ground truth for every injected fault is
// kept as a FaultRecord.
#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include <opsrl/sim/entities.hpp>
#include <opsrl/sim/time.hpp>

namespace opsrl::sim {

enum class FaultType : std::uint8_t {
  kRunawayProcess,      // replica: a process spins, eating the container's CPU
  kMemoryLeak,          // service: a leaky version; replicas grow until OOM-killed, restart loop
  kBadDeploy,           // service: a new version that errors and/or is slow
  kNoisyNeighbour,      // node: a foreign workload steals most of the node's CPU
  kNodeFailure,         // node: the node stops; its replicas are lost until rescheduled
  kTrafficSurge,        // service (entry): external traffic multiplies
  kDependencyFailure,   // service: hangs (e.g. exhausted connection pool); callers time out
  kDiskFull,            // node: logs fill the disk; at 100% writes fail
  kNetworkDegradation,  // node: its network adds delay and drops packets on cross-node calls
  kCount
};
inline constexpr int kNumFaultTypes = static_cast<int>(FaultType::kCount);

struct FaultInfo {
  FaultType type;
  std::string_view name;         // e.g. "memory_leak", used on the command line
  EntityKind root_kind;          // the kind of entity the fault is rooted in
  std::string_view symptoms;     // what an operator sees
  std::string_view remedy;       // the correct action, by verb name
  std::string_view alternative;  // other actions that also end it ("" if none)
};

const FaultInfo& fault_info(FaultType t);
std::span<const FaultInfo> fault_catalogue();
std::optional<FaultType> fault_type_from_name(std::string_view name);

// A fault to inject. Severity in (0, 1] scales its effect (0.5 when unsure).
struct FaultSpec {
  FaultType type = FaultType::kRunawayProcess;
  SimTime onset = 0;
  EntityRef root;
  double severity = 0.7;
  SimTime duration = 0;  // traffic surge only: how long it lasts (0: one hour)
};

// Ground truth of an injected fault.
struct FaultRecord {
  FaultSpec spec;
  bool active = false;        // onset reached and not yet mitigated
  SimTime mitigated_at = -1;  // when its cause was removed; -1 while not
};

}  // namespace opsrl::sim
