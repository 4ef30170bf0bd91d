// EnvConfig: validation, difficulty presets and the default scenario.
#include <opsrl/envs/config.hpp>

#include <cmath>
#include <stdexcept>

#include <fmt/format.h>

#include <opsrl/envs/info.hpp>

namespace opsrl::envs {

namespace {
void require(bool ok, std::string_view field, std::string_view expected, const auto& got) {
  if (!ok) throw std::invalid_argument(fmt::format("EnvConfig.{}: expected {}, got {}", field, expected, got));
}
}  // namespace

IncidentOptions IncidentOptions::difficulty(std::string_view name) {
  using sim::FaultType;
  IncidentOptions o;
  if (name == "easy") {
    // Faults whose symptoms point at one entity, at high severity.
    o.fault_types = {FaultType::kRunawayProcess, FaultType::kMemoryLeak, FaultType::kBadDeploy,
                     FaultType::kNodeFailure, FaultType::kDiskFull};
    o.severity_min = 0.7;
    o.control_fraction = 0.1;
  } else if (name == "medium") {
    // the defaults
  } else if (name == "hard") {
    o.severity_min = 0.2;
    o.severity_max = 0.7;
    o.max_faults = 2;
  } else {
    throw std::invalid_argument(fmt::format("unknown incident difficulty \"{}\"; known: easy, medium, hard", name));
  }
  return o;
}

std::vector<sim::FaultType> AutoscaleOptions::default_fault_types() {
  // Faults an autoscaler meets: load it must absorb, capacity it loses.
  return {sim::FaultType::kTrafficSurge, sim::FaultType::kNoisyNeighbour, sim::FaultType::kNodeFailure};
}

void EnvConfig::validate() const {
  require(scenario != nullptr, "scenario", "a scenario", "null");
  require(history >= 1 && history <= 64, "history", "1..64 scrapes", history);
  require(max_tokens >= 0, "max_tokens", ">= 0 (0: the scenario's count)", max_tokens);
  require(day_phases >= 1, "day_phases", ">= 1", day_phases);
  const IncidentOptions& i = incident;
  require(i.severity_min > 0 && i.severity_min <= i.severity_max && i.severity_max <= 1, "incident.severity_min/max",
          "0 < min <= max <= 1", fmt::format("min = {}, max = {}", i.severity_min, i.severity_max));
  require(i.min_faults >= 1 && i.min_faults <= i.max_faults && i.max_faults <= kMaxFaults,
          "incident.min_faults/max_faults", fmt::format("1 <= min <= max <= {}", kMaxFaults),
          fmt::format("min = {}, max = {}", i.min_faults, i.max_faults));
  require(i.onset_min > 0 && i.onset_min <= i.onset_max, "incident.onset_min/max", "0 < min <= max",
          fmt::format("min = {}, max = {}", sim::format_time(i.onset_min), sim::format_time(i.onset_max)));
  require(i.control_fraction >= 0 && i.control_fraction <= 1, "incident.control_fraction", "0..1", i.control_fraction);
  const sim::SimTime scrape = scenario->telemetry.scrape_interval;
  require(i.time_limit >= scrape, "incident.time_limit", "at least one scrape interval", sim::format_time(i.time_limit));
  require(i.onset_max < i.time_limit, "incident.onset_max", "below incident.time_limit",
          fmt::format("onset_max = {}, time_limit = {}", sim::format_time(i.onset_max), sim::format_time(i.time_limit)));
  require(i.resolve_steps >= 1, "incident.resolve_steps", ">= 1", i.resolve_steps);
  const AutoscaleOptions& a = autoscale;
  require(a.episode_length >= scrape, "autoscale.episode_length", "at least one scrape interval",
          sim::format_time(a.episode_length));
  require(a.fault_probability >= 0 && a.fault_probability <= 1, "autoscale.fault_probability", "0..1",
          a.fault_probability);
  require(a.fault_probability == 0 || !a.fault_types.empty(), "autoscale.fault_types",
          "at least one type when fault_probability > 0", "none");
  require(a.diurnal_amplitude <= 1, "autoscale.diurnal_amplitude", "<= 1 (negative: keep the scenario's)",
          a.diurnal_amplitude);
  require(a.trace_step >= 0, "autoscale.trace_step", ">= 0 (0: keep)", sim::format_time(a.trace_step));
  require(std::isfinite(a.slo_per_minute), "autoscale.slo_per_minute", "a finite number (< 0: reward.slo_per_minute)",
          a.slo_per_minute);
  require(a.diurnal_period >= 0, "autoscale.diurnal_period", ">= 0 (0: keep)", sim::format_time(a.diurnal_period));
}

EnvConfigPtr make_config(EnvConfig config) {
  if (!config.scenario) config.scenario = sim::load_scenario("default");
  config.validate();
  return std::make_shared<const EnvConfig>(std::move(config));
}

}  // namespace opsrl::envs
