#include <opsrl/datasets/recorder.hpp>

#include <stdexcept>

#include <fmt/format.h>

#include <opsrl/datasets/format.hpp>

namespace opsrl::datasets {

namespace {

template <typename T>
void append(std::vector<T>& v, const T* first, std::size_t n) {
  v.insert(v.end(), first, first + n);
}

void fill_meta(Episode& ep, const envs::EpisodeStats& s) {
  EpisodeMeta& m = ep.meta;
  m.return_ = s.return_;
  m.control = s.control;
  m.resolved = s.resolved;
  m.first_onset_s = s.first_onset_s;
  m.time_to_recover_s = s.time_to_recover_s;
  m.time_to_diagnose_s = s.time_to_diagnose_s;
  m.slo_violation_minutes = s.slo_violation_minutes;
  m.cost_usd = s.cost_usd();
  m.replica_hours = s.replica_hours;
  m.claimed = s.claimed;
  m.claimed_type = s.claimed ? static_cast<int>(s.claimed_type) : -1;
  m.claimed_token = s.claimed ? s.claimed_token : -1;
  m.root_correct = s.root_correct;
  m.type_correct = s.type_correct;
  m.actions = s.actions;
  m.wrong_actions = s.wrong_actions;
  m.invalid_actions = s.invalid_actions;
  m.escalations = s.escalations;
  m.elapsed_s = s.elapsed_s;
  ep.faults.clear();
  for (int k = 0; k < s.num_faults; ++k) {
    const envs::FaultTruth& f = s.faults[static_cast<std::size_t>(k)];
    ep.faults.push_back({static_cast<int>(f.type), f.root_token, f.severity, f.onset_s, f.mitigated_s, {}, {}});
  }
}

}  // namespace

void append_observation(Episode& ep, const envs::ObservationBatch& b, int env, double time_s) {
  const auto i = static_cast<std::size_t>(env);
  const auto T = static_cast<std::size_t>(b.max_tokens()), F = static_cast<std::size_t>(b.feature_width());
  const auto M = static_cast<std::size_t>(b.mask_width());
  append(ep.features, b.features().data() + i * T * F, T * F);
  append(ep.token_type, b.token_type().data() + i * T, T);
  append(ep.valid, b.valid().data() + i * T, T);
  append(ep.links, b.links().data() + i * T * 2, T * 2);
  append(ep.task_id, b.task_id().data() + i, 1);
  append(ep.action_mask, b.action_mask().data() + i * M, static_cast<std::size_t>(ep.shape.mask_width));
  ep.time_s.push_back(time_s);
}

EpisodeRecorder::EpisodeRecorder(const envs::VecEnv& vec, RecorderOptions options) : options_(std::move(options)) {
  const envs::EnvSpec& spec = vec.spec(0);
  for (int i = 1; i < vec.size(); ++i)
    if (vec.spec(i).task != spec.task)
      throw std::invalid_argument(fmt::format("EpisodeRecorder: a dataset holds one task; env 0 runs {}, env {} runs {}",
                                              spec.task, i, vec.spec(i).task));
  if (envs::RewardComponents{}.as_array().size() != spec.reward_components.size())
    throw std::logic_error(fmt::format("EpisodeRecorder: RewardComponents has {} terms but the spec names {}",
                                       envs::RewardComponents{}.as_array().size(), spec.reward_components.size()));
  shape_ = EpisodeShape::of(spec);
  max_steps_ = spec.max_episode_steps;
  episodes_.assign(static_cast<std::size_t>(vec.size()), Episode(shape_));
  active_.assign(static_cast<std::size_t>(vec.size()), 0);
}

void EpisodeRecorder::start(const envs::VecEnv& vec, int env) {
  Episode& ep = episodes_[static_cast<std::size_t>(env)];
  ep.shape = shape_;
  ep.clear(max_steps_);
  ep.meta.seed = vec.env(env).episode_seed();
  ep.meta.task = vec.spec(env).task;
  ep.meta.policy = options_.policy;
  ep.meta.scenario_hash = options_.scenario_hash;
  append_observation(ep, vec.observations(), env, 0.0);
  active_[static_cast<std::size_t>(env)] = 1;
}

void EpisodeRecorder::begin(const envs::VecEnv& vec) {
  for (int i = 0; i < vec.size(); ++i) start(vec, i);
}

void EpisodeRecorder::step(const envs::VecEnv& vec, std::span<const std::int32_t> actions, const DoneFn& done,
                           std::span<const std::int32_t> intended) {
  const auto A = static_cast<std::size_t>(vec.action_width());
  const auto own = static_cast<std::size_t>(shape_.action_width);
  for (int i = 0; i < vec.size(); ++i) {
    const auto u = static_cast<std::size_t>(i);
    if (!active_[u]) continue;
    Episode& ep = episodes_[u];
    const bool term = vec.terminated()[u] != 0, trunc = vec.truncated()[u] != 0;
    const bool over = term || trunc;
    // An ended episode's step is described by final_info; a running one's by info.
    const envs::Info& info = over ? vec.final_info(i) : vec.info(i);
    append(ep.actions, actions.data() + u * A, own);
    if (!intended.empty()) append(ep.intended_actions, intended.data() + u * A, own);
    ep.rewards.push_back(info.reward.total());
    ep.terminations.push_back(term);
    ep.truncations.push_back(trunc);
    for (double c : info.reward.as_array()) ep.reward_components.push_back(c);
    ep.action_outcome.push_back(info.action.applied);
    ep.action_outcome.push_back(info.action.invalid);
    ep.action_outcome.push_back(info.action.refused);
    append_observation(ep, over ? vec.final_observations() : vec.observations(), i, info.episode.elapsed_s);
    if (!over) continue;
    ep.meta.terminated = term;
    ep.meta.truncated = trunc;
    fill_meta(ep, info.episode);
    active_[u] = 0;
    done(i, ep);
    if (options_.auto_reset) start(vec, i);
  }
}

}  // namespace opsrl::datasets
