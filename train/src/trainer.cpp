// The PPO loop. Per step of a rollout: a handful of LibTorch ops for the whole batch (store,
// act, copy out), never one per env or sample; per minibatch: one evaluate, one backward.
#include <opsrl/train/trainer.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <limits>
#include <numeric>
#include <stdexcept>
#include <thread>

#include <ATen/CPUGeneratorImpl.h>
#include <fmt/format.h>

#include <opsrl/envs/actions.hpp>
#include <opsrl/sim/scenario.hpp>
#include <opsrl/sim/time.hpp>
#include <opsrl/train/ppo.hpp>

namespace opsrl::train {

namespace {

using Clock = std::chrono::steady_clock;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr char kFormat[] = "opsrl-train-checkpoint";
constexpr std::int64_t kVersion = 1;
constexpr std::size_t kRecentEpisodes = 100;

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// Generators on the policy's device, seeded from run.seed: one for sampling actions, one for
// shuffling minibatches (CPU).
torch::Generator make_generator(torch::Device device, std::uint64_t seed) {
  torch::Generator g = device.is_cpu() ? at::detail::createCPUGenerator(seed)
                                       : at::globalContext().defaultGenerator(device).clone();
  std::lock_guard<std::mutex> lock(g.mutex());
  g.set_current_seed(seed);
  return g;
}

torch::Tensor generator_state(torch::Generator g) {
  std::lock_guard<std::mutex> lock(g.mutex());
  return g.get_state();
}

void set_generator_state(torch::Generator& g, const torch::Tensor& state) {
  std::lock_guard<std::mutex> lock(g.mutex());
  g.set_state(state.to(torch::kCPU));
}

std::string read_string(torch::serialize::InputArchive& ar, const std::string& key, const std::string& path) {
  c10::IValue v;
  if (!ar.try_read(key, v) || !v.isString())
    throw std::runtime_error(fmt::format("{}: not an opsrl training checkpoint (no \"{}\")", path, key));
  return v.toStringRef();
}

std::int64_t read_int(torch::serialize::InputArchive& ar, const std::string& key, const std::string& path) {
  c10::IValue v;
  if (!ar.try_read(key, v) || !v.isInt())
    throw std::runtime_error(fmt::format("{}: not an opsrl training checkpoint (no \"{}\")", path, key));
  return v.toInt();
}

void check_format(torch::serialize::InputArchive& ar, const std::string& path) {
  const std::string format = read_string(ar, "format", path);
  const std::int64_t version = read_int(ar, "version", path);
  if (format != kFormat || version != kVersion)
    throw std::runtime_error(fmt::format("{}: checkpoint format {} version {}, expected {} version {}", path, format,
                                         version, kFormat, kVersion));
}

// Keys that must agree between a checkpoint and the config that resumes it.
std::vector<std::string> structural_differences(const TrainConfig& a, const TrainConfig& b) {
  TrainConfig ca = a, cb = b;
  auto ka = config_keys(ca), kb = config_keys(cb);
  std::vector<std::string> out;
  for (std::size_t k = 0; k < ka.size(); ++k) {
    const std::string& name = ka[k].name;
    const bool structural = (name.rfind("env.", 0) == 0 && name != "env.threads") || name.rfind("policy.", 0) == 0 ||
                            name == "run.seed" || name == "ppo.num_steps";
    if (!structural) continue;
    const std::string va = std::visit([](auto* p) { return fmt::format("{}", *p); }, ka[k].target);
    const std::string vb = std::visit([](auto* p) { return fmt::format("{}", *p); }, kb[k].target);
    if (va != vb) out.push_back(fmt::format("{} ({} vs {})", name, va, vb));
  }
  return out;
}

}  // namespace

torch::serialize::InputArchive open_checkpoint(const std::filesystem::path& path, torch::Device device) {
  if (!std::filesystem::is_regular_file(path))
    throw std::runtime_error(fmt::format("{}: no such checkpoint file", path.string()));
  torch::serialize::InputArchive ar;
  ar.load_from(path.string(), device);
  check_format(ar, path.string());
  return ar;
}

void set_compute_threads(int threads) {
#ifdef OPSRL_TRAIN_HAVE_TRANSFORMER
  agents::set_compute_threads(threads);  // also OpenBLAS's own pool
#else
  torch::set_num_threads(threads);
#endif
}

envs::EnvConfigPtr make_env_config(const TrainConfig& config) {
  envs::EnvConfig e;
  e.scenario = sim::load_scenario(config.env.scenario);
  e.history = config.env.history;
  e.max_tokens = config.env.max_tokens;
  e.telemetry_noise = config.env.telemetry_noise;
  e.incident = envs::IncidentOptions::difficulty(config.env.incident_difficulty);
  e.autoscale.episode_length = sim::parse_duration(config.env.autoscale_episode_length);
  if (!config.env.autoscale_diurnal_period.empty())
    e.autoscale.diurnal_period = sim::parse_duration(config.env.autoscale_diurnal_period);
  e.autoscale.surges_per_hour = config.env.autoscale_surges_per_hour;
  e.autoscale.slo_per_minute = config.env.autoscale_slo_per_minute;
  return envs::make_config(std::move(e));
}

std::vector<envs::TaskCount> make_task_counts(const TrainConfig& config) {
  std::vector<envs::TaskCount> tasks;
  if (config.env.incident_envs > 0) tasks.push_back({"incident", config.env.incident_envs});
  if (config.env.autoscale_envs > 0) tasks.push_back({"autoscale", config.env.autoscale_envs});
  return tasks;
}

Trainer::Trainer(TrainConfig config, TrainerOptions options)
    : config_(std::move(config)), options_(std::move(options)), device_(torch::kCPU) {
  config_.validate();
  device_ = torch::Device(config_.run.device);
  if (device_.is_cuda() && !torch::cuda::is_available())
    throw std::runtime_error(fmt::format("run.device = \"{}\", but this LibTorch has no CUDA device", config_.run.device));
  set_compute_threads(config_.run.threads > 0 ? config_.run.threads
                                              : static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));

