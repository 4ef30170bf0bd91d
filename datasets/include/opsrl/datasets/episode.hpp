#pragma once
// One episode in memory, array for array as it lies in the file (format.hpp). T = steps;
// observation arrays have T + 1 rows (the first observation, then one per step), the rest T.
// Row sizes come from the dataset's EnvSpec (EpisodeShape).
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include <opsrl/envs/info.hpp>
#include <opsrl/envs/spec.hpp>

namespace opsrl::datasets {

// Widths of one row of each array, from the spec.
struct EpisodeShape {
  int tokens = 0;             // T (max_tokens)
  int features = 0;           // F
  int mask_width = 0;         // M
  int action_width = 0;       // A
  int reward_components = 0;  // C = spec.reward_components.size()

  static EpisodeShape of(const envs::EnvSpec& spec);
};

// Ground truth of one fault. Times are seconds since the episode's first observation.
struct FaultRow {
  int type = 0;               // sim::FaultType
  int root_token = -1;        // the token of its root entity (the catalogue's root kind)
  double severity = std::numeric_limits<double>::quiet_NaN();  // NaN when unknown (imports)
  double onset_s = -1;
  double mitigated_s = -1;    // -1: not mitigated in the episode (or unknown)
  std::string source_type;    // imports: the source's own label (e.g. Nezha's "cpu_consumed")
  std::string source_root;    // imports: the source's entity (e.g. the pod's name)
};

// Episode attributes: identity and the final figures (envs::EpisodeStats); NaN or -1 where
// unknown (imported episodes have no returns' worth of simulator figures).
struct EpisodeMeta {
  std::uint64_t seed = 0;
  std::string task;
  std::string scenario_hash;
  std::string policy;
  int steps = 0;              // read back from the file's attribute (the writer takes T from the arrays)
  double return_ = 0;
  bool terminated = false, truncated = false;
  bool control = false;       // incident: no fault
  bool resolved = false;
  double first_onset_s = -1;
  double time_to_recover_s = -1;
  double time_to_diagnose_s = -1;
  double slo_violation_minutes = 0;
  double cost_usd = 0;
  double replica_hours = 0;
  bool claimed = false, root_correct = false, type_correct = false;
  int claimed_type = -1, claimed_token = -1;
  int actions = 0, wrong_actions = 0, invalid_actions = 0, escalations = 0;
  double elapsed_s = 0;
  std::string source_window;  // imports: the source's time window, e.g. "2022-08-22T03:51:19Z/..."
};

struct Episode {
  EpisodeShape shape;
  // observations, (T+1) rows
  std::vector<float> features;           // (T+1, tokens, F)
  std::vector<std::int32_t> token_type;  // (T+1, tokens)
  std::vector<std::uint8_t> valid;       // (T+1, tokens)
  std::vector<std::int32_t> links;       // (T+1, tokens, 2)
  std::vector<std::int32_t> task_id;     // (T+1, 1)
  std::vector<std::uint8_t> action_mask; // (T+1, M)
  std::vector<double> time_s;            // (T+1) seconds since the first observation
  // steps, T rows
  std::vector<std::int32_t> actions;            // (T, A)
  std::vector<double> rewards;                  // (T)
  std::vector<std::uint8_t> terminations;       // (T)
  std::vector<std::uint8_t> truncations;        // (T)
  std::vector<double> reward_components;        // (T, C)
  std::vector<std::int32_t> action_outcome;     // (T, 3): applied, invalid, refused
  // (T, A): the policy's own rows where a recording with action noise (RecordOptions::
  // action_noise) stepped the envs with other ones (`actions`); empty in other episodes.
  std::vector<std::int32_t> intended_actions;
  std::vector<FaultRow> faults;
  EpisodeMeta meta;

  explicit Episode(EpisodeShape s = {}) : shape(s) {}
  int steps() const { return static_cast<int>(rewards.size()); }
  // Empties every array, keeping their capacity; reserves room for `max_steps` steps.
  void clear(int max_steps = 0);
  // The first fault onset (-1 without faults).
  double first_onset() const;
};

// Compares two episodes array by array, bit for bit (NaN equals NaN of the same bits).
// Returns "" when identical, else the first difference: "observations/features row 12".
std::string first_difference(const Episode& a, const Episode& b);

}  // namespace opsrl::datasets
