// envs::ObservationBatch -> ObsTensors, and batch slicing. One copy per array: a from_blob view
// of the env's buffer converted (int32 -> int64, uint8 -> bool) straight into the destination.
#include <opsrl/agents/transformer_policy.hpp>

#include <algorithm>
#include <span>
#include <stdexcept>

#include <fmt/format.h>

#include <opsrl/envs/actions.hpp>

namespace opsrl::agents {

int64_t task_action_width(envs::TaskId task, int64_t tokens) {
  return task == envs::TaskId::kIncident ? envs::incident::kActionWidth
                                         : envs::autoscale::Columns{static_cast<int>(tokens)}.width();
}

int64_t task_mask_width(envs::TaskId task, int64_t tokens) {
  return task == envs::TaskId::kIncident ? envs::incident::MaskLayout{static_cast<int>(tokens)}.width()
                                         : envs::autoscale::MaskLayout{static_cast<int>(tokens)}.width();
}

namespace {

template <typename T>
torch::Tensor view_of(std::span<const T> data, torch::IntArrayRef sizes, torch::ScalarType type) {
  // from_blob wants a non-const pointer; the view is only read.
  return torch::from_blob(const_cast<T*>(data.data()), sizes, torch::TensorOptions().dtype(type));
}

int64_t widest_action(const envs::ObservationBatch& obs) {
  bool present[envs::kNumTasks] = {false, false};
  for (const std::int32_t t : obs.task_id()) {
    if (t < 0 || t >= envs::kNumTasks) throw std::invalid_argument(fmt::format("to_tensors: task_id {} is not a task", t));
    present[t] = true;
  }
  int64_t width = 0;
  for (int t = 0; t < envs::kNumTasks; ++t)
    if (present[t]) width = std::max(width, task_action_width(static_cast<envs::TaskId>(t), obs.max_tokens()));
  return width;
}

struct Views {
  torch::Tensor features, token_type, valid, links, task_id, action_mask;
};

Views views(const envs::ObservationBatch& obs) {
  const int64_t N = obs.num_envs(), T = obs.max_tokens(), F = obs.feature_width(), M = obs.mask_width();
  return {view_of(obs.features(), {N, T, F}, torch::kFloat32), view_of(obs.token_type(), {N, T}, torch::kInt32),
          view_of(obs.valid(), {N, T}, torch::kUInt8),        view_of(obs.links(), {N, T, 2}, torch::kInt32),
          view_of(obs.task_id(), {N}, torch::kInt32),          view_of(obs.action_mask(), {N, M}, torch::kUInt8)};
}

torch::Tensor copy_as(const torch::Tensor& src, torch::ScalarType type, torch::Device device) {
  return src.to(torch::TensorOptions().dtype(type).device(device), /*non_blocking=*/false, /*copy=*/true);
}

void copy_into(const torch::Tensor& src, torch::Tensor& dst, torch::ScalarType type, torch::Device device) {
  if (dst.defined() && dst.sizes() == src.sizes() && dst.scalar_type() == type && dst.device() == device)
    dst.copy_(src);
  else
    dst = copy_as(src, type, device);
}

}  // namespace

ObsTensors to_tensors(const envs::ObservationBatch& obs, torch::Device device, int64_t action_width) {
  const Views v = views(obs);
  ObsTensors out;
  out.features = copy_as(v.features, torch::kFloat32, device);
  out.token_type = copy_as(v.token_type, torch::kInt64, device);
  out.valid = copy_as(v.valid, torch::kBool, device);
  out.links = copy_as(v.links, torch::kInt64, device);
  out.task_id = copy_as(v.task_id, torch::kInt64, device);
  out.action_mask = copy_as(v.action_mask, torch::kBool, device);
  out.action_width = action_width > 0 ? action_width : widest_action(obs);
  return out;
}

void to_tensors(const envs::ObservationBatch& obs, ObsTensors& out) {
  const Views v = views(obs);
  const torch::Device device = out.features.defined() ? out.features.device() : torch::Device(torch::kCPU);
  copy_into(v.features, out.features, torch::kFloat32, device);
  copy_into(v.token_type, out.token_type, torch::kInt64, device);
  copy_into(v.valid, out.valid, torch::kBool, device);
  copy_into(v.links, out.links, torch::kInt64, device);
  copy_into(v.task_id, out.task_id, torch::kInt64, device);
  copy_into(v.action_mask, out.action_mask, torch::kBool, device);
  if (out.action_width == 0) out.action_width = widest_action(obs);
}

namespace {

template <typename Fn>
ObsTensors map_rows(const ObsTensors& obs, Fn&& fn) {
  ObsTensors out;
  out.features = fn(obs.features);
  out.token_type = fn(obs.token_type);
  out.valid = fn(obs.valid);
  if (obs.links.defined()) out.links = fn(obs.links);
  out.task_id = fn(obs.task_id);
  out.action_mask = fn(obs.action_mask);
  out.action_width = obs.action_width;
  return out;
}

}  // namespace

ObsTensors slice(const ObsTensors& obs, int64_t begin, int64_t end) {
  if (begin < 0 || end < begin || end > obs.batch())
    throw std::out_of_range(fmt::format("slice [{}, {}) of a batch of {}", begin, end, obs.batch()));
  return map_rows(obs, [&](const torch::Tensor& t) { return t.narrow(0, begin, end - begin); });
}

ObsTensors index(const ObsTensors& obs, const torch::Tensor& rows) {
  const torch::Tensor r = rows.to(obs.features.device(), torch::kInt64);
  return map_rows(obs, [&](const torch::Tensor& t) { return t.index_select(0, r); });
}

ObsTensors to_device(const ObsTensors& obs, torch::Device device) {
  return map_rows(obs, [&](const torch::Tensor& t) { return t.to(device); });
}

}  // namespace opsrl::agents
