#pragma once
// Telemetry snapshots -> entity-token feature rows, for importers that rebuild sim::Telemetry
// from recorded series (internal). It computes every column exactly as the env's tokenizer
// (envs/src/tokenizer.cpp) does from a live cluster's scrape, but takes the scrape itself, so
// that no cluster is needed; tests/datasets/test_prometheus.cpp checks the two against each
// other column by column on a simulated run.
#include <cstdint>
#include <vector>

#include <opsrl/envs/features.hpp>
#include <opsrl/sim/scenario.hpp>
#include <opsrl/sim/telemetry.hpp>

namespace opsrl::datasets {

struct Episode;

class TelemetryTokens {
 public:
  TelemetryTokens(const sim::Scenario& scenario, const envs::TokenLayout& tokens, const envs::feature::Layout& columns);

  // Forgets the history (start of an episode); static columns are kept.
  void clear();
  // One scrape: shifts the history windows and writes the newest values and current features.
  void push(const sim::Telemetry& t);
  // The global token's row, for the task's own global features (time of day, progress, ...).
  float* global_row() { return feat_.data(); }
  // Appends one observation row of features, token types, validity and links to `ep`.
  void emit(Episode& ep) const;

 private:
  const sim::Scenario* scenario_;
  envs::TokenLayout tokens_;
  envs::feature::Layout columns_;
  int width_;
  std::vector<double> expected_rps_;           // (services) arrival at base_rps, req/s
  std::vector<double> expected_rep_rps_;       // (services) that over the initial replicas
  std::vector<std::int32_t> replica_service_;  // (replica slots)
  std::vector<std::uint8_t> entry_;            // (services) receives external traffic
  double entry_expected_rps_ = 1;
  double slo_p99_ms_ = 500;
  std::vector<double> prev_service_restarts_, prev_replica_restarts_;
  std::vector<float> feat_;               // (T x F)
  std::vector<std::int32_t> token_type_;  // (T)
  std::vector<std::uint8_t> valid_;       // (T)
  std::vector<std::int32_t> links_;       // (T x 2)
};

}  // namespace opsrl::datasets
