#pragma once
// Telemetry scrapes -> entity-token features with a history window. Keeps the env's own copy
// of the observation's token rows; each scrape shifts every history window by one column and
// writes the newest values, and emit() copies the rows into an observation slot. The history
// lives here rather than in the output slot, so a caller may do what it likes with the slot.
#include <cstdint>
#include <vector>

#include <opsrl/sim/cluster.hpp>
#include <opsrl/envs/features.hpp>
#include <opsrl/envs/observation.hpp>

namespace opsrl::envs {

class Tokenizer {
 public:
  Tokenizer(const sim::Scenario& scenario, const TokenLayout& tokens, const feature::Layout& columns);

  // Forgets the history (start of an episode); static columns are kept.
  void clear();
  // Records the cluster's latest scrape: shifts the history windows and writes the newest
  // values and the current features of every entity token and of the global token.
  void push(const sim::Cluster& cluster);
  // The global token's row, for the env's own global features (time of day, task, ...).
  float* global_row() { return feat_.data(); }
  // Copies features, token types, validity and links into `out` (task_id and masks are the env's).
  void emit(const ObservationView& out) const;

 private:
  void write_static_columns(const sim::Scenario& scenario);

  TokenLayout tokens_;
  feature::Layout columns_;
  int width_;  // F
  // Static per-entity data derived from the scenario.
  std::vector<double> expected_rps_;      // (services) arrival at base_rps, req/s
  std::vector<double> expected_rep_rps_;  // (services) that over the initial replicas
  std::vector<std::int32_t> replica_service_;  // (replica slots)
  std::vector<std::uint8_t> entry_;       // (services) receives external traffic
  double entry_expected_rps_ = 1;         // sum over entry services
  double slo_p99_ms_ = 500;
  // Counters from the previous scrape, for per-scrape deltas.
  std::vector<double> prev_service_restarts_, prev_replica_restarts_;
  // The observation rows.
  std::vector<float> feat_;               // (T x F)
  std::vector<std::int32_t> token_type_;  // (T)
  std::vector<std::uint8_t> valid_;       // (T)
  std::vector<std::int32_t> links_;       // (T x 2)
};

}  // namespace opsrl::envs
