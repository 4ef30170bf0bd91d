#pragma once
// A policy that decides for each env on its own, from that env's telemetry, mask and its own
// per-env state (every baseline). act() zeroes each row and calls decide() for every env, in
// parallel over envs when the VecEnv has several threads (tbb::parallel_for in the caller's task
// arena); envs share nothing mutable, so the rows never depend on the thread count.
#include <algorithm>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <vector>

#include <fmt/format.h>
#include <oneapi/tbb/blocked_range.h>
#include <oneapi/tbb/parallel_for.h>

#include <opsrl/agents/policy.hpp>

namespace opsrl::agents {

template <typename State>
class PerEnvPolicy : public Policy {
 public:
  void reset(const envs::VecEnv& vec) override {
    check_supported(vec);
    states_.assign(static_cast<std::size_t>(vec.size()), State{});
    for (int i = 0; i < vec.size(); ++i) begin_episode(vec, i);
  }

  void begin_episode(const envs::VecEnv& vec, int env) override {
    State& s = state(env);
    s = State{};
    start(vec, env, s);
  }

  void act(const envs::VecEnv& vec, std::span<std::int32_t> actions) override { decide_all(vec, actions, true); }
  void propose(const envs::VecEnv& vec, std::span<std::int32_t> actions) override { decide_all(vec, actions, false); }
  void observe(const envs::VecEnv& vec, int env, std::span<const std::int32_t> row) override {
    taken(vec, env, state(env), row);
  }

 protected:
  // Contract: set up env `env`'s state for the episode it just started (state is State{}).
  virtual void start(const envs::VecEnv& vec, int env, State& state) {
    (void)vec, (void)env, (void)state;
  }
  // Contract: fill `row` (vec.action_width() entries, all 0 on entry: noop, no claim, keep) for
  // env `env`, with values its mask allows; may update `state`. Runs concurrently for distinct
  // envs: touch nothing but `state` and `row`.
  virtual void decide(const envs::VecEnv& vec, int env, State& state, std::span<std::int32_t> row) = 0;

  // Contract: `row` is what env `env` stepped with after decide() (the policy's own row, or
  // another policy's when this one teaches): fold it into `state`. Runs concurrently for distinct
  // envs. The default keeps nothing: such a policy's decide() updates its state itself.
  virtual void taken(const envs::VecEnv& vec, int env, State& state, std::span<const std::int32_t> row) {
    (void)vec, (void)env, (void)state, (void)row;
  }

  // Env `env`'s action-mask row (vec.mask_width() bytes; the env's own layout is a prefix).
  static const std::uint8_t* mask(const envs::VecEnv& vec, int env) {
    return vec.observations().action_mask().data() + static_cast<std::size_t>(env) * static_cast<std::size_t>(vec.mask_width());
  }

 private:
  State& state(int env) {
    if (env < 0 || env >= static_cast<int>(states_.size()))
      throw std::logic_error(fmt::format("policy {}: env {} with {} envs; call reset(vec) first", name(), env, states_.size()));
    return states_[static_cast<std::size_t>(env)];
  }

  // decide() for every env, then (own_rows) taken() of the row it wrote.
  void decide_all(const envs::VecEnv& vec, std::span<std::int32_t> actions, bool own_rows) {
    const auto A = static_cast<std::size_t>(vec.action_width());
    const auto N = static_cast<std::size_t>(vec.size());
    if (actions.size() != N * A)
      throw std::invalid_argument(fmt::format("policy {}: actions must hold num_envs x action_width = {} x {} = {} entries, got {}",
                                              name(), N, A, N * A, actions.size()));
    if (states_.size() != N)
      throw std::logic_error(fmt::format("policy {}: act() on {} envs after reset() on {}; call reset(vec) first", name(),
                                         N, states_.size()));
    auto one = [&](int i) {
      const std::span<std::int32_t> row = actions.subspan(static_cast<std::size_t>(i) * A, A);
      std::fill(row.begin(), row.end(), 0);
      State& s = states_[static_cast<std::size_t>(i)];
      decide(vec, i, s, row);
      if (own_rows) taken(vec, i, s, row);
    };
    if (vec.num_threads() <= 1 || N < 2) {
      for (int i = 0; i < vec.size(); ++i) one(i);
      return;
    }
    const int grain = std::max(1, vec.size() / (vec.num_threads() * 4));
    tbb::parallel_for(tbb::blocked_range<int>(0, vec.size(), grain), [&](const tbb::blocked_range<int>& r) {
      for (int i = r.begin(); i != r.end(); ++i) one(i);
    });
  }

  std::vector<State> states_;
};

}  // namespace opsrl::agents
