// EnvSpec helpers: head lookup and the observation's array list.
#include <opsrl/envs/spec.hpp>

#include <stdexcept>

#include <fmt/format.h>

namespace opsrl::envs {

std::string_view dtype_name(DType d) {
  switch (d) {
    case DType::kFloat32: return "float32";
    case DType::kInt32: return "int32";
    case DType::kUInt8: return "uint8";
  }
  return "?";
}

const ActionHeadSpec& EnvSpec::head(std::string_view name) const {
  std::string known;
  for (const ActionHeadSpec& h : action_heads) {
    if (h.name == name) return h;
    known += (known.empty() ? "" : ", ") + h.name;
  }
  throw std::out_of_range(fmt::format("task {} has no action head \"{}\"; its heads are: {}", task, name, known));
}

std::vector<ArraySpec> EnvSpec::observation_arrays() const {
  const int T = max_tokens;
  return {
      {"features", DType::kFloat32, {T, feature_width}, "token features (docs/observation.md)"},
      {"token_type", DType::kInt32, {T}, "0 global, 1 node, 2 service, 3 replica, 4 padding"},
      {"valid", DType::kUInt8, {T}, "1 for real tokens, 0 for padding"},
      {"links", DType::kInt32, {T, 2}, "replica tokens: [service token, node token or -1]; others -1"},
      {"task_id", DType::kInt32, {1}, "0 incident, 1 autoscale"},
      {"action_mask", DType::kUInt8, {mask_width}, "1 = allowed; laid out by the action heads"},
  };
}

}  // namespace opsrl::envs
