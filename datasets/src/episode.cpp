#include <opsrl/datasets/episode.hpp>

#include <opsrl/datasets/format.hpp>

#include <algorithm>
#include <cstring>

#include <fmt/format.h>

namespace opsrl::datasets {

EpisodeShape EpisodeShape::of(const envs::EnvSpec& spec) {
  return {spec.max_tokens, spec.feature_width, spec.mask_width, spec.action_width,
          static_cast<int>(spec.reward_components.size())};
}

void Episode::clear(int max_steps) {
  const auto obs_rows = static_cast<std::size_t>(max_steps) + 1;
  const auto rows = static_cast<std::size_t>(max_steps);
  const auto T = static_cast<std::size_t>(shape.tokens);
  auto reset = [](auto& v, std::size_t n) {
    v.clear();
    v.reserve(n);
  };
  reset(features, obs_rows * T * static_cast<std::size_t>(shape.features));
  reset(token_type, obs_rows * T);
  reset(valid, obs_rows * T);
  reset(links, obs_rows * T * 2);
  reset(task_id, obs_rows);
  reset(action_mask, obs_rows * static_cast<std::size_t>(shape.mask_width));
  reset(time_s, obs_rows);
  reset(actions, rows * static_cast<std::size_t>(shape.action_width));
  reset(rewards, rows);
  reset(terminations, rows);
  reset(truncations, rows);
  reset(reward_components, rows * static_cast<std::size_t>(shape.reward_components));
  reset(action_outcome, rows * static_cast<std::size_t>(kActionOutcomeWidth));
  reset(intended_actions, rows * static_cast<std::size_t>(shape.action_width));  // filled only under action noise
  faults.clear();
  meta = {};
}

double Episode::first_onset() const {
  double first = -1;
  for (const FaultRow& f : faults)
    if (f.onset_s >= 0 && (first < 0 || f.onset_s < first)) first = f.onset_s;
  return first;
}

namespace {

// The first row (of `row` elements) where the two arrays differ bitwise, or -1.
template <typename T>
long first_row(const std::vector<T>& a, const std::vector<T>& b, std::size_t row) {
  if (a.size() != b.size()) return -2;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (std::memcmp(&a[i], &b[i], sizeof(T)) != 0) return static_cast<long>(i / std::max<std::size_t>(row, 1));
  return -1;
}

}  // namespace

std::string first_difference(const Episode& a, const Episode& b) {
  const auto T = static_cast<std::size_t>(a.shape.tokens);
  if (a.steps() != b.steps()) return fmt::format("length: {} vs {} steps", a.steps(), b.steps());
  std::string out;
  auto check = [&](const char* name, const auto& x, const auto& y, std::size_t row) {
    if (!out.empty()) return;
    const long r = first_row(x, y, row);
    if (r == -2) out = fmt::format("{}: {} vs {} elements", name, x.size(), y.size());
    else if (r >= 0) out = fmt::format("{} row {}", name, r);
  };
  check("observations/features", a.features, b.features, T * static_cast<std::size_t>(a.shape.features));
  check("observations/token_type", a.token_type, b.token_type, T);
  check("observations/valid", a.valid, b.valid, T);
  check("observations/links", a.links, b.links, 2 * T);
  check("observations/task_id", a.task_id, b.task_id, 1);
  check("observations/action_mask", a.action_mask, b.action_mask, static_cast<std::size_t>(a.shape.mask_width));
  check("actions", a.actions, b.actions, static_cast<std::size_t>(a.shape.action_width));
  check("rewards", a.rewards, b.rewards, 1);
  check("terminations", a.terminations, b.terminations, 1);
  check("truncations", a.truncations, b.truncations, 1);
  check("infos/reward_components", a.reward_components, b.reward_components,
        static_cast<std::size_t>(a.shape.reward_components));
  check("infos/action_outcome", a.action_outcome, b.action_outcome, static_cast<std::size_t>(kActionOutcomeWidth));
  check("infos/time_s", a.time_s, b.time_s, 1);
  check(key::kIntendedActions, a.intended_actions, b.intended_actions, static_cast<std::size_t>(a.shape.action_width));
  if (!out.empty()) return out;
  if (a.faults.size() != b.faults.size())
    return fmt::format("infos/ground_truth: {} vs {} faults", a.faults.size(), b.faults.size());
  for (std::size_t k = 0; k < a.faults.size(); ++k) {
    const FaultRow& x = a.faults[k];
    const FaultRow& y = b.faults[k];
    if (x.type != y.type || x.root_token != y.root_token || std::memcmp(&x.severity, &y.severity, sizeof(double)) ||
        std::memcmp(&x.onset_s, &y.onset_s, sizeof(double)) || std::memcmp(&x.mitigated_s, &y.mitigated_s, sizeof(double)))
      return fmt::format("infos/ground_truth row {}", k);
  }
  return "";
}

}  // namespace opsrl::datasets
