#pragma once
// Telemetry as a Prometheus scrape would see it: one row per node, service and replica slot,
// one column per metric, sampled every scrape interval with measurement noise, plus the
// alerts that the built-in rules are firing. Metric names follow Prometheus conventions and
// appear in CSV exports and on the /metrics endpoint.
#include <array>
#include <cstdint>
#include <string_view>
#include <vector>

#include <Eigen/Core>

#include <opsrl/sim/entities.hpp>
#include <opsrl/sim/time.hpp>

namespace opsrl::sim {

enum NodeMetric : int {
  kNodeCpuUtil,      // busy cores / allocatable cores, 0..1 (includes foreign workloads)
  kNodeMemUtil,      // working set / allocatable memory, 0..1
  kNodeDiskUtil,     // used / capacity, 0..1
  kNodeNetDelayMs,   // extra round-trip delay on cross-node calls, ms
  kNodeNetLoss,      // packet-loss fraction on cross-node calls, 0..1
  kNodeReady,        // 1 ready, 0 not ready
  kNodeCordoned,     // 1 if unschedulable
  kNodeReplicas,     // replicas placed on the node
  kNumNodeMetrics
};

enum ServiceMetric : int {
  kSvcRequestRate,   // requests/s arriving
  kSvcErrorRate,     // failed fraction of calls into the service, 0..1
  kSvcLatencyP50,    // end-to-end latency including downstream calls, ms
  kSvcLatencyP95,
  kSvcLatencyP99,
  kSvcReadyReplicas,
  kSvcDesiredReplicas,
  kSvcCpuUtil,       // mean replica CPU / request, 0..1+
  kSvcMemUtilMax,    // highest replica memory / limit, 0..1
  kSvcRestarts,      // container restarts since start (counter)
  kSvcDeployAge,     // seconds since the last rollout started
  kNumServiceMetrics
};

enum ReplicaMetric : int {
  kRepPresent,       // 1 if the slot holds a replica (starting or running)
  kRepReady,         // 1 if it receives traffic
  kRepCpuUtil,       // CPU used / CPU limit, 0..1
  kRepMemUtil,       // working set / memory limit, 0..1
  kRepRequestRate,   // requests/s routed to it
  kRepLatencyP99,    // own queueing + service time, ms (excludes downstream)
  kRepErrorRate,     // fraction of its requests failing locally, 0..1
  kRepRestarts,      // restarts of this slot (counter)
  kRepUptime,        // seconds since it became ready (0 if not ready)
  kRepNode,          // node index it runs on (-1 if none)
  kNumReplicaMetrics
};

std::string_view node_metric_name(int m);     // e.g. "node_cpu_utilisation"
std::string_view service_metric_name(int m);  // e.g. "service_latency_p99_ms"
std::string_view replica_metric_name(int m);

enum class AlertRule : std::uint8_t {
  kHighErrorRate,    // service error rate > 5% for 1m
  kHighLatency,      // service p99 above the SLO for 2m
  kHighCpu,          // replica CPU > 90% for 2m
  kOomKilled,        // a replica was OOM-killed in the last 5m
  kCrashLooping,     // a replica restarted 3+ times in 15m
  kNodeNotReady,     // node not ready for 1m
  kDiskPressure,     // node disk > 85% for 1m
  kCount
};
inline constexpr int kNumAlertRules = static_cast<int>(AlertRule::kCount);
std::string_view alert_name(AlertRule r);  // e.g. "HighErrorRate"

struct Alert {
  AlertRule rule;
  EntityRef entity;
  SimTime since;  // when it started firing
};

using MetricMatrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

struct Telemetry {
  SimTime time = 0;
  MetricMatrix nodes;     // (num_nodes x kNumNodeMetrics)
  MetricMatrix services;  // (num_services x kNumServiceMetrics)
  MetricMatrix replicas;  // (replica_slots x kNumReplicaMetrics)
  std::vector<Alert> alerts;  // firing now
  bool slo_ok = true;     // every entry service within its SLO at this scrape
};

}  // namespace opsrl::sim
