// VecEnv: the batch loop. Envs are independent, so the loop body touches only env i's state
// and slot i of each buffer; the partitioning can never change a result.
#include <opsrl/envs/vec_env.hpp>

#include <algorithm>
#include <stdexcept>

#include <fmt/format.h>
#include <oneapi/tbb/blocked_range.h>
#include <oneapi/tbb/info.h>
#include <oneapi/tbb/parallel_for.h>

namespace opsrl::envs {

VecEnv::VecEnv(VecEnvOptions options) : options_(std::move(options)) {
  if (!options_.config) options_.config = make_config();
  if (options_.tasks.empty()) throw std::invalid_argument("VecEnv: tasks is empty; give at least one (task, count)");
  for (const TaskCount& tc : options_.tasks) {
    if (tc.count < 1)
      throw std::invalid_argument(fmt::format("VecEnv: count of task {} must be >= 1, got {}", tc.task, tc.count));
    for (int k = 0; k < tc.count; ++k) envs_.push_back(make_env(tc.task, options_.config));
  }
  const EnvSpec& first = envs_.front()->spec();
  int mask_width = 0;
  for (const auto& e : envs_) {
    const EnvSpec& s = e->spec();
    if (s.max_tokens != first.max_tokens || s.feature_width != first.feature_width)
      throw std::invalid_argument(fmt::format(
          "VecEnv: every env must share max_tokens and feature_width, got {} with max_tokens = {}, feature_width = "
          "{} and {} with max_tokens = {}, feature_width = {} (set EnvConfig.max_tokens)",
          first.task, first.max_tokens, first.feature_width, s.task, s.max_tokens, s.feature_width));
    action_width_ = std::max(action_width_, s.action_width);
    mask_width = std::max(mask_width, s.mask_width);
  }
  if (options_.num_threads < 0)
    throw std::invalid_argument(fmt::format("VecEnv: num_threads must be >= 0 (0: every core), got {}", options_.num_threads));
  threads_ = options_.num_threads > 0 ? options_.num_threads : tbb::info::default_concurrency();
  if (threads_ > 1) arena_ = std::make_unique<tbb::task_arena>(threads_);
  const int N = size();
  obs_ = ObservationBatch(N, first.max_tokens, first.feature_width, mask_width);
  final_obs_ = ObservationBatch(N, first.max_tokens, first.feature_width, mask_width);
  rewards_.assign(N, 0.0f);
  terminated_.assign(N, 0);
  truncated_.assign(N, 0);
  final_info_.resize(N);
  episode_.assign(N, 0);
  if (options_.record_actions) {
    log_.resize(N);
    for (int i = 0; i < N; ++i) {
      const EnvSpec& s = envs_[i]->spec();
      log_[i].reserve(static_cast<std::size_t>(s.max_episode_steps) * static_cast<std::size_t>(s.action_width));
    }
  }
}

VecEnv::~VecEnv() = default;

std::uint64_t VecEnv::episode_seed(int i, std::int64_t episode) const {
  return options_.seed + static_cast<std::uint64_t>(i) + static_cast<std::uint64_t>(episode) * static_cast<std::uint64_t>(size());
}

template <typename Body>
void VecEnv::for_each_env(Body&& body) {
  const int N = size();
  if (!arena_) {
    for (int i = 0; i < N; ++i) body(i);
    return;
  }
  // A few chunks per thread: envs cost about the same, but episode ends (resets) do not.
  const int grain = std::max(1, N / (threads_ * 4));
  arena_->execute([&] {
    tbb::parallel_for(tbb::blocked_range<int>(0, N, grain), [&](const tbb::blocked_range<int>& r) {
      for (int i = r.begin(); i != r.end(); ++i) body(i);
    });
  });
}

void VecEnv::reset() {
  for_each_env([&](int i) {
    episode_[i] = 0;
    if (!log_.empty()) log_[i].clear();
    envs_[i]->reset(episode_seed(i, 0), obs_.view(i));
    rewards_[i] = 0;
    terminated_[i] = truncated_[i] = 0;
  });
  started_ = true;
}

void VecEnv::reset_done() {
  if (!started_) throw std::logic_error("VecEnv::reset_done before reset()");
  for_each_env([&](int i) {
    if (!envs_[i]->episode_over()) return;
    if (!log_.empty()) log_[i].clear();
    envs_[i]->reset(episode_seed(i, ++episode_[i]), obs_.view(i));
  });
}

void VecEnv::step(std::span<const std::int32_t> actions) {
  if (!started_) throw std::logic_error("VecEnv::step before reset()");
  const auto A = static_cast<std::size_t>(action_width_);
  if (actions.size() != A * static_cast<std::size_t>(size()))
    throw std::invalid_argument(fmt::format("VecEnv::step: actions must hold num_envs x action_width = {} x {} = {} "
                                            "entries, got {}",
                                            size(), action_width_, A * static_cast<std::size_t>(size()), actions.size()));
  for_each_env([&](int i) {
    Env& env = *envs_[i];
    if (env.episode_over()) {
      // Without auto-reset an ended env waits for reset(); its slot keeps the last observation.
      rewards_[i] = 0;
      terminated_[i] = truncated_[i] = 0;
      return;
    }
    const auto row = actions.subspan(static_cast<std::size_t>(i) * A, static_cast<std::size_t>(env.spec().action_width));
    if (!log_.empty()) log_[i].insert(log_[i].end(), row.begin(), row.end());
    const StepResult r = env.step(row, obs_.view(i));
    rewards_[i] = static_cast<float>(r.reward);
    terminated_[i] = r.terminated;
    truncated_[i] = r.truncated;
    if (!r.done()) return;
    final_obs_.copy_slot(obs_, i, i);
    final_info_[i] = env.info();
    if (!options_.auto_reset) return;
    if (!log_.empty()) log_[i].clear();
    env.reset(episode_seed(i, ++episode_[i]), obs_.view(i));
  });
}

VecEnvState VecEnv::state() const {
  if (!options_.record_actions) throw std::logic_error("VecEnv::state needs VecEnvOptions::record_actions");
  if (!started_) throw std::logic_error("VecEnv::state before reset()");
  return {episode_, log_};
}

void VecEnv::restore(const VecEnvState& state) {
  if (!options_.record_actions) throw std::logic_error("VecEnv::restore needs VecEnvOptions::record_actions");
  const int N = size();
  if (static_cast<int>(state.episode.size()) != N || static_cast<int>(state.actions.size()) != N)
    throw std::invalid_argument(fmt::format("VecEnv::restore: the state holds {} envs, this VecEnv has {}",
                                            state.episode.size(), N));
  for (int i = 0; i < N; ++i) {
    const auto width = static_cast<std::size_t>(envs_[i]->spec().action_width);
    const std::size_t rows = state.actions[i].size() / width;
    if (state.actions[i].size() % width != 0 || rows >= static_cast<std::size_t>(envs_[i]->spec().max_episode_steps) ||
        state.episode[i] < 0)
      throw std::invalid_argument(fmt::format(
          "VecEnv::restore: env {} ({}) has {} logged action entries, not a whole number of rows of {} below its {} "
          "steps, or episode {} < 0",
          i, envs_[i]->spec().task, state.actions[i].size(), width, envs_[i]->spec().max_episode_steps, state.episode[i]));
  }
  for_each_env([&](int i) {
    Env& env = *envs_[i];
    episode_[i] = state.episode[i];
    log_[i] = state.actions[i];
    env.reset(episode_seed(i, episode_[i]), obs_.view(i));
    const auto width = static_cast<std::size_t>(env.spec().action_width);
    const std::span<const std::int32_t> rows(log_[i]);
    for (std::size_t k = 0; k < rows.size(); k += width) {
      if (env.step(rows.subspan(k, width), obs_.view(i)).done())
        throw std::runtime_error(fmt::format("VecEnv::restore: env {} ended its episode while replaying step {}; the "
                                             "environment is not deterministic or the config changed",
                                             i, k / width));
    }
    rewards_[i] = 0;
    terminated_[i] = truncated_[i] = 0;
  });
  started_ = true;
}

}  // namespace opsrl::envs
