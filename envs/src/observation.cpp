// ObservationBatch: contiguous buffers, one slot per env.
#include <opsrl/envs/observation.hpp>

#include <algorithm>
#include <stdexcept>

#include <fmt/format.h>

namespace opsrl::envs {

ObservationBatch::ObservationBatch(int num_envs, int max_tokens, int feature_width, int mask_width)
    : num_envs_(num_envs), max_tokens_(max_tokens), feature_width_(feature_width), mask_width_(mask_width) {
  if (num_envs < 1 || max_tokens < 1 || feature_width < 1 || mask_width < 0)
    throw std::invalid_argument(fmt::format(
        "ObservationBatch: expected num_envs >= 1, max_tokens >= 1, feature_width >= 1, mask_width >= 0, got "
        "num_envs = {}, max_tokens = {}, feature_width = {}, mask_width = {}",
        num_envs, max_tokens, feature_width, mask_width));
  const auto N = static_cast<std::size_t>(num_envs), T = static_cast<std::size_t>(max_tokens);
  features_.assign(N * T * static_cast<std::size_t>(feature_width), 0.0f);
  token_type_.assign(N * T, static_cast<std::int32_t>(TokenType::kPadding));
  valid_.assign(N * T, 0);
  links_.assign(N * T * 2, -1);
  task_id_.assign(N, 0);
  action_mask_.assign(N * static_cast<std::size_t>(mask_width), 0);
}

ObservationBatch ObservationBatch::for_spec(const EnvSpec& spec, int num_envs) {
  return ObservationBatch(num_envs, spec.max_tokens, spec.feature_width, spec.mask_width);
}

ObservationView ObservationBatch::view(int env) {
  if (env < 0 || env >= num_envs_)
    throw std::out_of_range(fmt::format("ObservationBatch::view: env {} out of range [0, {})", env, num_envs_));
  const auto i = static_cast<std::size_t>(env), T = static_cast<std::size_t>(max_tokens_);
  return ObservationView{features_.data() + i * T * static_cast<std::size_t>(feature_width_),
                         token_type_.data() + i * T,
                         valid_.data() + i * T,
                         links_.data() + i * T * 2,
                         task_id_.data() + i,
                         action_mask_.data() + i * static_cast<std::size_t>(mask_width_),
                         max_tokens_,
                         feature_width_,
                         mask_width_};
}

void ObservationBatch::copy_slot(const ObservationBatch& o, int from, int to) {
  if (o.max_tokens_ != max_tokens_ || o.feature_width_ != feature_width_ || o.mask_width_ != mask_width_)
    throw std::invalid_argument("ObservationBatch::copy_slot: shapes differ");
  const auto f = static_cast<std::size_t>(from), t = static_cast<std::size_t>(to);
  const auto T = static_cast<std::size_t>(max_tokens_), F = static_cast<std::size_t>(feature_width_),
             M = static_cast<std::size_t>(mask_width_);
  auto copy = [](const auto& src, auto& dst, std::size_t from_i, std::size_t to_i, std::size_t n) {
    std::copy_n(src.begin() + static_cast<std::ptrdiff_t>(from_i * n), n, dst.begin() + static_cast<std::ptrdiff_t>(to_i * n));
  };
  copy(o.features_, features_, f, t, T * F);
  copy(o.token_type_, token_type_, f, t, T);
  copy(o.valid_, valid_, f, t, T);
  copy(o.links_, links_, f, t, T * 2);
  copy(o.task_id_, task_id_, f, t, 1);
  copy(o.action_mask_, action_mask_, f, t, M);
}

}  // namespace opsrl::envs