  envs::VecEnvOptions vo;
  vo.tasks = options_.tasks.empty() ? make_task_counts(config_) : options_.tasks;
  vo.config = options_.env_config ? options_.env_config : make_env_config(config_);
  vo.seed = static_cast<std::uint64_t>(config_.run.seed);
  vo.num_threads = config_.env.threads;
  for (const envs::TaskCount& tc : vo.tasks) {
    const auto it = std::find(task_names_.begin(), task_names_.end(), tc.task);
    const int k = static_cast<int>(it - task_names_.begin());
    if (it == task_names_.end()) task_names_.push_back(tc.task);
    env_task_.insert(env_task_.end(), static_cast<std::size_t>(tc.count), k);
  }
  vo.record_actions = true;  // --resume restores the envs from their episodes' action rows
  vec_ = std::make_unique<envs::VecEnv>(vo);
  const int N = vec_->size(), T = vec_->max_tokens(), F = vec_->feature_width(), M = vec_->mask_width();
  if (N != config_.num_envs())
    throw std::invalid_argument(fmt::format("Trainer: the tasks hold {} envs, but env.incident_envs + env.autoscale_envs = "
                                            "{} sizes the batch",
                                            N, config_.num_envs()));

  // Weight initialisation draws from LibTorch's global generator: seed it for reproducible runs.
  torch::manual_seed(static_cast<std::uint64_t>(config_.run.seed));
  if (options_.make_policy) {
    policy_ = options_.make_policy(F, T);
  } else {
    policy_ = make_transformer_actor_critic(agents::TransformerPolicyOptions()
                                                .feature_width(F)
                                                .max_tokens(T)
                                                .d_model(config_.policy.d_model)
                                                .layers(config_.policy.layers)
                                                .heads(config_.policy.heads)
                                                .ff(config_.policy.ff)
                                                .pointer_dim(config_.policy.pointer_dim)
                                                .value_hidden(config_.policy.value_hidden));
  }
  policy_->module().to(device_);
  optimizer_ = std::make_unique<torch::optim::Adam>(
      policy_->module().parameters(),
      torch::optim::AdamOptions(config_.ppo.learning_rate).eps(config_.ppo.adam_eps));

  storage_ = RolloutStorage(config_.ppo.num_steps, N, T, F, M, vec_->action_width(), device_);
  final_scratch_ = make_obs_tensors(N, T, F, M);
  final_scratch_.action_width = vec_->action_width();
  act_rows_ = torch::zeros({N, vec_->action_width()}, torch::kInt32);
  const auto seed = static_cast<std::uint64_t>(config_.run.seed);
  sample_rng_ = make_generator(device_, seed * 2 + 1);
  shuffle_rng_ = make_generator(torch::kCPU, seed * 2 + 2);
  recent_returns_.resize(task_names_.size());
  reward_scaler_ = RewardScaler(env_task_, static_cast<int>(task_names_.size()), config_.ppo.gamma, config_.ppo.clip_reward);

