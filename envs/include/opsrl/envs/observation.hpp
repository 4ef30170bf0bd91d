#pragma once
// Observation buffers. An env never owns the arrays it writes: it writes into an
// ObservationView, which points at one slot of an ObservationBatch (a VecEnv's contiguous
// batch, or a batch of one for a single env). docs/observation.md is the exact layout.
#include <cstdint>
#include <span>
#include <vector>

#include <opsrl/envs/spec.hpp>

namespace opsrl::envs {

// One env's slot. Pointers into a batch; the shapes are per env.
struct ObservationView {
  float* features = nullptr;        // (T x F) token features, see docs/observation.md
  std::int32_t* token_type = nullptr;  // (T) TokenType
  std::uint8_t* valid = nullptr;    // (T) 1 for real tokens, 0 for padding
  std::int32_t* links = nullptr;    // (T x 2) replica: [service token, node token or -1]; others -1
  std::int32_t* task_id = nullptr;  // (1) TaskId
  std::uint8_t* action_mask = nullptr;  // (M) 1 = allowed, laid out by the spec's action heads
  int max_tokens = 0;               // T
  int feature_width = 0;            // F
  int mask_width = 0;               // M (may exceed the task's own mask_width in a mixed batch)
};

// The same arrays for N envs, contiguous with the env index as the leading axis.
class ObservationBatch {
 public:
  ObservationBatch() = default;
  ObservationBatch(int num_envs, int max_tokens, int feature_width, int mask_width);
  // Sized for `num_envs` envs of this spec.
  static ObservationBatch for_spec(const EnvSpec& spec, int num_envs = 1);

  ObservationView view(int env);
  // Copies env `from` of `other` (same shapes) into env `to` of this batch.
  void copy_slot(const ObservationBatch& other, int from, int to);

  int num_envs() const { return num_envs_; }
  int max_tokens() const { return max_tokens_; }
  int feature_width() const { return feature_width_; }
  int mask_width() const { return mask_width_; }

  std::span<const float> features() const { return features_; }         // (N x T x F)
  std::span<const std::int32_t> token_type() const { return token_type_; }  // (N x T)
  std::span<const std::uint8_t> valid() const { return valid_; }         // (N x T)
  std::span<const std::int32_t> links() const { return links_; }         // (N x T x 2)
  std::span<const std::int32_t> task_id() const { return task_id_; }     // (N)
  std::span<const std::uint8_t> action_mask() const { return action_mask_; }  // (N x M)

 private:
  int num_envs_ = 0, max_tokens_ = 0, feature_width_ = 0, mask_width_ = 0;
  std::vector<float> features_;
  std::vector<std::int32_t> token_type_;
  std::vector<std::uint8_t> valid_;
  std::vector<std::int32_t> links_;
  std::vector<std::int32_t> task_id_;
  std::vector<std::uint8_t> action_mask_;
};

}  // namespace opsrl::envs
