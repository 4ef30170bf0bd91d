#pragma once
// External traffic: the rate of requests entering the cluster over time.
//
// Synthetic: base_rps * (1 - amplitude * cos(2 pi (t - phase) / period)) * exp(noise) * surge,
// where the noise is a log-normal AR(1) process updated at every tick and random surges
// arrive as a Poisson process. Trace: a (timestamp, value) CSV replayed with linear
// interpolation, scaled so that its peak is trace_peak_rps, looping at its end.
#include <memory>
#include <string>
#include <vector>

#include <opsrl/sim/rng.hpp>
#include <opsrl/sim/scenario.hpp>

namespace opsrl::sim {

// A (time, value) series read from CSV; times relative to its first row.
struct TrafficTrace {
  std::vector<SimTime> times;
  std::vector<double> values;
  std::string source;
  double peak() const;
  double at(SimTime t) const;  // linear interpolation, looping past the end
};

// Reads a CSV of "timestamp,value" rows (a header row is allowed). Timestamps may be seconds
// (integer or fractional), or ISO-8601 date-times ("2014-04-01 14:30:00", "2014-04-01T14:30:00Z").
// Throws std::runtime_error naming the file, line and expected form on bad input.
TrafficTrace load_traffic_trace(const std::string& path);

class TrafficModel {
 public:
  TrafficModel() = default;
  TrafficModel(const TrafficSpec& spec, std::uint64_t seed);

  // Advances the noise and surge processes to time t (called at every tick, t increasing)
  // and returns the external rate in requests/s until the next tick.
  double rate_at(SimTime t);
  // The noiseless diurnal (or trace) curve at t, in requests/s.
  double baseline_at(SimTime t) const;
  bool in_random_surge() const { return surge_until_ > last_t_; }

 private:
  TrafficSpec spec_;
  Rng rng_;
  std::shared_ptr<const TrafficTrace> trace_;
  double trace_scale_ = 1.0;
  double log_noise_ = 0.0;
  SimTime last_t_ = 0;
  SimTime next_surge_ = -1;
  SimTime surge_until_ = -1;
};

}  // namespace opsrl::sim