  vec_->reset();
  teacher_of_.assign(static_cast<std::size_t>(N), -1);
  if (config_.teacher.on()) {
    for (const auto& [task, name] : {std::pair{"incident", config_.teacher.incident}, {"autoscale", config_.teacher.autoscale}}) {
      if (name.empty()) continue;
      Teacher teacher;
      try {
        teacher.policy = agents::make_policy(name);
      } catch (const std::invalid_argument& e) {
        throw ConfigError(fmt::format("teacher.{}: {}", task, e.what()));
      }
      teacher.policy->reset(*vec_);  // throws if it cannot act on a task of the VecEnv
      teacher.rows.assign(static_cast<std::size_t>(N) * static_cast<std::size_t>(vec_->action_width()), 0);
      for (int i = 0; i < N; ++i)
        if (vec_->spec(i).task == task) teacher_of_[static_cast<std::size_t>(i)] = static_cast<int>(teachers_.size());
      teachers_.push_back(std::move(teacher));
    }
  }
  {
    torch::NoGradGuard no_grad;
    copy_observations(vec_->observations(), final_scratch_);
    policy_->update_normalizer(obs_to(final_scratch_, device_));
  }
  mark_resume_point();
}

Trainer::~Trainer() = default;

void Trainer::set_total_steps(std::int64_t steps) {
  if (steps <= 0) throw std::invalid_argument(fmt::format("total steps must be > 0, got {}", steps));
  config_.run.total_steps = steps;
}

void Trainer::mark_resume_point() {
  resume_.envs = vec_->state();
  resume_.sample_rng = generator_state(sample_rng_).clone();
  resume_.shuffle_rng = generator_state(shuffle_rng_).clone();
  resume_.rewards = reward_scaler_;
  resume_.update = update_;
  resume_.global_step = global_step_;
  resume_.elapsed = elapsed_;
}

// Diagnosis labels of step t from the ground truth the envs keep (never shown to the policy),
// at every incident step, for the policy's unmasked diagnosis belief (which remediation reads):
// the active fault with the earliest onset (type, root token); if none is active but one has
// started and the episode's claim is still to be made, that one (a quick fix must not teach the
// claim head that there was nothing to claim); otherwise (before any onset, once mitigated and
// claimed, control episodes) "no claim" (aux.no_claim_label) or nothing.
void Trainer::write_labels(int t) {
  const int N = vec_->size(), T = vec_->max_tokens();
  std::int64_t* type = storage_.aux_type[t].data_ptr<std::int64_t>();
  std::int64_t* target = storage_.aux_target[t].data_ptr<std::int64_t>();
  for (int i = 0; i < N; ++i) {
    type[i] = target[i] = -1;
    if (vec_->spec(i).task != "incident") continue;
    const envs::EpisodeStats& ep = vec_->info(i).episode;
    const envs::FaultTruth* first = nullptr;
    const envs::FaultTruth* first_started = nullptr;
    for (int k = 0; k < ep.num_faults && k < envs::kMaxFaults; ++k) {
      const envs::FaultTruth& f = ep.faults[k];
      if (f.onset_s < 0 || f.onset_s > ep.elapsed_s) continue;
      if (f.active && (!first || f.onset_s < first->onset_s)) first = &f;
      if (!first_started || f.onset_s < first_started->onset_s) first_started = &f;
    }
    if (!first && !ep.claimed) first = first_started;
    // Within its first aux.label_delay_s a fault is labelled as no fault yet: the claim waits
    // for evidence (the belief that remediation reads follows the same labels).
    if (first && ep.elapsed_s < first->onset_s + config_.aux.label_delay_s) first = nullptr;
    if (!first) {
      if (config_.aux.no_claim_label) type[i] = envs::incident::kNoClaim;
      continue;
    }
    type[i] = envs::incident::diag_type_of(first->type);
    if (first->root_token >= 0 && first->root_token < T) target[i] = first->root_token;
  }
}

