// Recorded episodes into training tensors (offline_data.hpp): one pass over the files with
// datasets::Reader, plain C++ per step (canonical rows, labels, returns), one copy into tensors.
#include <opsrl/train/offline_data.hpp>

#include <algorithm>
#include <cmath>
#include <memory>
#include <numeric>
#include <stdexcept>

#include <ATen/CPUGeneratorImpl.h>
#include <fmt/format.h>

#include <opsrl/datasets/reader.hpp>
#include <opsrl/datasets/replay.hpp>
#include <opsrl/envs/actions.hpp>

namespace opsrl::train {

namespace {

// Canonical action row (heads whose mask row allows nothing read 0, as the policy writes them);
// returns whether every head's recorded value is allowed. Heads are in the spec's order, so a
// head's dependency is canonical before the head reads it.
bool canonicalize(const envs::EnvSpec& spec, const std::uint8_t* mask, std::int32_t* row) {
  bool ok = true;
  for (const envs::ActionHeadSpec& h : spec.action_heads) {
    const envs::ActionHeadSpec* dep = h.depends_on.empty() ? nullptr : &spec.head(h.depends_on);
    for (int e = 0; e < h.count; ++e) {
      int r = 0;
      if (dep) r = row[dep->column + (dep->count == h.count ? e : 0)];
      else if (h.mask_rows == h.count) r = e;
      std::int32_t& v = row[h.column + e];
      if (r < 0 || r >= h.mask_rows) {
        ok = false;
        v = 0;
        continue;
      }
      const std::uint8_t* m = mask + h.mask_offset + static_cast<std::ptrdiff_t>(r) * h.choices;
      if (std::none_of(m, m + h.choices, [](std::uint8_t x) { return x != 0; })) {
        v = 0;
        continue;
      }
      if (v < 0 || v >= h.choices || m[v] == 0) ok = false;
    }
  }
  return ok;
}

// The incident diagnosis labels of an observation at time t (seconds since the episode's first
// observation), as the PPO trainer labels its rollouts from the env's ground truth: the active
// fault (onset passed, not yet mitigated) with the earliest onset; when none is active but the
// episode has not claimed yet, the earliest started fault (labels are kept until the claim);
// within its first label_delay_s that fault is labelled as none yet.
std::pair<std::int64_t, std::int64_t> diagnosis_label(const std::vector<datasets::FaultRow>& faults, double t, int tokens,
                                                      bool claimed, const OfflineDataOptions& o) {
  const datasets::FaultRow* first = nullptr;
  const datasets::FaultRow* first_started = nullptr;
  for (const datasets::FaultRow& f : faults) {
    if (f.onset_s < 0 || f.onset_s > t) continue;
    const bool mitigated = f.mitigated_s >= 0 && f.mitigated_s <= t;
    if (!mitigated && (!first || f.onset_s < first->onset_s)) first = &f;
    if (!first_started || f.onset_s < first_started->onset_s) first_started = &f;
  }
  if (!first && !claimed) first = first_started;
  if (first && t < first->onset_s + o.label_delay_s) first = nullptr;
  if (!first) return {o.no_claim_label ? envs::incident::kNoClaim : -1, -1};
  const std::int64_t type = envs::incident::diag_type_of(static_cast<sim::FaultType>(first->type));
  const std::int64_t root = first->root_token >= 0 && first->root_token < tokens ? first->root_token : -1;
  return {type, root};
}

template <typename T>
torch::Tensor to_tensor(const std::vector<T>& v, std::vector<std::int64_t> shape, torch::ScalarType type) {
  return torch::from_blob(const_cast<T*>(v.data()), shape, torch::TensorOptions().dtype(torch::CppTypeToScalarType<T>::value))
      .to(type)
      .clone();
}

}  // namespace

bool OfflineData::has(envs::TaskId task) const {
  return std::any_of(sources.begin(), sources.end(), [&](const OfflineSource& s) {
    return s.task == (task == envs::TaskId::kIncident ? "incident" : "autoscale");
  });
}

std::vector<std::pair<std::string, envs::EnvConfigPtr>> OfflineData::eval_tasks() const {
  std::vector<std::pair<std::string, envs::EnvConfigPtr>> out;
  for (const char* task : {"incident", "autoscale"}) {
    envs::EnvConfigPtr config;
    bool present = false;
    for (const OfflineSource& s : sources) {
      if (s.task != task) continue;
      present = true;
      if (s.simulated && s.env_config) {
        config = s.env_config;
        break;
      }
    }
    if (present) out.emplace_back(task, config);
  }
  return out;
}

void OfflineData::describe_envs(EnvSection& env) const {
  const OfflineSource& first = sources.front();
  env.scenario = first.scenario;
  env.history = first.history;
  env.incident_envs = has(envs::TaskId::kIncident) ? EnvSection{}.incident_envs : 0;
  env.autoscale_envs = has(envs::TaskId::kAutoscale) ? EnvSection{}.autoscale_envs : 0;
  for (const OfflineSource& s : sources)
    if (s.task == "incident" && (s.difficulty == "easy" || s.difficulty == "medium" || s.difficulty == "hard")) {
      env.incident_difficulty = s.difficulty;
      break;
    }
}

OfflineDataOptions data_options(const OfflineConfig& c) {
  OfflineDataOptions d;
  d.files = c.dataset_files();
  d.validation_fraction = c.data.validation_fraction;
  d.seed = static_cast<std::uint64_t>(c.run.seed);
  d.max_episodes = c.data.max_episodes;
  d.gamma = c.offline.gamma;
  d.no_claim_label = c.aux.no_claim_label;
  d.label_delay_s = c.aux.label_delay_s;
  return d;
}

OfflineData load_offline_data(const OfflineDataOptions& o) {
  if (o.files.empty()) throw std::runtime_error("no dataset given (--dataset FILE.h5)");
  OfflineData d;
  // Pass 1: headers, so that every buffer can be sized to the widest file.
  std::vector<std::unique_ptr<datasets::Reader>> readers;
  for (const auto& file : o.files) {
    readers.push_back(std::make_unique<datasets::Reader>(file));
    const envs::EnvSpec& spec = readers.back()->spec();
    if (readers.size() == 1) {
      d.tokens = spec.max_tokens;
      d.features = spec.feature_width;
    } else if (spec.max_tokens != d.tokens || spec.feature_width != d.features) {
      throw std::runtime_error(fmt::format(
          "{}: observations of {} tokens x {} features, but {} has {} x {}: datasets trained together must come from the "
          "same scenario and history",
          file.string(), spec.max_tokens, spec.feature_width, o.files.front().string(), d.tokens, d.features));
    }
    d.mask_width = std::max(d.mask_width, spec.mask_width);
    d.action_width = std::max(d.action_width, spec.action_width);
  }
  const int T = d.tokens, F = d.features, M = d.mask_width, A = d.action_width;

  std::vector<float> features;
  std::vector<std::int32_t> token_type, links, obs_task;
  std::vector<std::uint8_t> valid, mask;
  std::vector<std::int64_t> obs_row, next_row, aux_type, aux_target, episode_of, task_of;
  std::vector<std::int32_t> actions, cloned;
  std::vector<std::uint8_t> allowed, terminated;
  std::vector<double> rewards, returns, forward_g;
  std::int64_t rows = 0;
  int episode_index = 0;
  for (std::size_t f = 0; f < readers.size(); ++f) {
    const datasets::Reader& r = *readers[f];
    const envs::EnvSpec& spec = r.spec();
    OfflineSource src;
    src.file = o.files[f];
    src.task = spec.task;
    src.policy = r.header().policy;
    src.scenario = r.header().scenario;
    src.difficulty = r.header().difficulty;
    src.history = spec.history;
    src.simulated = r.simulated();
    if (src.simulated) src.env_config = datasets::recorded_config(r);
    const int episodes = o.max_episodes > 0 ? std::min(o.max_episodes, r.num_episodes()) : r.num_episodes();
    const int Mf = spec.mask_width, Af = spec.action_width;
    datasets::Episode ep(r.shape());
    double return_sum = 0;
    for (int k = 0; k < episodes; ++k, ++episode_index) {
      r.read(k, ep);
      const int steps = ep.steps();
      return_sum += ep.meta.return_;
      src.steps += steps;
      // Observation rows s_0 .. s_T.
      features.insert(features.end(), ep.features.begin(), ep.features.end());
      token_type.insert(token_type.end(), ep.token_type.begin(), ep.token_type.end());
      valid.insert(valid.end(), ep.valid.begin(), ep.valid.end());
      links.insert(links.end(), ep.links.begin(), ep.links.end());
      for (int t = 0; t <= steps; ++t) {
        obs_task.push_back(ep.task_id[static_cast<std::size_t>(t)]);
        const auto* m = ep.action_mask.data() + static_cast<std::ptrdiff_t>(t) * Mf;
        mask.insert(mask.end(), m, m + Mf);
        mask.insert(mask.end(), static_cast<std::size_t>(M - Mf), 0);
      }
      // Transitions.
      double g = 0;
      bool claimed = false;  // a claim was made before the current step
      const std::size_t first = rewards.size();
      for (int t = 0; t < steps; ++t) {
        obs_row.push_back(rows + t);
        next_row.push_back(rows + t + 1);
        const std::uint8_t* step_mask = ep.action_mask.data() + static_cast<std::ptrdiff_t>(t) * Mf;
        const auto row_of = [&](const std::vector<std::int32_t>& source) {
          std::vector<std::int32_t> row(source.begin() + static_cast<std::ptrdiff_t>(t) * Af,
                                        source.begin() + static_cast<std::ptrdiff_t>(t + 1) * Af);
          const bool ok = canonicalize(spec, step_mask, row.data());
          row.resize(static_cast<std::size_t>(A), 0);
          return std::pair{row, ok};
        };
        const auto [executed, executed_ok] = row_of(ep.actions);
        const auto [own, ok] = ep.intended_actions.empty() ? std::pair{executed, executed_ok} : row_of(ep.intended_actions);
        if (own != executed) ++d.intended;
        if (!ok) ++d.disallowed;
        allowed.push_back(ok ? 1 : 0);
        actions.insert(actions.end(), executed.begin(), executed.end());
        cloned.insert(cloned.end(), own.begin(), own.end());
        const double rew = ep.rewards[static_cast<std::size_t>(t)];
        rewards.push_back(rew);
        g = o.gamma * g + rew;
        forward_g.push_back(g);
        terminated.push_back(ep.terminations[static_cast<std::size_t>(t)]);
        if (spec.task_id == envs::TaskId::kIncident) {
          const auto [type, root] =
              diagnosis_label(ep.faults, ep.time_s[static_cast<std::size_t>(t)], T, claimed, o);
          aux_type.push_back(type);
          aux_target.push_back(root);
          // The executed row's claim (an allowed, non-zero diagnosis type) closes the claim.
          const std::int32_t diag = ep.actions[static_cast<std::size_t>(t) * Af + envs::incident::kDiagType];
          if (executed_ok && diag != envs::incident::kNoClaim) claimed = true;
        } else {
          aux_type.push_back(-1);
          aux_target.push_back(-1);
        }
        episode_of.push_back(episode_index);
        task_of.push_back(static_cast<std::int64_t>(spec.task_id));
      }
      returns.resize(rewards.size());
      double rtg = 0;
      for (std::size_t t = rewards.size(); t-- > first;) {
        rtg = rewards[t] + o.gamma * rtg;
        returns[t] = rtg;
      }
      rows += steps + 1;
    }
    src.episodes = episodes;
    src.mean_return = episodes > 0 ? return_sum / episodes : 0;
    d.sources.push_back(std::move(src));
  }
  const std::int64_t S = static_cast<std::int64_t>(rewards.size());
  if (S == 0) throw std::runtime_error("the datasets hold no transitions to train on");

  d.obs.features = to_tensor(features, {rows, T, F}, torch::kFloat32);
  features = {};
  d.obs.token_type = to_tensor(token_type, {rows, T}, torch::kInt64);
  d.obs.valid = to_tensor(valid, {rows, T}, torch::kBool);
  d.obs.links = to_tensor(links, {rows, T, 2}, torch::kInt64);
  d.obs.task_id = to_tensor(obs_task, {rows}, torch::kInt64);
  d.obs.action_mask = to_tensor(mask, {rows, M}, torch::kBool);
  d.obs.action_width = A;
  d.obs_row = to_tensor(obs_row, {S}, torch::kInt64);
  d.next_row = to_tensor(next_row, {S}, torch::kInt64);
  d.actions = to_tensor(actions, {S, A}, torch::kInt64);
  d.cloned = d.intended > 0 ? to_tensor(cloned, {S, A}, torch::kInt64) : d.actions;
  d.allowed = to_tensor(allowed, {S}, torch::kBool);
  d.rewards = to_tensor(rewards, {S}, torch::kFloat32);
  d.returns = to_tensor(returns, {S}, torch::kFloat32);
  d.terminated = to_tensor(terminated, {S}, torch::kBool);
  d.aux_type = to_tensor(aux_type, {S}, torch::kInt64);
  d.aux_target = to_tensor(aux_target, {S}, torch::kInt64);
  d.episode = to_tensor(episode_of, {S}, torch::kInt64);
  d.task_id = to_tensor(task_of, {S}, torch::kInt64);

  // The validation split: whole episodes, chosen by a seeded permutation.
  const int E = episode_index;
  int held = static_cast<int>(std::lround(o.validation_fraction * E));
  if (o.validation_fraction > 0 && E >= 2) held = std::clamp(held, 1, E - 1);
  else held = 0;
  torch::Generator gen = at::detail::createCPUGenerator(o.seed * 2 + 3);
  const torch::Tensor perm = torch::randperm(E, gen, torch::kInt64);
  torch::Tensor is_val_episode = torch::zeros({E}, torch::kBool);
  if (held > 0) is_val_episode.index_fill_(0, perm.narrow(0, 0, held), true);
  const torch::Tensor val_step = is_val_episode.index_select(0, d.episode);
  d.validation = val_step.nonzero().flatten();
  d.train = val_step.logical_not().nonzero().flatten();
  // Observation rows of the training episodes (for the normaliser): s_t of every training
  // transition and the final s_T of each training episode.
  d.train_rows = std::get<0>(torch::_unique(torch::cat({d.obs_row.index_select(0, d.train), d.next_row.index_select(0, d.train)})));

  // PPO's reward scale per task: 1 / std of the forward discounted return over the training
  // transitions of that task.
  const torch::Tensor g = to_tensor(forward_g, {S}, torch::kFloat64);
  d.reward_scale = torch::ones({S}, torch::kFloat32);
  for (std::int64_t task = 0; task < envs::kNumTasks; ++task) {
    const torch::Tensor rows_of_task = (d.task_id == task).logical_and(val_step.logical_not());
    if (rows_of_task.sum().item<std::int64_t>() < 2) continue;
    const double std = g.masked_select(rows_of_task).std(/*unbiased=*/false).item<double>();
    const double scale = std > 1e-6 ? 1.0 / std : 1.0;
    d.reward_scale.masked_fill_(d.task_id == task, static_cast<float>(scale));
  }
  return d;
}

}  // namespace opsrl::train
