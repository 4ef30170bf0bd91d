#include <opsrl/train/rollout.hpp>

#include <cstring>
#include <functional>
#include <vector>
#include <stdexcept>

#include <fmt/format.h>

namespace opsrl::train {

ObsTensors make_obs_tensors(std::int64_t batch, int max_tokens, int feature_width, int mask_width, torch::Device device) {
  const auto on = torch::TensorOptions().device(device);
  ObsTensors o;
  o.features = torch::zeros({batch, max_tokens, feature_width}, on.dtype(torch::kFloat32));
  o.token_type = torch::zeros({batch, max_tokens}, on.dtype(torch::kInt64));
  o.valid = torch::zeros({batch, max_tokens}, on.dtype(torch::kBool));
  o.links = torch::full({batch, max_tokens, 2}, -1, on.dtype(torch::kInt64));
  o.task_id = torch::zeros({batch}, on.dtype(torch::kInt64));
  o.action_mask = torch::zeros({batch, mask_width}, on.dtype(torch::kBool));
  return o;
}

void copy_observations(const envs::ObservationBatch& src, const ObsTensors& dst) {
  const std::int64_t B = src.num_envs(), T = src.max_tokens(), F = src.feature_width(), M = src.mask_width();
  if (dst.features.size(0) != B || dst.features.size(1) != T || dst.features.size(2) != F || dst.action_mask.size(1) != M)
    throw std::invalid_argument(fmt::format("copy_observations: a batch of {} x {} tokens x {} features, mask {} into "
                                            "tensors of {} and mask {}",
                                            B, T, F, M, c10::str(dst.features.sizes()), c10::str(dst.action_mask.sizes())));
  if (!dst.features.is_cpu() || !dst.features.is_contiguous() || !dst.token_type.is_contiguous() ||
      !dst.valid.is_contiguous() || !dst.links.is_contiguous() || !dst.task_id.is_contiguous() ||
      !dst.action_mask.is_contiguous())
    throw std::invalid_argument("copy_observations: the destination must be contiguous CPU tensors");
  std::memcpy(dst.features.data_ptr<float>(), src.features().data(), src.features().size_bytes());
  static_assert(sizeof(bool) == sizeof(std::uint8_t));
  std::memcpy(dst.valid.data_ptr<bool>(), src.valid().data(), src.valid().size_bytes());
  std::memcpy(dst.action_mask.data_ptr<bool>(), src.action_mask().data(), src.action_mask().size_bytes());
  std::int64_t* tt = dst.token_type.data_ptr<std::int64_t>();
  const auto types = src.token_type();
  for (std::size_t k = 0; k < types.size(); ++k) tt[k] = types[k];
  std::int64_t* links = dst.links.data_ptr<std::int64_t>();
  const auto src_links = src.links();
  for (std::size_t k = 0; k < src_links.size(); ++k) links[k] = src_links[k];
  std::int64_t* task = dst.task_id.data_ptr<std::int64_t>();
  const auto tasks = src.task_id();
  for (std::size_t k = 0; k < tasks.size(); ++k) task[k] = tasks[k];
}

ObsTensors map_obs(const ObsTensors& obs, const std::function<torch::Tensor(const torch::Tensor&)>& f) {
  ObsTensors out;
  out.features = f(obs.features);
  out.token_type = f(obs.token_type);
  out.valid = f(obs.valid);
  out.links = f(obs.links);
  out.task_id = f(obs.task_id);
  out.action_mask = f(obs.action_mask);
  out.action_width = obs.action_width;
  return out;
}

ObsTensors select_rows(const ObsTensors& obs, const torch::Tensor& rows) {
  const auto r = rows.to(obs.features.device(), torch::kInt64);
  return map_obs(obs, [&](const torch::Tensor& t) { return t.index_select(0, r); });
}

ObsTensors flatten_steps(const ObsTensors& obs) {
  return map_obs(obs, [](const torch::Tensor& t) { return t.flatten(0, 1); });
}

ObsTensors obs_to(const ObsTensors& obs, torch::Device device) {
  return map_obs(obs, [&](const torch::Tensor& t) { return t.to(device); });
}

RolloutStorage::RolloutStorage(int num_steps, int num_envs, int max_tokens, int feature_width, int mask_width,
                               int action_width, torch::Device device)
    : steps_(num_steps), envs_(num_envs), staged_(!device.is_cpu()) {
  const std::int64_t S = num_steps, N = num_envs;
  ObsTensors flat = make_obs_tensors(S * N, max_tokens, feature_width, mask_width, device);
  obs = map_obs(flat, [&](const torch::Tensor& t) {
    std::vector<std::int64_t> sizes{S, N};
    for (std::int64_t d = 1; d < t.dim(); ++d) sizes.push_back(t.size(d));
    return t.view(sizes);
  });
  obs.action_width = action_width;
  actions = torch::zeros({S, N, action_width}, torch::TensorOptions().device(device).dtype(torch::kInt32));
  const auto f = torch::TensorOptions().dtype(torch::kFloat32);
  log_probs = torch::zeros({S, N}, f);
  values = torch::zeros({S, N}, f);
  rewards = torch::zeros({S, N}, f);
  final_values = torch::zeros({S, N}, f);
  terminated = torch::zeros({S, N}, torch::kBool);
  truncated = torch::zeros({S, N}, torch::kBool);
  aux_type = torch::full({S, N}, -1, torch::kInt64);
  aux_target = torch::full({S, N}, -1, torch::kInt64);
  teacher_actions = torch::zeros({S, N, action_width}, torch::kInt32);
  next_value = torch::zeros({N}, f);
  if (staged_) staging_ = make_obs_tensors(N, max_tokens, feature_width, mask_width, torch::kCPU);
}

ObsTensors RolloutStorage::step_obs(int t) const {
  return map_obs(obs, [&](const torch::Tensor& x) { return x[t]; });
}

void RolloutStorage::store_observations(int t, const envs::ObservationBatch& batch) {
  const ObsTensors dst = step_obs(t);
  if (!staged_) {
    copy_observations(batch, dst);
    return;
  }
  copy_observations(batch, staging_);
  dst.features.copy_(staging_.features);
  dst.token_type.copy_(staging_.token_type);
  dst.valid.copy_(staging_.valid);
  dst.links.copy_(staging_.links);
  dst.task_id.copy_(staging_.task_id);
  dst.action_mask.copy_(staging_.action_mask);
}

}  // namespace opsrl::train