bool Trainer::collect() {
  torch::NoGradGuard no_grad;
  const auto t0 = Clock::now();
  const int S = config_.ppo.num_steps, N = vec_->size(), A = vec_->action_width();
  const std::size_t K = task_names_.size();
  ep_return_sum_.assign(K, 0.0);
  ep_length_sum_.assign(K, 0.0);
  ep_count_.assign(K, 0);
  storage_.final_values.zero_();
  storage_.aux_type.fill_(-1);
  storage_.aux_target.fill_(-1);
  const bool labels = config_.aux.diagnosis_weight > 0;
  collected_ = false;
  for (int t = 0; t < S; ++t) {
    if (options_.stop && options_.stop->load()) return false;
    storage_.store_observations(t, vec_->observations());
    if (labels) write_labels(t);
    if (!teachers_.empty()) {
      for (Teacher& teacher : teachers_) teacher.policy->propose(*vec_, teacher.rows);
      std::int32_t* dst = storage_.teacher_actions[t].data_ptr<std::int32_t>();
      for (int i = 0; i < N; ++i)
        if (const int k = teacher_of_[static_cast<std::size_t>(i)]; k >= 0)
          std::copy_n(teachers_[static_cast<std::size_t>(k)].rows.data() + static_cast<std::size_t>(i * A), A, dst + i * A);
    }
    const ActOutput out = policy_->act(storage_.step_obs(t), false, sample_rng_);
    // The policy's rows may be wider than the envs' (the widest task it knows); envs read a prefix.
    const std::int64_t width = std::min<std::int64_t>(out.actions.size(1), A);
    storage_.actions[t].zero_();
    storage_.actions[t].narrow(1, 0, width).copy_(out.actions.narrow(1, 0, width));
    storage_.log_probs[t].copy_(out.log_prob.reshape({N}));
    storage_.values[t].copy_(out.value.reshape({N}));
    act_rows_.copy_(storage_.actions[t]);
    const std::span<const std::int32_t> taken{act_rows_.data_ptr<std::int32_t>(), static_cast<std::size_t>(N) * static_cast<std::size_t>(A)};
    for (Teacher& teacher : teachers_)
      for (int i = 0; i < N; ++i)
        teacher.policy->observe(*vec_, i, taken.subspan(static_cast<std::size_t>(i * A), static_cast<std::size_t>(A)));
    vec_->step({act_rows_.data_ptr<std::int32_t>(), taken.size()});

    float* rewards = storage_.rewards[t].data_ptr<float>();
    std::memcpy(rewards, vec_->rewards().data(), vec_->rewards().size_bytes());
    if (config_.ppo.norm_reward)
      reward_scaler_.scale({rewards, static_cast<std::size_t>(N)}, vec_->terminated(), vec_->truncated());
    std::memcpy(storage_.terminated[t].data_ptr<bool>(), vec_->terminated().data(), vec_->terminated().size_bytes());
    std::memcpy(storage_.truncated[t].data_ptr<bool>(), vec_->truncated().data(), vec_->truncated().size_bytes());
    std::vector<std::int64_t> bootstrap;
    for (int i = 0; i < N; ++i) {
      const bool term = vec_->terminated()[i], trunc = vec_->truncated()[i];
      if (!term && !trunc) continue;
      const envs::EpisodeStats& ep = vec_->final_info(i).episode;
      const auto k = static_cast<std::size_t>(env_task_[i]);
      ep_return_sum_[k] += ep.return_;
      ep_length_sum_[k] += ep.steps;
      ++ep_count_[k];
      recent_returns_[k].push_back(ep.return_);
      if (recent_returns_[k].size() > kRecentEpisodes) recent_returns_[k].pop_front();
      for (Teacher& teacher : teachers_) teacher.policy->begin_episode(*vec_, i);  // the VecEnv reset env i
      if (!term) bootstrap.push_back(i);
    }
    if (!bootstrap.empty()) {
      copy_observations(vec_->final_observations(), final_scratch_);
      const auto rows = torch::tensor(bootstrap, torch::kInt64);
      const auto v = policy_->value(obs_to(select_rows(final_scratch_, rows), device_)).to(torch::kCPU, torch::kFloat32);
      storage_.final_values[t].index_put_({rows}, v.reshape({-1}));
    }
  }
  copy_observations(vec_->observations(), final_scratch_);
  storage_.next_value.copy_(policy_->value(obs_to(final_scratch_, device_)).reshape({N}));
  collect_seconds_ = seconds_since(t0);
  collected_ = true;
  return true;
}

