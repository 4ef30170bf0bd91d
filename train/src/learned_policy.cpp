#include <opsrl/train/learned_policy.hpp>

#include <algorithm>
#include <mutex>

#include <fmt/format.h>

#include <opsrl/train/rollout.hpp>
#include <opsrl/train/run.hpp>
#include <opsrl/train/trainer.hpp>

namespace opsrl::train {

LearnedPolicy::LearnedPolicy(std::shared_ptr<ActorCritic> policy, std::string name, torch::Device device)
    : policy_(std::move(policy)), name_(std::move(name)), device_(device) {}

std::string LearnedPolicy::unsupported_reason(envs::TaskId task) const {
  (void)task;
  return {};
}

void LearnedPolicy::begin_episode(const envs::VecEnv& vec, int env) {
  (void)vec;
  (void)env;  // stateless: the observation carries the history window
}

void LearnedPolicy::act(const envs::VecEnv& vec, std::span<std::int32_t> actions) {
  const int N = vec.size(), A = vec.action_width();
  if (actions.size() != static_cast<std::size_t>(N) * static_cast<std::size_t>(A))
    throw std::invalid_argument(fmt::format("policy {}: actions must hold num_envs x action_width = {} x {} = {} entries, got {}",
                                            name_, N, A, static_cast<std::size_t>(N) * A, actions.size()));
  const envs::ObservationBatch& obs = vec.observations();
  if (!scratch_.features.defined() || scratch_.features.size(0) != N || scratch_.features.size(1) != obs.max_tokens() ||
      scratch_.action_mask.size(1) != obs.mask_width())
    scratch_ = make_obs_tensors(N, obs.max_tokens(), obs.feature_width(), obs.mask_width());
  scratch_.action_width = A;
  copy_observations(obs, scratch_);
  torch::NoGradGuard no_grad;
  const ActOutput out = policy_->act(obs_to(scratch_, device_), /*greedy=*/true, {});
  const torch::Tensor rows = out.actions.to(torch::kCPU, torch::kInt32).contiguous();
  const std::int64_t width = std::min<std::int64_t>(rows.size(1), A);
  const std::int32_t* src = rows.data_ptr<std::int32_t>();
  for (int i = 0; i < N; ++i) {
    std::int32_t* dst = actions.data() + static_cast<std::size_t>(i) * A;
    std::fill(dst, dst + A, 0);
    const int own = std::min<int>(static_cast<int>(width), vec.spec(i).action_width);
    std::copy(src + static_cast<std::int64_t>(i) * rows.size(1), src + static_cast<std::int64_t>(i) * rows.size(1) + own, dst);
  }
}

void register_checkpoint_loader() {
  static std::once_flag once;
  std::call_once(once, [] {
    agents::register_policy_loader(agents::PolicyLoader{
        "checkpoint", "an `opsrl train` checkpoint (.pt) or run directory",
        [](const std::filesystem::path& p) {
          if (std::filesystem::is_directory(p))
            return std::filesystem::is_regular_file(p / "checkpoints" / "latest.pt") ||
                   std::filesystem::is_regular_file(p / "latest.pt");
          return p.extension() == ".pt";
        },
        [](const std::filesystem::path& p, const agents::PolicyOptions& o) -> std::unique_ptr<agents::Policy> {
          const torch::Device device(o.device);
          LoadedPolicy loaded = load_policy(p, device);
          return std::make_unique<LearnedPolicy>(loaded.policy, p.filename().string(), device);
        }});
  });
}

}  // namespace opsrl::train
