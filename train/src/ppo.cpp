// PPO arithmetic: batched tensor expressions except GAE, whose backward recursion over S
// steps runs as a plain loop over CPU arrays (S x N scalars; no per-sample LibTorch ops).
#include <opsrl/train/ppo.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <vector>

#include <fmt/format.h>

namespace opsrl::train {

namespace {

torch::Tensor cpu_double(const torch::Tensor& t) { return t.to(torch::kCPU, torch::kFloat64).contiguous(); }
torch::Tensor cpu_bool(const torch::Tensor& t) { return t.to(torch::kCPU, torch::kBool).contiguous(); }

void check_shape(const torch::Tensor& t, std::int64_t S, std::int64_t N, const char* name) {
  if (!t.defined() || t.dim() != 2 || t.size(0) != S || t.size(1) != N)
    throw std::invalid_argument(fmt::format("compute_gae: {} must be (S,N) = ({},{}), got {}", name, S, N,
                                            t.defined() ? c10::str(t.sizes()) : std::string("undefined")));
}

}  // namespace

GaeResult compute_gae(const GaeInputs& in, double gamma, double lambda) {
  if (!in.rewards.defined() || in.rewards.dim() != 2) throw std::invalid_argument("compute_gae: rewards must be (S,N)");
  const std::int64_t S = in.rewards.size(0), N = in.rewards.size(1);
  check_shape(in.values, S, N, "values");
  check_shape(in.terminated, S, N, "terminated");
  check_shape(in.truncated, S, N, "truncated");
  check_shape(in.final_values, S, N, "final_values");
  if (!in.next_value.defined() || in.next_value.numel() != N)
    throw std::invalid_argument(fmt::format("compute_gae: next_value must hold N = {} values", N));
  const torch::Tensor r = cpu_double(in.rewards), v = cpu_double(in.values), nv = cpu_double(in.next_value),
                      fv = cpu_double(in.final_values);
  const torch::Tensor term = cpu_bool(in.terminated), trunc = cpu_bool(in.truncated);
  torch::Tensor adv = torch::zeros({S, N}, torch::kFloat64);
  const double* pr = r.data_ptr<double>();
  const double* pv = v.data_ptr<double>();
  const double* pnv = nv.data_ptr<double>();
  const double* pfv = fv.data_ptr<double>();
  const bool* pterm = term.data_ptr<bool>();
  const bool* ptrunc = trunc.data_ptr<bool>();
  double* pa = adv.data_ptr<double>();
  std::vector<double> last(static_cast<std::size_t>(N), 0.0);
  for (std::int64_t t = S - 1; t >= 0; --t) {
    for (std::int64_t i = 0; i < N; ++i) {
      const std::int64_t k = t * N + i;
      const bool done = pterm[k] || ptrunc[k];
      double next = 0;
      if (pterm[k]) next = 0;
      else if (ptrunc[k]) next = pfv[k];
      else next = t == S - 1 ? pnv[i] : pv[k + N];
      const double delta = pr[k] + gamma * next - pv[k];
      double& a = last[static_cast<std::size_t>(i)];
      a = delta + gamma * lambda * (done ? 0.0 : a);
      pa[k] = a;
    }
  }
  GaeResult out;
  out.returns = (adv + v).to(torch::kFloat32);
  out.advantages = adv.to(torch::kFloat32);
  return out;
}

void normalize_advantages(torch::Tensor& adv, const torch::Tensor& task_id, int num_tasks, bool per_task, double eps) {
  torch::NoGradGuard no_grad;
  const std::int64_t B = adv.numel();
  if (B == 0) return;
  if (!per_task || num_tasks <= 1) {
    const auto mean = adv.mean();
    const auto std = B > 1 ? adv.std() : torch::ones({}, adv.options());
    adv.sub_(mean).div_(std + eps);
    return;
  }
  if (task_id.numel() != B)
    throw std::invalid_argument(fmt::format("normalize_advantages: task_id holds {} values for {} advantages",
                                            task_id.numel(), B));
  const auto ids = task_id.to(adv.device(), torch::kInt64).reshape({-1});
  const auto x = adv.reshape({-1}).to(torch::kFloat64);
  const auto opts = x.options();
  const auto count = torch::zeros({num_tasks}, opts).index_add_(0, ids, torch::ones_like(x));
  const auto sum = torch::zeros({num_tasks}, opts).index_add_(0, ids, x);
  const auto mean = sum / count.clamp_min(1);
  const auto centred = x - mean.index_select(0, ids);
  const auto ss = torch::zeros({num_tasks}, opts).index_add_(0, ids, centred * centred);
  // Unbiased variance, as torch's std(); groups of fewer than two samples keep scale 1.
  const auto std = torch::where(count > 1, (ss / (count - 1).clamp_min(1)).sqrt(), torch::ones_like(count));
  const auto y = centred / (std.index_select(0, ids) + eps);
  adv.copy_(y.reshape(adv.sizes()).to(adv.scalar_type()));
}

PolicyLoss clipped_policy_loss(const torch::Tensor& new_log_prob, const torch::Tensor& old_log_prob,
                               const torch::Tensor& advantages, double clip_coef) {
  const auto log_ratio = new_log_prob - old_log_prob;
  const auto ratio = log_ratio.exp();
  PolicyLoss out;
  const auto pg1 = -advantages * ratio;
  const auto pg2 = -advantages * torch::clamp(ratio, 1.0 - clip_coef, 1.0 + clip_coef);
  out.loss = torch::max(pg1, pg2).mean();
  torch::NoGradGuard no_grad;
  out.old_approx_kl = (-log_ratio).mean();
  out.approx_kl = ((ratio - 1) - log_ratio).mean();
  out.clip_fraction = ((ratio - 1.0).abs() > clip_coef).to(torch::kFloat32).mean();
  return out;
}

torch::Tensor value_loss(const torch::Tensor& new_value, const torch::Tensor& old_value, const torch::Tensor& returns,
                         double clip_coef, bool clip) {
  const auto unclipped = (new_value - returns).pow(2);
  if (!clip) return 0.5 * unclipped.mean();
  const auto v_clipped = old_value + torch::clamp(new_value - old_value, -clip_coef, clip_coef);
  const auto clipped = (v_clipped - returns).pow(2);
  return 0.5 * torch::max(unclipped, clipped).mean();
}

double explained_variance(const torch::Tensor& values, const torch::Tensor& returns) {
  const auto y = returns.reshape({-1}).to(torch::kCPU, torch::kFloat64);
  const auto p = values.reshape({-1}).to(torch::kCPU, torch::kFloat64);
  if (y.numel() < 2) return std::numeric_limits<double>::quiet_NaN();
  const double var_y = y.var().item<double>();
  if (var_y == 0) return std::numeric_limits<double>::quiet_NaN();
  return 1.0 - (y - p).var().item<double>() / var_y;
}

double annealed_lr(double lr, long update, long num_updates) {
  if (num_updates <= 0) return lr;
  const double frac = 1.0 - static_cast<double>(update - 1) / static_cast<double>(num_updates);
  return frac * lr;
}

torch::Tensor acting_row_weight(const torch::Tensor& rows, double action_weight) {
  const auto f = torch::TensorOptions().dtype(torch::kFloat32).device(rows.device());
  return torch::where(rows.ne(0).any(1), torch::full({}, action_weight, f), torch::ones({}, f));
}

torch::Tensor weighted_mean(const torch::Tensor& x, const torch::Tensor& weight) {
  return (x * weight).sum() / weight.sum().clamp_min(1e-12);
}

}  // namespace opsrl::train