UpdateMetrics Trainer::learn() {
  if (!collected_) throw std::logic_error("Trainer::learn without a complete rollout; call collect() first");
  torch::AutoGradMode grad(true);  // whatever the caller's mode
  const auto t0 = Clock::now();
  const PpoSection& p = config_.ppo;
  UpdateMetrics m;
  m.learning_rate = p.anneal_lr ? annealed_lr(p.learning_rate, static_cast<long>(update_ + 1),
                                              static_cast<long>(std::max<std::int64_t>(1, num_updates())))
                                : p.learning_rate;
  for (auto& group : optimizer_->param_groups())
    static_cast<torch::optim::AdamOptions&>(group.options()).lr(m.learning_rate);

  const GaeResult gae = compute_gae({storage_.rewards, storage_.values, storage_.next_value, storage_.terminated,
                                     storage_.truncated, storage_.final_values},
                                    p.gamma, p.gae_lambda);
  const std::int64_t B = config_.batch_size(), MB = config_.minibatch_size();
  const ObsTensors b_obs = flatten_steps(storage_.obs);
  const torch::Tensor b_actions = storage_.actions.flatten(0, 1);
  const torch::Tensor b_logp = storage_.log_probs.reshape({B}).to(device_);
  const torch::Tensor b_values = storage_.values.reshape({B}).to(device_);
  const torch::Tensor b_returns = gae.returns.reshape({B}).to(device_);
  torch::Tensor b_adv = gae.advantages.reshape({B}).to(device_);
  const torch::Tensor b_task = b_obs.task_id;
  const bool per_rollout = p.norm_adv && p.norm_adv_scope == "rollout";
  const bool per_minibatch = p.norm_adv && p.norm_adv_scope == "minibatch";
  if (per_rollout) normalize_advantages(b_adv, b_task, envs::kNumTasks, p.per_task_adv);
  const torch::Tensor b_aux_type = storage_.aux_type.reshape({B}).to(device_);
  const torch::Tensor b_aux_target = storage_.aux_target.reshape({B}).to(device_);
  const bool aux = config_.aux.diagnosis_weight > 0 && (storage_.aux_type >= 0).any().item<bool>();
  m.teacher_weight = teacher_weight();
  const bool teach = m.teacher_weight > 0;
  const torch::Tensor b_teacher = teach ? storage_.teacher_actions.flatten(0, 1).to(device_) : torch::Tensor();
  // Per row: 0 for rows without a teacher, teacher.action_weight where the teacher acts, else 1.
  torch::Tensor b_teacher_weight;
  if (teach) {
    const torch::Tensor taught = torch::tensor(teacher_of_, torch::kInt32).ge(0).repeat({config_.ppo.num_steps});
    b_teacher_weight = acting_row_weight(b_teacher, config_.teacher.action_weight).mul_(taught.to(device_, torch::kFloat32));
  }

  auto params = policy_->module().parameters();
  torch::Tensor sum_pg = torch::zeros({}), sum_v = torch::zeros({}), sum_ent = torch::zeros({}),
                sum_kl = torch::zeros({}), sum_old_kl = torch::zeros({}), sum_clip = torch::zeros({}),
                sum_aux = torch::zeros({}), sum_teacher = torch::zeros({});
  double acc_sum = 0;
  int acc_n = 0;
  for (int epoch = 0; epoch < p.update_epochs; ++epoch) {
    const torch::Tensor perm = torch::randperm(B, shuffle_rng_, torch::kInt64).to(device_);
    double last_kl = 0;
    for (std::int64_t start = 0; start < B; start += MB) {
      const torch::Tensor idx = perm.narrow(0, start, MB);
      const ObsTensors mb_obs = select_rows(b_obs, idx);
      const torch::Tensor mb_aux_type = aux ? b_aux_type.index_select(0, idx) : torch::Tensor();
      const EvaluateOutput ev = policy_->evaluate(mb_obs, b_actions.index_select(0, idx),
                                                  aux ? mb_aux_type.clamp_min(0) : torch::Tensor(),
                                                  teach ? b_teacher.index_select(0, idx) : torch::Tensor());
      torch::Tensor adv = b_adv.index_select(0, idx);
      if (per_minibatch) normalize_advantages(adv, mb_obs.task_id, envs::kNumTasks, p.per_task_adv);
      const PolicyLoss pl = clipped_policy_loss(ev.log_prob, b_logp.index_select(0, idx), adv, p.clip_coef);
      const torch::Tensor vl = value_loss(ev.value, b_values.index_select(0, idx), b_returns.index_select(0, idx),
                                          p.clip_coef, p.clip_vloss);
      const torch::Tensor entropy = ev.entropy.mean();
      // Each task's own entropy coefficient, row by row.
      const torch::Tensor ent_coef = torch::where(
          mb_obs.task_id == static_cast<std::int64_t>(envs::TaskId::kAutoscale),
          torch::full({}, p.autoscale_ent_coef >= 0 ? p.autoscale_ent_coef : p.ent_coef, ev.entropy.options()),
          torch::full({}, p.ent_coef, ev.entropy.options()));
      torch::Tensor loss = pl.loss - (ent_coef * ev.entropy).mean() + p.vf_coef * vl;
      if (aux) {
        const DiagnosisLoss dl = diagnosis_loss(ev.diag_type_logits, ev.diag_target_logits, mb_aux_type,
                                                b_aux_target.index_select(0, idx), config_.aux.diagnosis_pointer);
        loss = loss + config_.aux.diagnosis_weight * dl.loss;
        sum_aux += dl.loss.detach().to(torch::kCPU);
        const double acc = dl.accuracy.item<double>();
        if (!std::isnan(acc)) acc_sum += acc, ++acc_n;
      }
      if (teach) {
        if (!ev.teacher_log_prob.defined())
          throw std::logic_error(fmt::format("[teacher] is set, but the {} policy cannot be taught", policy_->kind()));
        // Rows without a teacher are selected away, not multiplied by 0 (their log-prob may be -inf).
        const torch::Tensor w = b_teacher_weight.index_select(0, idx);
        const torch::Tensor nll = -torch::where(w > 0, ev.teacher_log_prob, torch::zeros_like(ev.teacher_log_prob));
        const torch::Tensor tl = weighted_mean(nll, w);
        loss = loss + m.teacher_weight * tl;
        sum_teacher += tl.detach().to(torch::kCPU);
      }
      optimizer_->zero_grad();
      loss.backward();
      torch::nn::utils::clip_grad_norm_(params, p.max_grad_norm);
      optimizer_->step();
      sum_pg += pl.loss.detach().to(torch::kCPU);
      sum_v += vl.detach().to(torch::kCPU);
      sum_ent += entropy.detach().to(torch::kCPU);
      sum_kl += pl.approx_kl.to(torch::kCPU);
      sum_old_kl += pl.old_approx_kl.to(torch::kCPU);
      sum_clip += pl.clip_fraction.to(torch::kCPU);
      last_kl = pl.approx_kl.item<double>();
      ++m.minibatches;
    }
    ++m.epochs;
    if (p.target_kl > 0 && last_kl > p.target_kl) break;  // CleanRL: the epoch's last minibatch
  }
  const double n = std::max(1, m.minibatches);
  m.policy_loss = sum_pg.item<double>() / n;
  m.value_loss = sum_v.item<double>() / n;
  m.entropy = sum_ent.item<double>() / n;
  m.approx_kl = sum_kl.item<double>() / n;
  m.old_approx_kl = sum_old_kl.item<double>() / n;
  m.clip_fraction = sum_clip.item<double>() / n;
  m.aux_loss = aux ? sum_aux.item<double>() / n : kNaN;
  m.diag_accuracy = acc_n > 0 ? acc_sum / acc_n : kNaN;
  m.teacher_loss = teach ? sum_teacher.item<double>() / n : kNaN;
  m.explained_variance = explained_variance(storage_.values, gae.returns);

  {
    // The normaliser takes this rollout's observations only now, so that collection and
    // learning saw the same statistics.
    torch::NoGradGuard no_grad;
    policy_->update_normalizer(b_obs);
  }
  m.learn_seconds = seconds_since(t0);
  m.collect_seconds = collect_seconds_;
  ++update_;
  global_step_ += B;
  elapsed_ += m.collect_seconds + m.learn_seconds;
  m.update = update_;
  m.global_step = global_step_;
  m.sps = static_cast<double>(B) / std::max(1e-9, m.collect_seconds + m.learn_seconds);
  for (std::size_t k = 0; k < task_names_.size(); ++k) {
    TaskMetrics tm;
    tm.task = task_names_[k];
    tm.episodes = ep_count_[k];
    tm.mean_return = ep_count_[k] > 0 ? ep_return_sum_[k] / ep_count_[k] : kNaN;
    tm.mean_length = ep_count_[k] > 0 ? ep_length_sum_[k] / ep_count_[k] : kNaN;
    tm.reward_scale = config_.ppo.norm_reward ? reward_scaler_.scale_of(static_cast<int>(k)) : 1.0;
    m.tasks.push_back(tm);
  }
  collected_ = false;
  mark_resume_point();
  return m;
}

