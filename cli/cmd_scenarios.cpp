// `opsrl scenarios list|show`: the built-in scenarios and what is in a scenario file.
#include <numeric>

#include <fmt/format.h>

#include <opsrl/sim/scenario.hpp>

#include "commands.hpp"
#include "format.hpp"

namespace opsrl::cli {

namespace {

void show(const std::string& name_or_path, bool raw) {
  using namespace opsrl::sim;
  if (raw) {
    const std::string_view text = builtin_scenario_text(name_or_path);
    if (text.empty()) throw std::runtime_error(fmt::format("--toml needs a built-in scenario name, got \"{}\"", name_or_path));
    fmt::print("{}", text);
    return;
  }
  const ScenarioPtr sc = load_scenario(name_or_path);
  fmt::print("scenario {} ({})\n{}\n\n", sc->name, sc->source, sc->description);
  Table nodes({"node", "zone", "cores", "memory GiB", "disk GiB", "USD/h"});
  for (const NodeSpec& n : sc->nodes)
    nodes.add({n.name, n.zone, fmt::format("{:g}", n.cpu_cores), fmt::format("{:g}", n.memory_gib),
               fmt::format("{:g}", n.disk_gib), fmt::format("{:.2f}", n.cost_per_hour)});
  fmt::print("{}\n", nodes.str());
  Table services({"service", "tier", "replicas", "cpu/req ms", "start s", "entry", "calls"});
  for (const ServiceSpec& s : sc->services) {
    std::string calls;
    for (const CallSpec& c : s.calls) calls += fmt::format("{}{} x{:g}", calls.empty() ? "" : ", ", c.service, c.calls_per_request);
    services.add({s.name, s.tier, fmt::format("{}..{} ({})", s.min_replicas, s.max_replicas, s.replicas),
                  fmt::format("{:g}", s.cpu_seconds_per_request * 1000), fmt::format("{:g}", s.startup_seconds),
                  s.traffic_share > 0 ? fmt::format("{:.0f}%", 100 * s.traffic_share) : "-", calls.empty() ? "-" : calls});
  }
  fmt::print("{}\n", services.str());
  const TrafficSpec& t = sc->traffic;
  fmt::print("traffic: {}\n", t.trace_csv.empty()
                                  ? fmt::format("{:g} req/s mean, diurnal +/-{:.0f}% over {}, noise {:.0f}%, {:g} surges/h",
                                                t.base_rps, 100 * t.diurnal_amplitude, format_time(t.period),
                                                100 * t.noise_sigma, t.surges_per_hour)
                                  : fmt::format("trace {}", t.trace_csv));
  fmt::print("SLO: p99 < {:g} ms, error rate < {:g}%; scrape every {}\n", sc->slo.p99_latency_ms,
             100 * sc->slo.error_rate, format_time(sc->telemetry.scrape_interval));
}

}  // namespace

void add_scenarios(CLI::App& app) {
  auto* cmd = app.add_subcommand("scenarios", "Built-in scenarios and scenario files");
  cmd->require_subcommand(1);
  cmd->add_subcommand("list", "List the built-in scenarios")->callback([] {
    using namespace opsrl::sim;
    Table table({"name", "nodes", "services", "replicas", "description"});
    for (const std::string& name : builtin_scenario_names()) {
      const ScenarioPtr sc = load_scenario(name);
      int replicas = 0;
      for (const ServiceSpec& s : sc->services) replicas += s.replicas;
      table.add({name, std::to_string(sc->nodes.size()), std::to_string(sc->services.size()), std::to_string(replicas),
                 sc->description.substr(0, sc->description.find('\n'))});
    }
    fmt::print("{}", table.str());
  });
  auto* show_cmd = cmd->add_subcommand("show", "Show a scenario's nodes, services, call graph, traffic and SLO");
  static std::string name;
  static bool raw = false;
  show_cmd->add_option("scenario", name, "Built-in name or path to a .toml file")->required();
  show_cmd->add_flag("--toml", raw, "Print the built-in scenario's TOML text (a starting point for your own)");
  show_cmd->callback([] { show(name, raw); });
}

}  // namespace opsrl::cli