namespace opsrl::train {

namespace {

// Mean negative log-likelihood of `label` under `logits` over rows with label >= 0.
torch::Tensor masked_nll(const torch::Tensor& logits, const torch::Tensor& label) {
  const auto has = (label >= 0).to(logits.scalar_type());
  const auto logp = torch::log_softmax(logits, -1).gather(1, label.clamp_min(0).unsqueeze(1)).squeeze(1);
  return -(logp * has).sum() / has.sum().clamp_min(1);
}

}  // namespace

DiagnosisLoss diagnosis_loss(const torch::Tensor& type_logits, const torch::Tensor& target_logits,
                             const torch::Tensor& type_label, const torch::Tensor& target_label, bool pointer) {
  DiagnosisLoss out;
  out.type_loss = masked_nll(type_logits, type_label);
  out.pointer_loss = pointer && target_logits.defined() ? masked_nll(target_logits, target_label)
                                                        : torch::zeros({}, type_logits.options());
  out.loss = out.type_loss + out.pointer_loss;
  torch::NoGradGuard no_grad;
  const auto fault = type_label > 0;
  const auto right = (type_logits.argmax(-1) == type_label) & fault;
  const auto n = fault.sum();
  out.accuracy = n.item<std::int64_t>() > 0 ? right.sum().to(torch::kFloat64) / n.to(torch::kFloat64)
                                            : torch::full({}, std::numeric_limits<double>::quiet_NaN(), torch::kFloat64);
  return out;
}

}  // namespace opsrl::train

namespace opsrl::train {

void RunningMeanStd::update(std::span<const double> batch) {
  if (batch.empty()) return;
  double bm = 0;
  for (double x : batch) bm += x;
  bm /= static_cast<double>(batch.size());
  double bv = 0;
  for (double x : batch) bv += (x - bm) * (x - bm);
  bv /= static_cast<double>(batch.size());
  const double bc = static_cast<double>(batch.size());
  const double delta = bm - mean, total = count + bc;
  const double m2 = var * count + bv * bc + delta * delta * count * bc / total;
  mean += delta * bc / total;
  var = m2 / total;
  count = total;
}

RewardScaler::RewardScaler(std::vector<int> env_task, int num_tasks, double gamma, double clip)
    : returns(env_task.size(), 0.0),
      stats(static_cast<std::size_t>(num_tasks)),
      env_task_(std::move(env_task)),
      gamma_(gamma),
      clip_(clip),
      scratch_(static_cast<std::size_t>(num_tasks)) {}

void RewardScaler::scale(std::span<float> rewards, std::span<const std::uint8_t> terminated,
                         std::span<const std::uint8_t> truncated) {
  const std::size_t N = returns.size();
  if (rewards.size() != N || terminated.size() != N || truncated.size() != N)
    throw std::invalid_argument(fmt::format("RewardScaler: {} envs, got {} rewards", N, rewards.size()));
  for (auto& s : scratch_) s.clear();
  for (std::size_t i = 0; i < N; ++i) {
    returns[i] = returns[i] * gamma_ + rewards[i];
    scratch_[static_cast<std::size_t>(env_task_[i])].push_back(returns[i]);
  }
  for (std::size_t k = 0; k < stats.size(); ++k) stats[k].update(scratch_[k]);
  for (std::size_t i = 0; i < N; ++i) {
    double r = rewards[i] / scale_of(env_task_[i]);
    if (clip_ > 0) r = std::clamp(r, -clip_, clip_);
    rewards[i] = static_cast<float>(r);
    if (terminated[i] || truncated[i]) returns[i] = 0;
  }
}

double RewardScaler::scale_of(int task) const { return std::sqrt(stats[static_cast<std::size_t>(task)].var + 1e-8); }

}  // namespace opsrl::train