double Trainer::teacher_weight() const {
  if (teachers_.empty()) return 0;
  const double until = config_.teacher.until * static_cast<double>(config_.run.total_steps);
  return config_.teacher.weight * std::max(0.0, 1.0 - static_cast<double>(global_step_) / until);
}

void Trainer::replay_teacher() {
  if (teachers_.empty()) return;
  const envs::VecEnvState st = vec_->state();
  for (Teacher& teacher : teachers_)
    for (int i = 0; i < vec_->size(); ++i) {
      teacher.policy->begin_episode(*vec_, i);
      // The VecEnv keeps each env's rows in the env's own width.
      const auto A = static_cast<std::size_t>(vec_->spec(i).action_width);
      const std::vector<std::int32_t>& rows = st.actions[static_cast<std::size_t>(i)];
      for (std::size_t r = 0; r + A <= rows.size(); r += A)
        teacher.policy->observe(*vec_, i, std::span<const std::int32_t>(rows).subspan(r, A));
    }
}

UpdateMetrics Trainer::update() {
  if (!collect()) throw std::runtime_error("Trainer::update: stopped during collection");
  return learn();
}

std::vector<double> Trainer::recent_mean_returns() const {
  std::vector<double> out;
  for (const auto& q : recent_returns_)
    out.push_back(q.empty() ? kNaN : std::accumulate(q.begin(), q.end(), 0.0) / static_cast<double>(q.size()));
  return out;
}

