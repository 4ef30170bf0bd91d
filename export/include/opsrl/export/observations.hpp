#pragma once
// Observations for checking an exported model against LibTorch: random ones of varying batch and
// token counts (types, padding, links, masks and out-of-range features all drawn), and real ones
// from envs::VecEnv over built-in scenarios, both tasks, with random play between them. Also the
// model's input arrays of a batch, and one observation as JSON for the deployment example.
//
// verification_sets (seed s):
//   random   B = 1, 3, 17, 64 at T = 1, 5, 23, 60 (mixed tasks, incident-width masks), and an
//            autoscale-only batch with 5T-wide masks
//   env      small (T = 16), small padded to T = 24, default (T = 52): incident and autoscale envs
//            in one VecEnv (replica moves on), observations after reset and after random steps
#include <cstdint>
#include <string>
#include <vector>

#include <opsrl/envs/observation.hpp>
#include <opsrl/export/ort_runner.hpp>

namespace opsrl::exporter {

struct ObservationSet {
  std::string label;             // e.g. "random B=17 T=23", "env default B=8 T=52 step 3"
  envs::ObservationBatch batch;
  int action_width = 0;          // of the batch's action rows (0: the widest task's present)
};

struct RandomObservationOptions {
  int batch = 4;
  int tokens = 8;
  int feature_width = 48;
  std::uint64_t seed = 0;
  bool autoscale_only = false;  // every row autoscale, masks 5T wide (else mixed tasks, 21T + 21)
};
envs::ObservationBatch random_observations(const RandomObservationOptions& options);

struct EnvObservationOptions {
  std::string scenario = "default";
  int max_tokens = 0;      // pad to this many tokens (0: the scenario's)
  int history = 4;         // must give the policy's feature width
  int incident = 4;        // envs of each task in the VecEnv
  int autoscale = 4;
  int steps = 6;           // random steps after reset
  int every = 3;           // keep the observations of every this many steps (and the reset's)
  std::uint64_t seed = 0;
};
std::vector<ObservationSet> env_observations(const EnvObservationOptions& options);

// The history length whose feature width is `feature_width` (4 when several fit), 0 if none.
int history_for_width(int feature_width);

// The sets described above. history 0: derived from the feature width; without a fitting history
// only the random sets.
std::vector<ObservationSet> verification_sets(int feature_width, int history, std::uint64_t seed);

// The model's inputs of a batch, named and typed as the observation arrays.
std::vector<RawArray> model_inputs(const envs::ObservationBatch& obs);

// One observation of a task as JSON (the deployment example's input): the arrays under their
// names (task_id a plain number), plus the token names, and the ground truth for comparison.
struct SampleObservationOptions {
  std::string task = "incident";
  std::string scenario = "default";
  int history = 4;
  std::uint64_t seed = 0;
  int steps = 20;  // noop steps after reset (an incident's fault starts within 5 minutes)
};
std::string sample_observation_json(const SampleObservationOptions& options);

}  // namespace opsrl::exporter
