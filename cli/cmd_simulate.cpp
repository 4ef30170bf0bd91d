// `opsrl simulate`: run a scenario with injected faults; print the incident timeline and a
// metrics summary, optionally export every scrape as CSV, or serve it to a Prometheus scraper
// while the run is paced against wall time (--serve-metrics, --pace).
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>

#include <fmt/format.h>

#include <opsrl/datasets/prometheus_exposition.hpp>
#include <opsrl/sim/cluster.hpp>

#include "commands.hpp"
#include "format.hpp"
#include "metrics_server.hpp"
#include "paced_run.hpp"

namespace opsrl::cli {

namespace {

using namespace opsrl::sim;

struct SimulateArgs {
  std::string scenario = "default";
  std::uint64_t seed = 1;
  std::string duration = "2h";
  std::vector<std::string> inject;
  int random_faults = -1;  // -1: 3 when nothing is injected by hand
  std::string metrics_out;
  std::string traffic_trace;
  std::string serve_metrics;  // ADDR:PORT
  double pace = 0;            // simulated seconds per wall second; 0: as fast as possible (1 when serving)
  bool quiet = false;
  bool verbose = false;
};

// "memory_leak@10m:cart" or "node_failure@1h:node-3:0.9" (the last field is the severity).
FaultSpec parse_injection(const std::string& text, const Cluster& cluster) {
  const auto at = text.find('@');
  const auto colon = text.find(':', at == std::string::npos ? 0 : at);
  if (at == std::string::npos || colon == std::string::npos)
    throw std::runtime_error(fmt::format("--inject \"{}\": expected TYPE@TIME:TARGET[:SEVERITY], e.g. memory_leak@10m:cart", text));
  const std::string type_name = text.substr(0, at);
  const auto type = fault_type_from_name(type_name);
  if (!type) {
    std::string known;
    for (const FaultInfo& f : fault_catalogue()) known += fmt::format("{}{}", known.empty() ? "" : ", ", f.name);
    throw std::runtime_error(fmt::format("--inject \"{}\": unknown fault type \"{}\"; known types: {}", text, type_name, known));
  }
  FaultSpec spec;
  spec.type = *type;
  try {
    spec.onset = parse_duration(text.substr(at + 1, colon - at - 1));
  } catch (const std::exception& e) {
    throw std::runtime_error(fmt::format("--inject \"{}\": {}", text, e.what()));
  }
  std::string target = text.substr(colon + 1);
  if (const auto sev = target.find(':'); sev != std::string::npos) {
    try {
      spec.severity = std::stod(target.substr(sev + 1));
    } catch (const std::exception&) {
      throw std::runtime_error(fmt::format("--inject \"{}\": severity must be a number in (0, 1]", text));
    }
    target.resize(sev);
  }
  spec.root = cluster.find_entity(target);
  const EntityKind want = fault_info(spec.type).root_kind;
  if (spec.root.kind != want) {
    std::string examples;
    if (want == EntityKind::kNode) examples = cluster.entity_name({EntityKind::kNode, 0});
    if (want == EntityKind::kService) examples = cluster.entity_name({EntityKind::kService, 0});
    if (want == EntityKind::kReplica) examples = cluster.entity_name({EntityKind::kReplica, 0});
    throw std::runtime_error(fmt::format("--inject \"{}\": {} needs a {} target (e.g. {}), and \"{}\" is {}", text, type_name,
                                         entity_kind_name(want), examples, target,
                                         spec.root.kind == EntityKind::kNone ? "not in the scenario"
                                                                             : fmt::format("a {}", entity_kind_name(spec.root.kind))));
  }
  return spec;
}

bool shown_in_timeline(std::string_view what, bool verbose) {
  if (verbose) return true;
  return !(what == "replica.starting" || what == "replica.ready" || what == "replica.stopped");
}

// Per-service figures accumulated over scrapes.
struct ServiceStats {
  double rps = 0, error = 0, p99 = 0, p99_max = 0;
};

void run(const SimulateArgs& args) {
  auto scenario = std::make_shared<Scenario>(*load_scenario(args.scenario));
  if (!args.traffic_trace.empty()) scenario->traffic.trace_csv = args.traffic_trace;
  const SimTime duration = parse_duration(args.duration);
  Cluster cluster(scenario, args.seed);
  const int services = cluster.num_services();

  std::vector<FaultSpec> faults;
  for (const std::string& text : args.inject) faults.push_back(parse_injection(text, cluster));
  const int random_faults = args.random_faults >= 0 ? args.random_faults : (args.inject.empty() ? 3 : 0);
  Rng rng(args.seed, Stream::kScenarioGen);
  for (int k = 0; k < random_faults; ++k) {
    // Spread over the first four fifths of the run, so recoveries show in the last fifth.
    const SimTime slot = duration * 4 / 5 / (random_faults + 1);
    const SimTime onset = slot * (k + 1) + static_cast<SimTime>(rng.uniform(0, 0.5) * static_cast<double>(slot));
    faults.push_back(sample_fault(cluster, rng, onset));
  }
  for (const FaultSpec& f : faults) {
    if (f.onset >= duration)
      throw std::runtime_error(fmt::format("--inject: {} at {} is after the end of the run ({})", fault_info(f.type).name,
                                           format_time(f.onset), format_time(duration)));
    cluster.inject(f);
  }

  std::unique_ptr<std::ofstream> csv;
  std::string csv_tmp;
  if (!args.metrics_out.empty()) {
    csv_tmp = args.metrics_out + ".tmp";
    csv = std::make_unique<std::ofstream>(csv_tmp);
    if (!*csv) throw std::runtime_error(fmt::format("cannot write --metrics-out \"{}\"", args.metrics_out));
    *csv << "time_s,metric,entity,value\n";
  }
  std::unique_ptr<MetricsServer> server;
  if (!args.serve_metrics.empty()) {
    server = std::make_unique<MetricsServer>(args.serve_metrics);
    fmt::print(stderr, "serving metrics on http://{}:{}/metrics (Prometheus text format 0.0.4), {:g} simulated s per wall s\n",
               server->host(), server->port(), args.pace > 0 ? args.pace : 1.0);
  }
  std::vector<ServiceStats> stats(services);
  int scrapes = 0;
  cluster.set_scrape_hook([&](const Telemetry& t) {
    ++scrapes;
    if (server) server->publish(datasets::prom::format_exposition(cluster));
    for (int s = 0; s < services; ++s) {
      stats[s].rps += t.services(s, kSvcRequestRate);
      stats[s].error += t.services(s, kSvcErrorRate);
      stats[s].p99 += t.services(s, kSvcLatencyP99);
      stats[s].p99_max = std::max(stats[s].p99_max, t.services(s, kSvcLatencyP99));
    }
    if (!csv) return;
    const double ts = to_seconds(t.time);
    for (int n = 0; n < cluster.num_nodes(); ++n)
      for (int m = 0; m < kNumNodeMetrics; ++m)
        *csv << fmt::format("{},{},{},{:.6g}\n", ts, node_metric_name(m), cluster.entity_name({EntityKind::kNode, n}), t.nodes(n, m));
    for (int s = 0; s < services; ++s)
      for (int m = 0; m < kNumServiceMetrics; ++m)
        *csv << fmt::format("{},{},{},{:.6g}\n", ts, service_metric_name(m), cluster.entity_name({EntityKind::kService, s}),
                            t.services(s, m));
    for (int r = 0; r < cluster.num_replica_slots(); ++r)
      for (int m = 0; m < kNumReplicaMetrics; ++m)
        *csv << fmt::format("{},{},{},{:.6g}\n", ts, replica_metric_name(m), cluster.entity_name({EntityKind::kReplica, r}),
                            t.replicas(r, m));
    for (const Alert& a : t.alerts)
      *csv << fmt::format("{},alert_{},{},1\n", ts, alert_name(a.rule), cluster.entity_name(a.entity));
  });

  if (!args.quiet) {
    fmt::print("Simulating scenario {} ({} nodes, {} services) for {}, seed {}\n\nTimeline:\n", scenario->name,
               cluster.num_nodes(), services, format_time(duration), args.seed);
    cluster.set_timeline([&](const TimelineEntry& e) {
      if (!shown_in_timeline(e.what, args.verbose)) return;
      fmt::print("  {:<12}  {:<24} {:<20} {}\n", format_time(e.time), e.what,
                 e.entity.kind == EntityKind::kNone ? "" : cluster.entity_name(e.entity), e.detail);
    });
  }

  const auto start = std::chrono::steady_clock::now();
  SimTime simulated = duration;  // less when a signal stops a paced run
  if (server || args.pace > 0) {
    const PacedRun paced = run_paced(cluster, duration, args.pace > 0 ? args.pace : 1.0);
    simulated = paced.reached;
    if (server) {
      server->stop();
      fmt::print(stderr, "metrics server stopped after {} requests\n", server->requests());
    }
    if (paced.signal)
      fmt::print(stderr, "opsrl simulate: stopped by {} at simulated time {}\n", paced.signal == SIGINT ? "SIGINT" : "SIGTERM",
                 format_time(simulated));
  } else {
    cluster.run_until(duration);
  }
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  if (csv) {
    csv->close();
    if (!*csv) throw std::runtime_error(fmt::format("writing --metrics-out \"{}\" failed", args.metrics_out));
    std::filesystem::rename(csv_tmp, args.metrics_out);
  }

  const Counters& c = cluster.counters();
  fmt::print("\nSummary: {} simulated in {:.3f} s wall ({:.0f}x real time), {} events\n", format_time(simulated), wall,
             to_seconds(simulated) / std::max(wall, 1e-9), c.events_processed);
  const double in = std::max(c.requests_in, 1.0);
  fmt::print("  requests      {:.0f} in, {:.3f}% served, {:.3f}% failed, {:.0f} in flight\n", c.requests_in,
             100 * c.requests_served / in, 100 * c.requests_failed / in, c.requests_in_flight);
  fmt::print("  SLO violated  {:.1f} min of {:.0f} ({:.1f}%)\n", c.slo_violation_seconds / 60, to_seconds(simulated) / 60,
             100 * c.slo_violation_seconds / std::max(to_seconds(simulated), 1e-9));
  fmt::print("  cost          ${:.2f} replicas + ${:.2f} nodes + ${:.2f} actions\n", c.replica_cost_usd, c.node_cost_usd,
             c.action_cost_usd);
  fmt::print("  OOM kills     {}\n\n", c.oom_kills);

  Table ft({"fault", "root", "onset", "mitigated", "after"});
  for (const FaultRecord& f : cluster.faults())
    ft.add({std::string(fault_info(f.spec.type).name), cluster.entity_name(f.spec.root), format_time(f.spec.onset),
            f.mitigated_at >= 0 ? format_time(f.mitigated_at) : (f.active ? "still active" : "not started"),
            f.mitigated_at >= 0 ? format_time(f.mitigated_at - f.spec.onset) : "-"});
  if (!cluster.faults().empty()) fmt::print("{}\n", ft.str());

  Table st({"service", "req/s", "errors %", "p99 ms (mean)", "p99 ms (max)", "restarts", "replicas"});
  const double n = std::max(scrapes, 1);
  for (int s = 0; s < services; ++s)
    st.add({cluster.entity_name({EntityKind::kService, s}), fmt::format("{:.1f}", stats[s].rps / n),
            fmt::format("{:.2f}", 100 * stats[s].error / n), fmt::format("{:.0f}", stats[s].p99 / n),
            fmt::format("{:.0f}", stats[s].p99_max), fmt::format("{:.0f}", cluster.telemetry().services(s, kSvcRestarts)),
            fmt::format("{:.0f}", cluster.telemetry().services(s, kSvcReadyReplicas))});
  fmt::print("{}", st.str());
  if (csv) fmt::print("\nmetrics written to {} ({} scrapes)\n", args.metrics_out, scrapes);
}

}  // namespace

void add_simulate(CLI::App& app) {
  auto args = std::make_shared<SimulateArgs>();
  auto* cmd = app.add_subcommand("simulate", "Simulate a scenario with injected faults; print the incident timeline and a summary");
  cmd->add_option("--scenario", args->scenario, "Built-in scenario name (see `opsrl scenarios list`) or a .toml file")
      ->capture_default_str();
  cmd->add_option("--seed", args->seed, "Random seed; the same seed gives the same run")->capture_default_str();
  cmd->add_option("--duration", args->duration, "Simulated time, e.g. 90s, 15m, 2h")->capture_default_str();
  cmd->add_option("--inject", args->inject,
                  "Inject a fault: TYPE@TIME:TARGET[:SEVERITY], e.g. memory_leak@10m:cart, node_failure@1h:node-3:0.9 "
                  "(repeatable; see `opsrl faults list`)");
  cmd->add_option("--random-faults", args->random_faults, "Random faults spread over the run (default: 3 when no --inject)");
  cmd->add_option("--metrics-out", args->metrics_out, "Write every scrape to this CSV (time_s,metric,entity,value)");
  cmd->add_option("--traffic-trace", args->traffic_trace, "Replay this CSV (timestamp,value) as the external traffic");
  cmd->add_option("--serve-metrics", args->serve_metrics,
                  "Serve the latest scrape on http://ADDR:PORT/metrics in the Prometheus text format while the run is paced "
                  "(--pace, default 1); SIGINT/SIGTERM end the run cleanly (docs/datasets.md, \"Prometheus\")");
  cmd->add_option("--pace", args->pace, "Pace the run against wall time: simulated seconds per wall second, e.g. 60")
      ->check(CLI::Validator(
          [](std::string& v) -> std::string {
            char* end = nullptr;
            const double x = std::strtod(v.c_str(), &end);
            return end != v.c_str() && *end == '\0' && x > 0 && std::isfinite(x) ? "" : "must be a number > 0, got " + v;
          },
          "X > 0"));
  cmd->add_flag("--quiet,-q", args->quiet, "Only print the summary");
  cmd->add_flag("--verbose,-v", args->verbose, "Show every replica start and stop in the timeline");
  cmd->callback([args] { run(*args); });
}

}  // namespace opsrl::cli
