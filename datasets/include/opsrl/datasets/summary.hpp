#pragma once
// What `opsrl dataset info` prints: the dataset's origin, its episodes and their figures, the
// fault mix and the storage against the raw size. Reads attributes and ground truth only, plus
// the storage sizes; no array is decompressed.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <opsrl/datasets/reader.hpp>

namespace opsrl::datasets {

struct Range {
  double mean = 0, min = 0, max = 0;
  int n = 0;
  void add(double x);
};

struct DatasetSummary {
  DatasetHeader header;
  int episodes = 0;
  std::int64_t steps = 0;
  Range steps_per_episode;
  Range returns;
  std::map<std::string, int> tasks;            // task -> episodes
  std::map<std::string, int> policies;         // policy -> episodes
  int fault_episodes = 0, control_episodes = 0;
  int resolved = 0;                            // incident episodes that ended resolved
  Range slo_violation_minutes, cost_usd;
  std::vector<std::pair<std::string, int>> fault_mix;         // opsrl fault type -> faults, catalogue order
  std::vector<std::pair<std::string, int>> source_fault_mix;  // imports: the source's labels -> faults
  StorageStats storage;
};

DatasetSummary summarize(const Reader& reader);

}  // namespace opsrl::datasets