void write_atomically(const std::filesystem::path& path, const std::function<void(const std::string&)>& write) {
  const std::string tmp = path.string() + ".tmp";
  write(tmp);
  const int fd = ::open(tmp.c_str(), O_RDONLY);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
  std::filesystem::rename(tmp, path);
}

void write_checkpoint_core(torch::serialize::OutputArchive& ar, ActorCritic& policy, const TrainConfig& config,
                           std::int64_t update, std::int64_t global_step, double elapsed_seconds) {
  ar.write("format", c10::IValue(std::string(kFormat)));
  ar.write("version", c10::IValue(kVersion));
  ar.write("policy_kind", c10::IValue(policy.kind()));
  ar.write("policy_options", c10::IValue(policy.options_toml()));
  ar.write("config", c10::IValue(to_toml(config)));
  // The model's parameters and buffers at the archive's root, as torch::save(policy) would
  // write them: agents::load_policy reads a checkpoint like a saved policy.
  policy.module().save(ar);
  ar.write("update", c10::IValue(update));
  ar.write("global_step", c10::IValue(global_step));
  ar.write("elapsed_seconds", c10::IValue(elapsed_seconds));
}

void Trainer::save_checkpoint(const std::filesystem::path& path) const {
  torch::serialize::OutputArchive ar;
  write_checkpoint_core(ar, *policy_, config_, resume_.update, resume_.global_step, resume_.elapsed);
  torch::serialize::OutputArchive opt;
  optimizer_->save(opt);
  ar.write("optimizer", opt);
  ar.write("rng_sample", resume_.sample_rng);
  ar.write("rng_shuffle", resume_.shuffle_rng);
  ar.write("reward_returns", torch::tensor(resume_.rewards.returns, torch::kFloat64));
  std::vector<double> stats;
  for (const RunningMeanStd& r : resume_.rewards.stats) stats.insert(stats.end(), {r.count, r.mean, r.var});
  ar.write("reward_stats", torch::tensor(stats, torch::kFloat64));
  const int N = vec_->size();
  std::vector<std::int64_t> offsets(static_cast<std::size_t>(N) + 1, 0);
  for (int i = 0; i < N; ++i) offsets[i + 1] = offsets[i] + static_cast<std::int64_t>(resume_.envs.actions[i].size());
  torch::Tensor rows = torch::empty({offsets.back()}, torch::kInt32);
  for (int i = 0; i < N; ++i)
    std::copy(resume_.envs.actions[i].begin(), resume_.envs.actions[i].end(), rows.data_ptr<std::int32_t>() + offsets[i]);
  ar.write("env_episode", torch::tensor(resume_.envs.episode, torch::kInt64));
  ar.write("env_offsets", torch::tensor(offsets, torch::kInt64));
  ar.write("env_actions", rows);
  std::filesystem::create_directories(std::filesystem::absolute(path).parent_path());
  write_atomically(path, [&](const std::string& tmp) { ar.save_to(tmp); });
}

