#pragma once
// Importing recorded incidents of a real system, in Nezha's layout (IntelligentDDS/Nezha:
// OnlineBoutique on Kubernetes, per-pod metrics every minute, 24 labelled fault injections),
// into an incident dataset over entity tokens. docs/datasets.md ("Nezha") gives the mapping
// of every metric and fault type, and what is lost.
//
//   DIR/fault_list.json               the injected faults: pod, type, Unix time
//   DIR/metric/<pod>_metric.csv       per-pod metrics, one row per minute
//   DIR/metric/front_service.csv      the frontend's success rate and latency percentiles
//   DIR/metric/dependency.csv         the call graph (service -> service) and each service's node IP
//
// One episode per fault: from `before` ahead of the injection (plus the history window) to
// `after` past it, cut before the next injection. One step = one minute row. The episode's
// ground truth is the injected pod mapped onto the opsrl fault catalogue:
//   cpu_consumed -> runaway_process (the pod's replica token)
//   cpu_contention -> noisy_neighbour (the pod's node token)
//   network_delay -> network_degradation (the pod's node token)
//   return, exception -> bad_deploy (the pod's service token)
//
// Parameter   Default   Meaning (NezhaOptions)
// dir         required  the directory above
// before      2 min     window start before each injection
// after       10 min    window end after each injection, at most
// history     4         scrapes per history window (EnvConfig::history)
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <opsrl/sim/time.hpp>

namespace opsrl::datasets {

struct NezhaOptions {
  std::filesystem::path dir;
  sim::SimTime before = 2 * sim::kMinute;
  sim::SimTime after = 10 * sim::kMinute;
  int history = 4;
};

struct ImportReport {
  int faults = 0;
  int episodes = 0;
  std::int64_t steps = 0;
  int tokens = 0;                  // T of the dataset's observations
  std::vector<std::string> notes;  // what was read, mapped, filled in, ignored or lost (also stored in /@notes)
};

// Writes the dataset to `out` (atomically, through Writer). Throws std::invalid_argument naming
// the file, line or JSON key of bad input.
ImportReport import_nezha(const NezhaOptions& options, const std::filesystem::path& out, const std::string& command);

}  // namespace opsrl::datasets
