#pragma once
// The cluster's latest scrape in Prometheus' text exposition format, version 0.0.4 (what a
// /metrics endpoint serves, Content-Type "text/plain; version=0.0.4"):
//
//   # HELP opsrl_service_latency_p99_seconds End-to-end 99th percentile latency ...
//   # TYPE opsrl_service_latency_p99_seconds gauge
//   opsrl_service_latency_p99_seconds{service="checkout"} 0.1834
//
// One family per metric of prometheus_metrics.hpp, every entity of its kind (empty replica
// slots included, as in the CSV export), then opsrl_replica_info, opsrl_alert_firing (only
// firing alerts), opsrl_slo_ok and opsrl_sim_time_seconds. Values are printed in the shortest
// form that reads back as the same double, so a scraper stores the simulator's values exactly.
#include <string>

#include <opsrl/datasets/prometheus_metrics.hpp>
#include <opsrl/sim/cluster.hpp>

namespace opsrl::datasets::prom {

// Formats cluster.telemetry() with the cluster's entity names.
std::string format_exposition(const sim::Cluster& cluster, const EntityLabels& labels = {});

// A sample value as the format writes it: "NaN", "+Inf", "-Inf" or the shortest round-trip decimal.
std::string format_value(double v);
// A label value with \, " and newline escaped.
std::string escape_label_value(std::string_view v);

}  // namespace opsrl::datasets::prom
