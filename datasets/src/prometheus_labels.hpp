#pragma once
// The labels file of `opsrl dataset import-prometheus` (internal; prometheus_import.hpp is the
// importer): the incident windows with their ground truth, and how to read the series. TOML
// (FILE.toml) or JSON (any other name), the same keys:
//
//   clock = "opsrl_sim_time_seconds"   # optional: a series whose value is each sample's time;
//                                      # default: the samples' own timestamps (Unix seconds)
//   [labels]                           # optional: the label naming each kind of entity
//   node = "node"                      # (these are the defaults, what --serve-metrics exposes)
//   service = "service"
//   replica = "replica"
//   [metrics]                          # optional: simulator metric -> Prometheus name
//   service_latency_p99_ms = "http_request_duration_p99_seconds"
//   [entities]                         # optional: label value -> scenario entity
//   "cart-5d8f9-x2x7q" = "cart-0"
//   [[incidents]]                      # one episode each
//   start = "2m"                       # window start; on the Unix clock a number or RFC 3339
//   end = "9m"                         #   ("2026-11-29T09:00:00Z"), on another clock a number
//   onset = "3m"                       #   of seconds or a duration ("90s"); onset defaults to start
//   mitigated = "7m"                   # optional: when the cause was removed
//   root = "cart"                      # the root entity (node, service or replica slot name)
//   fault = "memory_leak"              # a fault type of `opsrl faults list`, or "none" (control)
//
// Errors throw std::invalid_argument naming the file, the key path ($.incidents[1].fault) and
// the expected form.
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <opsrl/datasets/prometheus_metrics.hpp>
#include <opsrl/sim/faults.hpp>

namespace opsrl::datasets::prom {

struct Incident {
  double start = 0, end = 0, onset = 0;  // seconds on the clock
  double mitigated = -1;                 // seconds on the clock; -1: unknown
  std::string root;                      // as written (before [entities] renaming)
  std::string fault;                     // as written
  std::optional<sim::FaultType> type;    // nullopt: "none", a control window
  std::string where;                     // "FILE: $.incidents[1]"
};

struct LabelsFile {
  std::string file;
  std::string clock;  // "": Unix seconds of the samples
  EntityLabels labels;
  std::map<std::string, std::string> metrics;   // simulator metric name -> Prometheus name
  std::map<std::string, std::string> entities;  // label value -> scenario entity name
  std::vector<Incident> incidents;

  bool unix_clock() const { return clock.empty(); }
};

// `toml`: the text is TOML (else JSON). `file` is only named in messages.
LabelsFile parse_labels(std::string_view text, bool toml, const std::string& file);
// Reads FILE (TOML if it ends in .toml, else JSON).
LabelsFile read_labels(const std::filesystem::path& file);

// "2026-11-29T09:00:00Z", "2026-11-29T09:00:00.250+01:00" -> Unix seconds; nullopt if not RFC 3339.
std::optional<double> parse_rfc3339(std::string_view text);
// Unix seconds -> "2026-11-29T09:00:00Z" (fractions of a second shown when present).
std::string format_rfc3339(double unix_s);

}  // namespace opsrl::datasets::prom
