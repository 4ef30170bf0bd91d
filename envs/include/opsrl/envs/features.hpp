#pragma once
// The token layout (which token is which entity) and the feature columns of each token kind.
// Every token row starts with the 4-column type one-hot; then come the kind's history
// metrics, each as H consecutive columns from the oldest scrape to the newest, then the
// kind's current features. docs/observation.md lists every column with its unit.
#include <algorithm>
#include <cstdint>

#include <opsrl/sim/entities.hpp>
#include <opsrl/envs/spec.hpp>

namespace opsrl::envs {

// Which token is which entity: [global] + nodes + services + replica slots, then padding.
struct TokenLayout {
  int num_nodes = 0, num_services = 0, num_replica_slots = 0, max_tokens = 0;

  int num_real() const { return 1 + num_nodes + num_services + num_replica_slots; }
  int node_token(int n) const { return 1 + n; }
  int service_token(int s) const { return 1 + num_nodes + s; }
  int replica_token(int r) const { return 1 + num_nodes + num_services + r; }
  int token_of(sim::EntityRef e) const;     // the global token (0) for kind kNone
  sim::EntityRef entity_of(int token) const;  // kind kNone for the global token and padding
  TokenType type_of(int token) const;
};

namespace feature {

inline constexpr int kTypeColumns = 4;  // one-hot of global, node, service, replica

// History metrics, per kind (H columns each, oldest first).
enum GlobalHistory : int { kExternalRate, kSloOk, kNumGlobalHistory };
enum NodeHistory : int { kNodeCpu, kNodeMem, kNodeDisk, kNodeNetDelay, kNodeNetLoss, kNodeReady, kNumNodeHistory };
enum ServiceHistory : int {
  kSvcRate, kSvcError, kSvcP99, kSvcReadyRatio, kSvcCpu, kSvcMem, kSvcDeployAge, kNumServiceHistory
};
enum ReplicaHistory : int { kRepCpu, kRepMem, kRepError, kRepP99, kRepReady, kNumReplicaHistory };

// Current features, per kind (one column each).
enum GlobalCurrent : int {
  kTimeOfDaySin, kTimeOfDayCos, kAlertsFiring, kNodesReady, kEpisodeProgress, kTaskIncident, kTaskAutoscale,
  kEscalationPending, kDiagnosisClaimed, kNumGlobalCurrent
};
enum NodeCurrent : int {
  kNodeCordoned, kNodeReplicas, kNodeCpuAllocated, kNodeMemAllocated, kNodeCores, kNodeMemory,
  kNodeAlertNotReady, kNodeAlertDiskPressure, kNumNodeCurrent
};
enum ServiceCurrent : int {
  kSvcTierFrontend, kSvcTierBackend, kSvcTierCache, kSvcTierDatabase, kSvcEntry, kSvcDesiredFrac,
  kSvcReadyFrac, kSvcMinFrac, kSvcRestarted, kSvcCpuRequest, kSvcP50, kSvcP95, kSvcAlertHighError,
  kSvcAlertHighLatency, kSvcReplicas, kSvcCpuOneFewer, kNumServiceCurrent
};
enum ReplicaCurrent : int {
  kRepPresent, kRepStarting, kRepRate, kRepRestarts, kRepRestarted, kRepUptime, kRepCpuRequest,
  kRepMemoryLimit, kRepTierFrontend, kRepTierBackend, kRepTierCache, kRepTierDatabase, kRepEntry,
  kRepAlertHighCpu, kRepAlertOomKilled, kRepAlertCrashLooping, kNumReplicaCurrent
};

// Column indices of one token kind for a history length H.
struct KindColumns {
  int num_history = 0, num_current = 0, history = 0;
  constexpr int hist(int metric, int age) const {  // age 0 = newest scrape
    return kTypeColumns + metric * history + (history - 1 - age);
  }
  constexpr int newest(int metric) const { return hist(metric, 0); }
  constexpr int cur(int c) const { return kTypeColumns + num_history * history + c; }
  constexpr int width() const { return kTypeColumns + num_history * history + num_current; }
};

// A service's replica count (the fractions of max_replicas hide it: 2 of 3 and 4 of 6 look
// alike) and the utilisation one replica fewer would run at: what a scale-in risks (2 -> 1
// doubles it; 0 with a single replica). The env tokenizer and the Prometheus import share it.
inline void set_replica_features(float* row, const KindColumns& service, double desired, double ready, double cpu) {
  row[service.cur(kSvcReplicas)] = static_cast<float>(desired / 10.0);
  row[service.cur(kSvcCpuOneFewer)] = desired > 1 ? static_cast<float>(std::min(4.0, cpu * ready / (desired - 1))) : 0.0f;
}

struct Layout {
  KindColumns global, node, service, replica;
  int feature_width = 0;  // the widest kind, rounded up to a multiple of 8

  constexpr explicit Layout(int history)
      : global{kNumGlobalHistory, kNumGlobalCurrent, history},
        node{kNumNodeHistory, kNumNodeCurrent, history},
        service{kNumServiceHistory, kNumServiceCurrent, history},
        replica{kNumReplicaHistory, kNumReplicaCurrent, history} {
    const int widest = std::max({global.width(), node.width(), service.width(), replica.width()});
    feature_width = (widest + 7) / 8 * 8;
  }
};

}  // namespace feature
}  // namespace opsrl::envs
