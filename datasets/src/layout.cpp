#include "layout.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <opsrl/datasets/format.hpp>

namespace opsrl::datasets::layout {

std::vector<ArrayForm> episode_arrays(const EpisodeShape& s, int steps) {
  const auto O = static_cast<hsize_t>(steps) + 1, R = static_cast<hsize_t>(steps);
  const auto N = static_cast<hsize_t>(s.tokens), F = static_cast<hsize_t>(s.features);
  const auto M = static_cast<hsize_t>(s.mask_width), A = static_cast<hsize_t>(s.action_width);
  const auto C = static_cast<hsize_t>(s.reward_components);
  const auto W = static_cast<hsize_t>(kActionOutcomeWidth);
  using h5::Elem;
  return {
      {"observations/features", Elem::kF32, {O, N, F}, fmt::format("(T+1, {}, {})", N, F)},
      {"observations/token_type", Elem::kI32, {O, N}, fmt::format("(T+1, {})", N)},
      {"observations/valid", Elem::kU8, {O, N}, fmt::format("(T+1, {})", N)},
      {"observations/links", Elem::kI32, {O, N, 2}, fmt::format("(T+1, {}, 2)", N)},
      {"observations/task_id", Elem::kI32, {O, 1}, "(T+1, 1)"},
      {"observations/action_mask", Elem::kU8, {O, M}, fmt::format("(T+1, {})", M)},
      {key::kActions, Elem::kI32, {R, A}, fmt::format("(T, {})", A)},
      {key::kRewards, Elem::kF64, {R}, "(T)"},
      {key::kTerminations, Elem::kU8, {R}, "(T)"},
      {key::kTruncations, Elem::kU8, {R}, "(T)"},
      {key::kRewardComponents, Elem::kF64, {R, C}, fmt::format("(T, {})", C)},
      {key::kActionOutcome, Elem::kI32, {R, W}, fmt::format("(T, {})", W)},
      {key::kTime, Elem::kF64, {O}, "(T+1)"},
      {key::kInfoActionMask, Elem::kU8, {O, M}, fmt::format("(T+1, {})", M)},
  };
}

ArrayForm intended_actions_form(const EpisodeShape& s, int steps) {
  const auto A = static_cast<hsize_t>(s.action_width);
  return {key::kIntendedActions, h5::Elem::kI32, {static_cast<hsize_t>(steps), A}, fmt::format("(T, {})", A)};
}

std::vector<ArrayForm> fault_arrays(int faults) {
  const auto K = static_cast<hsize_t>(faults);
  using h5::Elem;
  return {
      {key::kFaultType, Elem::kI32, {K}, "(K)"},
      {key::kRootToken, Elem::kI32, {K}, "(K)"},
      {key::kSeverity, Elem::kF64, {K}, "(K)"},
      {key::kOnset, Elem::kF64, {K}, "(K)"},
      {key::kMitigated, Elem::kF64, {K}, "(K)"},
  };
}

std::string dims_string(const std::vector<hsize_t>& dims) {
  if (dims.empty()) return "a scalar";
  return fmt::format("({})", fmt::join(dims, ", "));
}

std::string expected_form(const ArrayForm& a) {
  return fmt::format("{} {} = {}", h5::elem_name(a.elem), a.dims_text, dims_string(a.dims));
}

namespace {

template <typename T>
void optional_attr(hid_t g, const char* name, T& out) {
  if (!h5::has_attr(g, name)) return;
  if constexpr (std::is_same_v<T, bool>) {
    out = h5::read_attr<std::uint8_t>(g, name) != 0;
  } else if constexpr (std::is_same_v<T, int>) {
    out = static_cast<int>(h5::read_attr<std::int64_t>(g, name));
  } else if constexpr (std::is_same_v<T, std::string>) {
    out = h5::read_attr_string(g, name);
  } else {
    out = h5::read_attr<T>(g, name);
  }
}

}  // namespace

EpisodeMeta read_meta(hid_t g) {
  EpisodeMeta m;
  m.seed = h5::read_attr<std::uint64_t>(g, "seed");
  m.task = h5::read_attr_string(g, "task");
  m.steps = static_cast<int>(h5::read_attr<std::int64_t>(g, "steps"));
  optional_attr(g, "scenario_hash", m.scenario_hash);
  optional_attr(g, "policy", m.policy);
  optional_attr(g, "return", m.return_);
  optional_attr(g, "terminated", m.terminated);
  optional_attr(g, "truncated", m.truncated);
  optional_attr(g, "control", m.control);
  optional_attr(g, "resolved", m.resolved);
  optional_attr(g, "first_onset_s", m.first_onset_s);
  optional_attr(g, "time_to_recover_s", m.time_to_recover_s);
  optional_attr(g, "time_to_diagnose_s", m.time_to_diagnose_s);
  optional_attr(g, "slo_violation_minutes", m.slo_violation_minutes);
  optional_attr(g, "cost_usd", m.cost_usd);
  optional_attr(g, "replica_hours", m.replica_hours);
  optional_attr(g, "elapsed_s", m.elapsed_s);
  optional_attr(g, "claimed", m.claimed);
  optional_attr(g, "claimed_type", m.claimed_type);
  optional_attr(g, "claimed_token", m.claimed_token);
  optional_attr(g, "root_correct", m.root_correct);
  optional_attr(g, "type_correct", m.type_correct);
  optional_attr(g, "actions", m.actions);
  optional_attr(g, "wrong_actions", m.wrong_actions);
  optional_attr(g, "invalid_actions", m.invalid_actions);
  optional_attr(g, "escalations", m.escalations);
  optional_attr(g, "source_window", m.source_window);
  return m;
}

std::vector<FaultRow> read_faults(hid_t g) {
  const auto type = h5::read_array<std::int32_t>(g, key::kFaultType);
  const std::size_t K = type.size();
  const auto root = h5::read_array<std::int32_t>(g, key::kRootToken);
  const auto severity = h5::read_array<double>(g, key::kSeverity);
  const auto onset = h5::read_array<double>(g, key::kOnset);
  const auto mitigated = h5::read_array<double>(g, key::kMitigated);
  if (root.size() != K || severity.size() != K || onset.size() != K || mitigated.size() != K)
    throw h5::Failure(fmt::format("the ground-truth arrays disagree on the number of faults ({} fault types)", K));
  std::vector<std::string> source_type, source_root;
  const h5::Group gt = h5::open_group(g, key::kGroundTruth);
  if (h5::has_attr(gt.get(), key::kSourceFaultType)) source_type = h5::read_attr_strings(gt.get(), key::kSourceFaultType);
  if (h5::has_attr(gt.get(), key::kSourceRoot)) source_root = h5::read_attr_strings(gt.get(), key::kSourceRoot);
  std::vector<FaultRow> out(K);
  for (std::size_t k = 0; k < K; ++k) {
    out[k].type = type[k];
    out[k].root_token = root[k];
    out[k].severity = severity[k];
    out[k].onset_s = onset[k];
    out[k].mitigated_s = mitigated[k];
    if (k < source_type.size()) out[k].source_type = source_type[k];
    if (k < source_root.size()) out[k].source_root = source_root[k];
  }
  return out;
}

}  // namespace opsrl::datasets::layout
