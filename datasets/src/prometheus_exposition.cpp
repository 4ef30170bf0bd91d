// Telemetry -> Prometheus text exposition format 0.0.4 (prometheus_exposition.hpp).
#include <opsrl/datasets/prometheus_exposition.hpp>

#include <cmath>
#include <iterator>

#include <fmt/format.h>

namespace opsrl::datasets::prom {

namespace {

std::string escape_help(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

void family(std::string& out, std::string_view name, std::string_view type, std::string_view help) {
  fmt::format_to(std::back_inserter(out), "# HELP {} {}\n# TYPE {} {}\n", name, escape_help(help), name, type);
}

}  // namespace

std::string format_value(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  return fmt::format("{}", v);  // shortest representation that round-trips
}

std::string escape_label_value(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '"')
      out += "\\\"";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

std::string format_exposition(const sim::Cluster& cluster, const EntityLabels& labels) {
  const sim::Telemetry& t = cluster.telemetry();
  std::string out;
  out.reserve(64 * 1024);
  auto name_of = [&](sim::EntityKind kind, int i) { return escape_label_value(cluster.entity_name({kind, i})); };
  // The label set of an entity: a replica carries its service too.
  auto entity_labels = [&](sim::EntityRef e) {
    if (e.kind == sim::EntityKind::kReplica)
      return fmt::format("{}=\"{}\",{}=\"{}\"", labels.service,
                         name_of(sim::EntityKind::kService, cluster.replica_service(e.index)), labels.replica,
                         name_of(sim::EntityKind::kReplica, e.index));
    return fmt::format("{}=\"{}\"", labels.of(e.kind), name_of(e.kind, e.index));
  };
  for (const MetricName& m : metric_names()) {
    family(out, m.name, m.type == MetricType::kCounter ? "counter" : "gauge", m.help);
    const sim::MetricMatrix& rows = m.kind == sim::EntityKind::kNode      ? t.nodes
                                    : m.kind == sim::EntityKind::kService ? t.services
                                                                          : t.replicas;
    for (int i = 0; i < static_cast<int>(rows.rows()); ++i)
      fmt::format_to(std::back_inserter(out), "{}{{{}}} {}\n", m.name, entity_labels({m.kind, i}),
                     format_value(rows(i, m.column) * m.scale));
  }
  family(out, kReplicaInfo, "gauge", "1 for every placed replica, labelled with its service and node");
  for (int r = 0; r < static_cast<int>(t.replicas.rows()); ++r) {
    const int node = static_cast<int>(t.replicas(r, sim::kRepNode));
    if (node < 0) continue;
    fmt::format_to(std::back_inserter(out), "{}{{{},{}=\"{}\"}} 1\n", kReplicaInfo, entity_labels({sim::EntityKind::kReplica, r}),
                   labels.node, name_of(sim::EntityKind::kNode, node));
  }
  family(out, kAlertFiring, "gauge", "1 for every alert of the built-in rules firing now, labelled with its rule and entity");
  for (const sim::Alert& a : t.alerts)
    fmt::format_to(std::back_inserter(out), "{}{{{}=\"{}\",{}}} 1\n", kAlertFiring, kAlertNameLabel, sim::alert_name(a.rule),
                   entity_labels(a.entity));
  family(out, kSloOk, "gauge", "1 if every entry service meets its SLO at this scrape (exact, not noisy)");
  fmt::format_to(std::back_inserter(out), "{} {}\n", kSloOk, t.slo_ok ? 1 : 0);
  family(out, kSimTime, "gauge", "Simulated time of the scrape served, seconds since the start of the run");
  fmt::format_to(std::back_inserter(out), "{} {}\n", kSimTime, format_value(sim::to_seconds(t.time)));
  return out;
}

}  // namespace opsrl::datasets::prom
