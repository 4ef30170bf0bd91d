#pragma once
// Pieces both replays share (internal): the episode range, batches of episodes whose seeds a
// single VecEnv reproduces, the recorded config, and claim scoring.
#include <vector>

#include <opsrl/datasets/replay.hpp>

namespace opsrl::datasets::detail {

// Episodes [first, first + count) of the file, validated.
struct Range {
  int first = 0, count = 0;
};
Range episode_range(const Reader& reader, const ReplayOptions& options);

// Consecutive episodes replayed on one VecEnv: a VecEnv with seed S resets env i with S + i, so a
// batch holds episodes whose seeds are S, S + 1, ... (recordings always are; other files fall
// back to batches of one).
struct Batch {
  int first = 0, size = 0;
  std::uint64_t seed = 0;
};
std::vector<Batch> batches(const std::vector<std::uint64_t>& seeds, int first, int max_size);

struct ClaimScore {
  bool type_correct = false, root_correct = false, diagnosed = false;
};
// Scores a claim made at `time_s` against the faults whose onset had passed (the incident
// task's rule, envs/src/incident_task.cpp).
ClaimScore score_claim(const std::vector<FaultRow>& faults, int fault_type, int token, double time_s);

}  // namespace opsrl::datasets::detail
