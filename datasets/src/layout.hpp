#pragma once
// The arrays of an episode group with their dtypes and shapes: the one table the writer's
// checks, the reader and the checker agree on (internal).
#include <string>
#include <vector>

#include <opsrl/datasets/episode.hpp>

#include "h5.hpp"

namespace opsrl::datasets::layout {

struct ArrayForm {
  std::string path;             // relative to the episode group, e.g. "observations/features"
  h5::Elem elem;
  std::vector<hsize_t> dims;    // for an episode of T steps
  std::string dims_text;        // e.g. "(T+1, 52, 48)"
};

// Every array of an episode of `steps` steps, observations first.
std::vector<ArrayForm> episode_arrays(const EpisodeShape& shape, int steps);
// infos/intended_actions, present only in recordings with action noise.
ArrayForm intended_actions_form(const EpisodeShape& shape, int steps);
// Ground-truth arrays, one row per fault.
std::vector<ArrayForm> fault_arrays(int faults);

// "float32 (T+1, 52, 48) = (161, 52, 48)"
std::string expected_form(const ArrayForm& a);
std::string dims_string(const std::vector<hsize_t>& dims);

// Episode attributes (EpisodeMeta) and ground truth from an episode group. Attributes other
// than seed, task and steps are optional (a missing one keeps EpisodeMeta's default).
EpisodeMeta read_meta(hid_t group);
std::vector<FaultRow> read_faults(hid_t group);

}  // namespace opsrl::datasets::layout
