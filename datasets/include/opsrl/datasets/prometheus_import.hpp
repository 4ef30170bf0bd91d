#pragma once
// Importing Prometheus range queries (the HTTP API's /api/v1/query_range JSON, result type
// "matrix") plus a labels file of incident windows into an incident dataset over entity tokens.
// docs/datasets.md ("Prometheus") gives the metric mapping, the labels file and what is lost.
//
//   query_range JSON --(series by __name__ and entity label)--> per-snapshot sim::Telemetry
//                    --(zero-order hold onto the env's step grid)--> token features, as the env's
//   labels file      --(one window each)--> episodes with ground truth (fault type, root token)
//
// Series are named as `opsrl simulate --serve-metrics` exposes them (prometheus_metrics.hpp);
// the labels file can rename metrics, entity labels and entities for other sources.
//
// Parameter     Default    Meaning (PrometheusOptions)
// query_range   required   one or more query_range answers (JSON files), merged by timestamp
// labels        required   the labels file (TOML or JSON)
// scenario      "default"  the scenario whose entities the series name (sizes the tokens)
// history       4          steps per history window (EnvConfig::history)
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace opsrl::datasets {

struct PrometheusOptions {
  std::vector<std::filesystem::path> query_range;
  std::filesystem::path labels;
  std::string scenario = "default";
  int history = 4;
};

struct PrometheusReport {
  int files = 0;
  int series = 0;            // series mapped onto the telemetry
  int ignored_series = 0;    // series of other metrics, set aside
  std::int64_t samples = 0;  // samples read, all files
  int snapshots = 0;         // distinct times with data (on the clock)
  int episodes = 0;
  std::int64_t steps = 0;
  std::int64_t fresh_steps = 0;  // observation rows whose snapshot is newer than the previous row's
  std::int64_t rows = 0;         // observation rows written (steps + episodes)
  int tokens = 0;
  std::vector<std::string> notes;  // what was read, mapped, filled in, ignored or lost (also /@notes)
};

// Writes the dataset to `out` (atomically, through Writer). Throws std::invalid_argument naming
// the file, the JSON path or key and the expected form for bad input.
PrometheusReport import_prometheus(const PrometheusOptions& options, const std::filesystem::path& out,
                                   const std::string& command);

}  // namespace opsrl::datasets
