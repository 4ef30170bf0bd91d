// BC and IQL over recorded transitions (offline.hpp). Per minibatch: one policy evaluate and
// backward; IQL adds one critic forward with gradient and two without (s' and the target).
#include <opsrl/train/offline.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <thread>

#include <ATen/CPUGeneratorImpl.h>
#include <fmt/format.h>

#include <opsrl/envs/actions.hpp>
#include <opsrl/train/ppo.hpp>
#include <opsrl/train/rollout.hpp>
#include <opsrl/train/trainer.hpp>

namespace opsrl::train {

namespace {

using Clock = std::chrono::steady_clock;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr std::int64_t kChunk = 512;  // rows per forward pass outside training (normaliser, validation)

torch::nn::Sequential mlp(int in, int hidden) {
  return torch::nn::Sequential(torch::nn::Linear(in, hidden), torch::nn::ReLU(), torch::nn::Linear(hidden, hidden),
                               torch::nn::ReLU(), torch::nn::Linear(hidden, 1));
}

std::string read_string(torch::serialize::InputArchive& ar, const std::string& key, const std::filesystem::path& path) {
  c10::IValue v;
  if (!ar.try_read(key, v) || !v.isString())
    throw std::runtime_error(fmt::format("{}: not an `opsrl offline` checkpoint (no \"{}\")", path.string(), key));
  return v.toStringRef();
}

std::int64_t read_int(torch::serialize::InputArchive& ar, const std::string& key, const std::filesystem::path& path) {
  c10::IValue v;
  if (!ar.try_read(key, v) || !v.isInt())
    throw std::runtime_error(fmt::format("{}: not an `opsrl offline` checkpoint (no \"{}\")", path.string(), key));
  return v.toInt();
}

}  // namespace

// ---- IQL arithmetic ----------------------------------------------------------------------

torch::Tensor expectile_loss(const torch::Tensor& diff, double expectile) {
  const torch::Tensor weight = torch::where(diff < 0, torch::full({}, 1 - expectile, diff.options()),
                                            torch::full({}, expectile, diff.options()));
  return (weight * diff.square()).mean();
}

torch::Tensor td_target(const torch::Tensor& rewards, const torch::Tensor& next_value, const torch::Tensor& terminated,
                        double gamma) {
  return rewards + gamma * (1 - terminated.to(next_value.scalar_type())) * next_value;
}

NStepTargets n_step_targets(const torch::Tensor& rewards, const torch::Tensor& episode, const torch::Tensor& terminated,
                            const torch::Tensor& next_row, int n, double gamma) {
  if (n < 1) throw std::invalid_argument(fmt::format("n_step_targets: n must be >= 1, got {}", n));
  const std::int64_t S = rewards.numel();
  const torch::Tensor r = rewards.to(torch::kFloat64).contiguous(), ep = episode.to(torch::kInt64).contiguous();
  const torch::Tensor term = terminated.to(torch::kBool).contiguous(), next = next_row.to(torch::kInt64).contiguous();
  NStepTargets out{torch::empty({S}, torch::kFloat64), torch::empty({S}, torch::kInt64), torch::empty({S}, torch::kFloat64)};
  const double* rp = r.data_ptr<double>();
  const std::int64_t* ep_p = ep.data_ptr<std::int64_t>();
  const bool* tp = term.data_ptr<bool>();
  const std::int64_t* np_ = next.data_ptr<std::int64_t>();
  double* R = out.rewards.data_ptr<double>();
  std::int64_t* nr = out.next_row.data_ptr<std::int64_t>();
  double* disc = out.discount.data_ptr<double>();
  for (std::int64_t t = 0; t < S; ++t) {
    double sum = 0, g = 1;
    std::int64_t last = t;
    bool done = false;
    for (std::int64_t k = t; k < S && k < t + n && ep_p[k] == ep_p[t]; ++k) {
      sum += g * rp[k];
      g *= gamma;
      last = k;
      if (tp[k]) {
        done = true;
        break;
      }
    }
    R[t] = sum;
    nr[t] = np_[last];
    disc[t] = done ? 0.0 : g;
  }
  out.rewards = out.rewards.to(rewards.scalar_type());
  out.discount = out.discount.to(rewards.scalar_type());
  return out;
}

torch::Tensor advantage_weights(const torch::Tensor& advantage, double beta, double max_weight) {
  torch::NoGradGuard no_grad;
  return torch::exp(beta * advantage).clamp_max(max_weight);
}

void polyak_update(torch::nn::Module& target, torch::nn::Module& source, double polyak) {
  torch::NoGradGuard no_grad;
  const auto tp = target.named_parameters(), sp = source.named_parameters();
  if (tp.size() != sp.size())
    throw std::invalid_argument(fmt::format("polyak_update: {} parameters against {}", tp.size(), sp.size()));
  for (const auto& item : sp) {
    torch::Tensor t = tp[item.key()];
    t.mul_(1 - polyak).add_(item.value(), polyak);
  }
  const auto tb = target.named_buffers(), sb = source.named_buffers();
  for (const auto& item : sb) tb[item.key()].copy_(item.value());
}

// ---- the critic -----------------------------------------------------------------------------

IqlCriticImpl::IqlCriticImpl(IqlCriticOptions options) : options_(std::move(options)) {
  const int d = options_.encoder.d_model(), h = options_.hidden;
  if (options_.num_q < 1) throw std::invalid_argument(fmt::format("IqlCritic: num_q must be >= 1, got {}", options_.num_q));
  encoder_ = register_module("encoder", agents::TransformerPolicy(options_.encoder));
  verb_embed_ = register_module("verb_embed", torch::nn::Embedding(envs::incident::kNumVerbs, d));
  diag_embed_ = register_module("diag_embed", torch::nn::Embedding(envs::incident::kNumDiagTypes, d));
  delta_proj_ = register_module("delta_proj", torch::nn::Linear(d, envs::autoscale::kNumDeltas * d));
  move_proj_ = register_module("move_proj", torch::nn::Linear(d, envs::autoscale::kNumMoves * d));
  v_ = register_module("v", mlp(d, h));
  q_incident_ = register_module("q_incident", torch::nn::ModuleList());
  q_autoscale_ = register_module("q_autoscale", torch::nn::ModuleList());
  for (int k = 0; k < options_.num_q; ++k) {
    q_incident_->push_back(mlp(5 * d, h));
    q_autoscale_->push_back(mlp(2 * d, h));
  }
}

CriticOutput IqlCriticImpl::forward(const ObsTensors& obs, const torch::Tensor& actions) {
  using envs::incident::Column;
  const torch::Tensor z = encoder_->encode(obs);  // (B,T,d)
  const std::int64_t B = z.size(0), T = z.size(1), d = z.size(2);
  const torch::Tensor g = z.select(1, 0);
  CriticOutput out;
  out.value = v_->forward(g).squeeze(-1);
  if (!actions.defined()) return out;

  const torch::Tensor a = actions.to(torch::kInt64);
  const auto token = [&](int column) {
    const torch::Tensor t = a.select(1, column).clamp(0, T - 1).view({B, 1, 1}).expand({B, 1, d});
    return z.gather(1, t).squeeze(1);
  };
  const torch::Tensor x_incident =
      torch::cat({g, verb_embed_->forward(a.select(1, Column::kVerb).clamp(0, envs::incident::kNumVerbs - 1)),
                  token(Column::kTarget),
                  diag_embed_->forward(a.select(1, Column::kDiagType).clamp(0, envs::incident::kNumDiagTypes - 1)),
                  token(Column::kDiagTarget)},
                 1);
  const torch::Tensor autoscale = obs.task_id == static_cast<std::int64_t>(envs::TaskId::kAutoscale);
  const bool any_autoscale = a.size(1) >= 2 * T && autoscale.any().item<bool>();
  torch::Tensor x_autoscale;
  if (any_autoscale) {
    const envs::autoscale::Columns cols{static_cast<int>(T)};
    const auto changed = [&](torch::nn::Linear& proj, int first, int choices) {
      const torch::Tensor v = a.narrow(1, first, T).clamp(0, choices - 1);             // (B,T)
      const torch::Tensor p = proj->forward(z).view({B, T, choices, d});               // (B,T,C,d)
      const torch::Tensor chosen = p.gather(2, v.view({B, T, 1, 1}).expand({B, T, 1, d})).squeeze(2);
      return chosen * (v != 0).logical_and(obs.valid).unsqueeze(-1).to(z.scalar_type());
    };
    const torch::Tensor agg = (changed(delta_proj_, cols.delta(0), envs::autoscale::kNumDeltas) +
                               changed(move_proj_, cols.move(0), envs::autoscale::kNumMoves))
                                  .sum(1);
    x_autoscale = torch::cat({g, agg}, 1);
  }
  std::vector<torch::Tensor> qs;
  for (int k = 0; k < options_.num_q; ++k) {
    torch::Tensor q = q_incident_[k]->as<torch::nn::Sequential>()->forward(x_incident).squeeze(-1);
    if (any_autoscale)
      q = torch::where(autoscale, q_autoscale_[k]->as<torch::nn::Sequential>()->forward(x_autoscale).squeeze(-1), q);
    qs.push_back(q);
  }
  out.q = torch::stack(qs);
  return out;
}

// ---- the trainer ----------------------------------------------------------------------------

struct OfflineTrainer::Batch {
  ObsTensors obs, next_obs;
  torch::Tensor actions;  // (B,A) the rows the policy learns (OfflineData::cloned)
  torch::Tensor executed; // (B,A) IQL: the rows the env stepped with (the critic's); `actions` if the same
  torch::Tensor allowed, aux_type, aux_target, value_target, rewards, discount;
  torch::Tensor row_weight;  // (B) float: 0 for rows the mask does not allow, action_weight for acting rows, else 1
  torch::Tensor scale;       // (B) float, IQL: the critic's reward scale of each row
};

OfflineTrainer::OfflineTrainer(OfflineConfig config, std::shared_ptr<const OfflineData> data)
    : config_(std::move(config)), data_(std::move(data)), device_(torch::kCPU) {
  config_.validate();
  device_ = torch::Device(config_.run.device);
  if (device_.is_cuda() && !torch::cuda::is_available())
    throw std::runtime_error(fmt::format("run.device = \"{}\", but this LibTorch has no CUDA device", config_.run.device));
  if (data_->train.numel() == 0) throw std::runtime_error("no training transitions (every episode is held out for validation)");
  set_compute_threads(config_.run.threads > 0 ? config_.run.threads
                                              : static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
  torch::manual_seed(static_cast<std::uint64_t>(config_.run.seed));
  const PolicySection& p = config_.policy;
  const auto options = agents::TransformerPolicyOptions()
                           .feature_width(data_->features)
                           .max_tokens(data_->tokens)
                           .d_model(p.d_model)
                           .layers(p.layers)
                           .heads(p.heads)
                           .ff(p.ff)
                           .pointer_dim(p.pointer_dim)
                           .value_hidden(p.value_hidden);
  policy_ = make_transformer_actor_critic(options);
  const bool iql = config_.offline.algo == "iql";
  if (iql) {
    IqlCriticOptions co{options, config_.iql.q_hidden, config_.iql.twin_q ? 2 : 1};
    critic_ = IqlCritic(co);
    target_ = IqlCritic(co);
  }
  // The observation normaliser sees every training observation once, before any step: offline,
  // the statistics of the whole dataset are known up front (and stay fixed while training).
  {
    torch::NoGradGuard no_grad;
    const torch::Tensor rows = data_->train_rows;
    for (std::int64_t start = 0; start < rows.numel(); start += kChunk) {
      const ObsTensors chunk = select_rows(data_->obs, rows.narrow(0, start, std::min(kChunk, rows.numel() - start)));
      policy_->update_normalizer(chunk);
      if (iql) critic_->update_normalizer(chunk);
    }
  }
  policy_->module().to(device_);
  optimizer_ = std::make_unique<torch::optim::Adam>(
      policy_->module().parameters(),
      torch::optim::AdamOptions(config_.offline.learning_rate).eps(config_.offline.adam_eps));
  if (iql) {
    critic_->to(device_);
    target_->to(device_);
    polyak_update(*target_, *critic_, 1.0);
    for (auto& t : target_->parameters()) t.set_requires_grad(false);
    critic_optimizer_ = std::make_unique<torch::optim::Adam>(
        critic_->parameters(), torch::optim::AdamOptions(config_.offline.learning_rate).eps(config_.offline.adam_eps));
    iql_scale_ = config_.iql.reward_scale > 0 ? torch::full_like(data_->rewards, config_.iql.reward_scale)
                                              : data_->reward_scale.clone();
    targets_ = n_step_targets(data_->rewards, data_->episode, data_->terminated, data_->next_row, config_.iql.n_step,
                              config_.offline.gamma);
  }
  shuffle_rng_ = at::detail::createCPUGenerator(static_cast<std::uint64_t>(config_.run.seed) * 2 + 2);
}

OfflineTrainer::~OfflineTrainer() = default;

double OfflineTrainer::learning_rate() const {
  const double lr = config_.offline.learning_rate;
  if (!config_.offline.anneal_lr) return lr;
  return lr * (1.0 - static_cast<double>(epoch_) / static_cast<double>(config_.offline.epochs));
}

OfflineTrainer::Batch OfflineTrainer::batch(const torch::Tensor& idx) const {
  const OfflineData& d = *data_;
  Batch b;
  b.obs = obs_to(select_rows(d.obs, d.obs_row.index_select(0, idx)), device_);
  b.actions = d.cloned.index_select(0, idx).to(device_);
  b.allowed = d.allowed.index_select(0, idx).to(device_);
  b.aux_type = d.aux_type.index_select(0, idx).to(device_);
  b.aux_target = d.aux_target.index_select(0, idx).to(device_);
  b.value_target = (d.returns.index_select(0, idx) * d.reward_scale.index_select(0, idx)).to(device_);
  b.row_weight = acting_row_weight(b.actions, config_.offline.action_weight).mul_(b.allowed.to(torch::kFloat32));
  if (critic_) {
    b.executed = d.intended > 0 ? d.actions.index_select(0, idx).to(device_) : b.actions;
    b.next_obs = obs_to(select_rows(d.obs, targets_.next_row.index_select(0, idx)), device_);
    b.scale = iql_scale_.index_select(0, idx).to(device_);
    b.rewards = targets_.rewards.index_select(0, idx).to(device_) * b.scale;
    b.discount = targets_.discount.index_select(0, idx).to(device_);
  }
  return b;
}

OfflineEpochMetrics OfflineTrainer::epoch(const std::atomic<bool>* stop) {
  torch::AutoGradMode grad(true);
  const auto t0 = Clock::now();
  const OfflineSection& o = config_.offline;
  const IqlSection& q = config_.iql;
  const bool iql = static_cast<bool>(critic_);
  OfflineEpochMetrics m;
  m.learning_rate = learning_rate();
  for (auto& group : optimizer_->param_groups())
    static_cast<torch::optim::AdamOptions&>(group.options()).lr(m.learning_rate);
  if (iql)
    for (auto& group : critic_optimizer_->param_groups())
      static_cast<torch::optim::AdamOptions&>(group.options()).lr(m.learning_rate);
  policy_->module().train();

  const torch::Tensor train = data_->train;
  const std::int64_t n = train.numel(), B = std::min<std::int64_t>(o.batch_size, n);
  const torch::Tensor order = train.index_select(0, torch::randperm(n, shuffle_rng_, torch::kInt64));
  const bool aux = config_.aux.diagnosis_weight > 0 && (data_->aux_type >= 0).any().item<bool>();
  const auto policy_params = policy_->module().parameters();
  const auto critic_params = iql ? critic_->parameters() : std::vector<torch::Tensor>{};

  double sums[12] = {};
  enum { kNll, kActor, kAux, kValue, kV, kQ, kQMean, kVMean, kAdv, kWeight };
  double acc_sum = 0;
  int acc_n = 0, batches = 0;
  for (std::int64_t start = 0; start < n; start += B) {
    if (stop && stop->load()) return m;
    const Batch b = batch(order.narrow(0, start, std::min(B, n - start)));
    torch::Tensor weights;
    if (iql) {
      torch::Tensor target_q, next_v, policy_q;
      {
        torch::NoGradGuard no_grad;
        target_q = std::get<0>(target_->forward(b.obs, b.executed).q.min(0));
        next_v = critic_->forward(b.next_obs).value;
        // With action noise the policy learns the recording policy's own rows (DART), weighted
        // by their own advantage; the critic learns from the rows that ran.
        policy_q = b.executed.is_same(b.actions) ? target_q : std::get<0>(target_->forward(b.obs, b.actions).q.min(0));
      }
      const CriticOutput c = critic_->forward(b.obs, b.executed);
      const torch::Tensor v_loss = expectile_loss(target_q - c.value, q.expectile);
      const torch::Tensor y = b.rewards + b.discount * next_v;  // td_target's for n_step = 1
      const torch::Tensor q_loss = (c.q - y.unsqueeze(0)).square().mean(1).sum();
      critic_optimizer_->zero_grad();
      (v_loss + q_loss).backward();
      torch::nn::utils::clip_grad_norm_(critic_params, o.max_grad_norm);
      critic_optimizer_->step();
      // The critic learns in scaled units; beta applies to advantages in raw reward units.
      const torch::Tensor adv = (policy_q - c.value.detach()) / b.scale;
      weights = advantage_weights(adv, q.beta, q.max_weight);
      sums[kV] += v_loss.item<double>();
      sums[kQ] += q_loss.item<double>();
      sums[kQMean] += target_q.mean().item<double>();
      sums[kVMean] += c.value.detach().mean().item<double>();
      sums[kAdv] += adv.mean().item<double>();
      sums[kWeight] += weights.mean().item<double>();
    }
    const EvaluateOutput ev = policy_->evaluate(b.obs, b.actions, aux ? b.aux_type.clamp_min(0) : torch::Tensor(), {});
    const torch::Tensor nll = weighted_mean(-ev.log_prob, b.row_weight);
    const torch::Tensor actor = iql ? weighted_mean(-weights * ev.log_prob, b.row_weight) : nll;
    torch::Tensor loss = actor;
    if (aux) {
      const DiagnosisLoss dl = diagnosis_loss(ev.diag_type_logits, ev.diag_target_logits, b.aux_type, b.aux_target,
                                              config_.aux.diagnosis_pointer);
      loss = loss + config_.aux.diagnosis_weight * dl.loss;
      sums[kAux] += dl.loss.item<double>();
      const double acc = dl.accuracy.item<double>();
      if (!std::isnan(acc)) acc_sum += acc, ++acc_n;
    }
    if (o.value_weight > 0) {
      const torch::Tensor vl = 0.5 * (ev.value - b.value_target).square().mean();
      loss = loss + o.value_weight * vl;
      sums[kValue] += vl.item<double>();
    }
    optimizer_->zero_grad();
    loss.backward();
    torch::nn::utils::clip_grad_norm_(policy_params, o.max_grad_norm);
    optimizer_->step();
    if (iql) polyak_update(*target_, *critic_, q.polyak);
    sums[kNll] += nll.item<double>();
    sums[kActor] += actor.item<double>();
    ++batches;
    ++steps_;
  }
  const double nb = std::max(1, batches);
  m.nll = sums[kNll] / nb;
  m.actor_loss = sums[kActor] / nb;
  m.aux_loss = aux ? sums[kAux] / nb : kNaN;
  m.diag_accuracy = acc_n > 0 ? acc_sum / acc_n : kNaN;
  m.value_loss = o.value_weight > 0 ? sums[kValue] / nb : kNaN;
  for (auto [field, k] : {std::pair{&m.v_loss, kV}, {&m.q_loss, kQ}, {&m.q_mean, kQMean}, {&m.v_mean, kVMean},
                          {&m.adv_mean, kAdv}, {&m.weight_mean, kWeight}})
    *field = iql ? sums[k] / nb : kNaN;
  m.learn_seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  ++epoch_;
  elapsed_ += m.learn_seconds;
  m.epoch = epoch_;
  m.steps = steps_;
  m.samples = epoch_ * n;
  m.samples_per_second = static_cast<double>(n) / std::max(1e-9, m.learn_seconds);
  const ValidationMetrics v = validate();
  m.val_nll = v.nll;
  m.val_agreement = v.agreement;
  m.val_agreement_remediation = v.agreement_remediation;
  return m;
}

ValidationMetrics OfflineTrainer::validate(const torch::Tensor& transitions) {
  const torch::Tensor idx = transitions.defined() ? transitions : data_->validation;
  ValidationMetrics v;
  v.transitions = idx.numel();
  if (v.transitions == 0) {
    v.nll = v.agreement = v.agreement_remediation = kNaN;
    return v;
  }
  torch::NoGradGuard no_grad;
  policy_->module().eval();
  double nll_sum = 0, allowed_n = 0, same = 0, rem_same = 0, rem_n = 0;
  for (std::int64_t start = 0; start < v.transitions; start += kChunk) {
    const torch::Tensor part = idx.narrow(0, start, std::min(kChunk, v.transitions - start));
    const Batch b = batch(part);
    const EvaluateOutput ev = policy_->evaluate(b.obs, b.actions, {}, {});
    const torch::Tensor ok = b.allowed;
    nll_sum += (-ev.log_prob).masked_select(ok).sum().item<double>();
    allowed_n += static_cast<double>(ok.sum().item<std::int64_t>());
    const ActOutput act = policy_->act(b.obs, /*greedy=*/true, {});
    const std::int64_t width = std::min<std::int64_t>(act.actions.size(1), b.actions.size(1));
    const torch::Tensor rows = act.actions.to(torch::kInt64).narrow(1, 0, width);
    const torch::Tensor recorded = b.actions.narrow(1, 0, width);
    same += static_cast<double>(rows.eq(recorded).all(1).sum().item<std::int64_t>());
    const torch::Tensor incident = b.obs.task_id == static_cast<std::int64_t>(envs::TaskId::kIncident);
    const torch::Tensor rem = rows.narrow(1, 0, 2).eq(recorded.narrow(1, 0, 2)).all(1).logical_and(incident);
    rem_same += static_cast<double>(rem.sum().item<std::int64_t>());
    rem_n += static_cast<double>(incident.sum().item<std::int64_t>());
  }
  policy_->module().train();
  v.nll = allowed_n > 0 ? nll_sum / allowed_n : kNaN;
  v.agreement = same / static_cast<double>(v.transitions);
  v.agreement_remediation = rem_n > 0 ? rem_same / rem_n : kNaN;
  return v;
}

TrainConfig OfflineTrainer::train_config() const {
  TrainConfig c;
  c.run.seed = config_.run.seed;
  c.run.device = config_.run.device;
  c.run.threads = config_.run.threads;
  c.policy = config_.policy;
  c.aux = config_.aux;
  data_->describe_envs(c.env);
  return c;
}

void OfflineTrainer::save_checkpoint(const std::filesystem::path& path) const {
  torch::serialize::OutputArchive ar;
  write_checkpoint_core(ar, *policy_, train_config(), epoch_, /*global_step: no env steps*/ 0, elapsed_);
  ar.write("offline_config", c10::IValue(to_toml(config_)));
  ar.write("offline_algo", c10::IValue(config_.offline.algo));
  ar.write("offline_epoch", c10::IValue(epoch_));
  ar.write("offline_steps", c10::IValue(steps_));
  torch::serialize::OutputArchive opt;
  optimizer_->save(opt);
  ar.write("optimizer", opt);
  {
    torch::Generator g = shuffle_rng_;
    std::lock_guard<std::mutex> lock(g.mutex());
    ar.write("rng_shuffle", g.get_state());
  }
  if (critic_) {
    torch::serialize::OutputArchive critic, target, copt;
    critic_->save(critic);
    target_->save(target);
    critic_optimizer_->save(copt);
    ar.write("critic", critic);
    ar.write("critic_target", target);
    ar.write("critic_optimizer", copt);
  }
  std::filesystem::create_directories(std::filesystem::absolute(path).parent_path());
  write_atomically(path, [&](const std::string& tmp) { ar.save_to(tmp); });
}

void OfflineTrainer::load_checkpoint(const std::filesystem::path& path) {
  auto ar = open_checkpoint(path, device_);
  const std::string algo = read_string(ar, "offline_algo", path);
  if (algo != config_.offline.algo)
    throw std::runtime_error(fmt::format("{}: an offline {} checkpoint, this run trains {}", path.string(), algo,
                                         config_.offline.algo));
  if (read_string(ar, "policy_options", path) != policy_->options_toml())
    throw std::runtime_error(fmt::format("{}: the checkpoint's policy ({}) differs from this run's ({})", path.string(),
                                         read_string(ar, "policy_options", path), policy_->options_toml()));
  policy_->module().load(ar);
  torch::serialize::InputArchive opt;
  ar.read("optimizer", opt);
  optimizer_->load(opt);
  epoch_ = read_int(ar, "offline_epoch", path);
  steps_ = read_int(ar, "offline_steps", path);
  c10::IValue elapsed;
  if (ar.try_read("elapsed_seconds", elapsed) && elapsed.isDouble()) elapsed_ = elapsed.toDouble();
  torch::Tensor rng;
  ar.read("rng_shuffle", rng);
  {
    std::lock_guard<std::mutex> lock(shuffle_rng_.mutex());
    shuffle_rng_.set_state(rng.to(torch::kCPU));
  }
  if (critic_) {
    torch::serialize::InputArchive critic, target, copt;
    ar.read("critic", critic);
    ar.read("critic_target", target);
    ar.read("critic_optimizer", copt);
    critic_->load(critic);
    target_->load(target);
    critic_optimizer_->load(copt);
  }
}

}  // namespace opsrl::train