void Trainer::load_checkpoint(const std::filesystem::path& path) {
  auto ar = open_checkpoint(path, device_);
  TrainConfig saved;
  apply_toml(saved, read_string(ar, "config", path.string()), path.string() + " (config)");
  if (const auto diff = structural_differences(saved, config_); !diff.empty()) {
    std::string list;
    for (const auto& d : diff) list += fmt::format("{}{}", list.empty() ? "" : ", ", d);
    throw std::runtime_error(fmt::format("{}: the checkpoint was trained with other envs or policy: {}", path.string(), list));
  }
  if (read_string(ar, "policy_kind", path.string()) != policy_->kind())
    throw std::runtime_error(fmt::format("{}: the checkpoint holds a {} policy, this run trains a {}", path.string(),
                                         read_string(ar, "policy_kind", path.string()), policy_->kind()));
  policy_->module().load(ar);
  torch::serialize::InputArchive opt;
  ar.read("optimizer", opt);
  optimizer_->load(opt);
  update_ = read_int(ar, "update", path.string());
  global_step_ = read_int(ar, "global_step", path.string());
  c10::IValue elapsed;
  ar.read("elapsed_seconds", elapsed);
  elapsed_ = elapsed.toDouble();
  torch::Tensor rs, rh, episode, offsets, rows;
  ar.read("rng_sample", rs);
  ar.read("rng_shuffle", rh);
  set_generator_state(sample_rng_, rs);
  set_generator_state(shuffle_rng_, rh);
  torch::Tensor reward_returns, reward_stats;
  ar.read("reward_returns", reward_returns);
  ar.read("reward_stats", reward_stats);
  reward_returns = reward_returns.to(torch::kCPU, torch::kFloat64).contiguous();
  reward_stats = reward_stats.to(torch::kCPU, torch::kFloat64).contiguous();
  if (reward_returns.numel() != static_cast<std::int64_t>(reward_scaler_.returns.size()) ||
      reward_stats.numel() != 3 * static_cast<std::int64_t>(reward_scaler_.stats.size()))
    throw std::runtime_error(fmt::format("{}: the checkpoint's reward statistics do not fit this run's envs", path.string()));
  std::copy_n(reward_returns.data_ptr<double>(), reward_returns.numel(), reward_scaler_.returns.begin());
  for (std::size_t k = 0; k < reward_scaler_.stats.size(); ++k) {
    const double* x = reward_stats.data_ptr<double>() + 3 * k;
    reward_scaler_.stats[k] = {x[0], x[1], x[2]};
  }
  ar.read("env_episode", episode);
  ar.read("env_offsets", offsets);
  ar.read("env_actions", rows);
  episode = episode.to(torch::kCPU).contiguous();
  offsets = offsets.to(torch::kCPU).contiguous();
  rows = rows.to(torch::kCPU).contiguous();
  const int N = vec_->size();
  if (episode.numel() != N || offsets.numel() != N + 1)
    throw std::runtime_error(fmt::format("{}: the checkpoint has {} envs, this run {}", path.string(), episode.numel(), N));
  envs::VecEnvState st;
  st.episode.assign(episode.data_ptr<std::int64_t>(), episode.data_ptr<std::int64_t>() + N);
  st.actions.resize(N);
  const std::int64_t* off = offsets.data_ptr<std::int64_t>();
  const std::int32_t* r = rows.data_ptr<std::int32_t>();
  for (int i = 0; i < N; ++i) st.actions[i].assign(r + off[i], r + off[i + 1]);
  vec_->restore(st);
  replay_teacher();
  collected_ = false;
  mark_resume_point();
}

void Trainer::init_from(const std::filesystem::path& path) {
  auto ar = open_checkpoint(resolve_checkpoint(path), device_);
  if (read_string(ar, "policy_kind", path.string()) != policy_->kind() ||
      read_string(ar, "policy_options", path.string()) != policy_->options_toml())
    throw std::runtime_error(fmt::format("{}: the checkpoint's policy ({}: {}) differs from this run's ({}: {})",
                                         path.string(), read_string(ar, "policy_kind", path.string()),
                                         read_string(ar, "policy_options", path.string()), policy_->kind(),
                                         policy_->options_toml()));
  policy_->module().load(ar);
  mark_resume_point();
}

std::filesystem::path resolve_checkpoint(const std::filesystem::path& path) {
  if (std::filesystem::is_directory(path)) {
    for (const auto& p : {path / "checkpoints" / "latest.pt", path / "latest.pt"})
      if (std::filesystem::is_regular_file(p)) return p;
    throw std::runtime_error(fmt::format("{}: a directory without checkpoints/latest.pt", path.string()));
  }
  return path;
}

LoadedPolicy load_policy(const std::filesystem::path& path, torch::Device device) {
  const auto file = resolve_checkpoint(path);
  auto ar = open_checkpoint(file, device);
  LoadedPolicy out;
  out.policy = make_actor_critic(read_string(ar, "policy_kind", file.string()), read_string(ar, "policy_options", file.string()));
  out.policy->module().to(device);
  out.policy->module().load(ar);
  out.policy->module().eval();
  apply_toml(out.config, read_string(ar, "config", file.string()), file.string() + " (config)");
  out.update = read_int(ar, "update", file.string());
  out.global_step = read_int(ar, "global_step", file.string());
  return out;
}

}  // namespace opsrl::train
