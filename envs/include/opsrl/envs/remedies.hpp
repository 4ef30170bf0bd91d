#pragma once
// Which remediations address which fault: the fault catalogue's remedy and alternatives
// (sim/src/catalogue.cpp) as a predicate over actual actions. Evaluation counts an applied
// action that addresses no present fault as a wrong action; an oracle can search it.
#include <opsrl/sim/cluster.hpp>

namespace opsrl::envs {

// Whether `action` would remove (or directly work towards removing) the cause of `fault` in
// the cluster's current state. Escalation addresses every fault. Per fault type:
//   runaway_process      kill_process, restart_replica or migrate_replica on the root replica
//   memory_leak, bad_deploy   rollback of the root service
//   noisy_neighbour, network_degradation   drain_node of the root node, or migrate_replica of a
//                        replica placed on it
//   node_failure         drain_node of the root node, or restart/migrate of a replica placed on it
//   traffic_surge        scale_out of any service
//   dependency_failure   restart_service of the root service, or restart/migrate of one of its replicas
//   disk_full            clean_disk of the root node
bool addresses(const sim::Cluster& cluster, const sim::FaultRecord& fault, const sim::Action& action);

}  // namespace opsrl::envs
