// addresses(): the remedy table of remedies.hpp.
#include <opsrl/envs/remedies.hpp>

namespace opsrl::envs {

bool addresses(const sim::Cluster& c, const sim::FaultRecord& f, const sim::Action& a) {
  using sim::FaultType;
  using sim::Verb;
  if (a.verb == Verb::kEscalate) return true;
  const int root = f.spec.root.index;
  const int i = a.target.index;
  const bool on_replica = a.target.kind == sim::EntityKind::kReplica && i >= 0 && i < c.num_replica_slots();
  const bool on_service = a.target.kind == sim::EntityKind::kService && i == root;
  const bool on_node = a.target.kind == sim::EntityKind::kNode && i == root;
  // A replica placed on the root node (as of the latest scrape).
  const bool replica_on_root_node = on_replica && static_cast<int>(c.telemetry().replicas(i, sim::kRepNode)) == root;
  switch (f.spec.type) {
    case FaultType::kRunawayProcess:
      return on_replica && i == root &&
             (a.verb == Verb::kKillProcess || a.verb == Verb::kRestartReplica || a.verb == Verb::kMigrateReplica);
    case FaultType::kMemoryLeak:
    case FaultType::kBadDeploy: return on_service && a.verb == Verb::kRollback;
    case FaultType::kNoisyNeighbour:
    case FaultType::kNetworkDegradation:
      return (on_node && a.verb == Verb::kDrainNode) || (replica_on_root_node && a.verb == Verb::kMigrateReplica);
    case FaultType::kNodeFailure:
      return (on_node && a.verb == Verb::kDrainNode) ||
             (replica_on_root_node && (a.verb == Verb::kMigrateReplica || a.verb == Verb::kRestartReplica));
    case FaultType::kTrafficSurge: return a.verb == Verb::kScaleOut;
    case FaultType::kDependencyFailure:
      return (on_service && a.verb == Verb::kRestartService) ||
             (on_replica && c.replica_service(i) == root &&
              (a.verb == Verb::kRestartReplica || a.verb == Verb::kMigrateReplica));
    case FaultType::kDiskFull: return on_node && a.verb == Verb::kCleanDisk;
    case FaultType::kCount: break;
  }
  return false;
}

}  // namespace opsrl::envs
