// The PPO arithmetic against hand-computed values.
#include <cmath>

#include <doctest/doctest.h>
#include <torch/torch.h>

#include <opsrl/train/ppo.hpp>

using namespace opsrl::train;

namespace {

torch::Tensor f(std::vector<float> v) { return torch::tensor(v, torch::kFloat32); }
torch::Tensor b(std::vector<int> v) { return torch::tensor(v, torch::kInt32).to(torch::kBool); }

void check_close(const torch::Tensor& got, std::vector<double> want, double eps = 1e-5) {
  REQUIRE(got.numel() == static_cast<std::int64_t>(want.size()));
  const auto g = got.reshape({-1}).to(torch::kFloat64);
  for (std::size_t k = 0; k < want.size(); ++k) CHECK(g[k].item<double>() == doctest::Approx(want[k]).epsilon(eps));
}

}  // namespace

TEST_CASE("GAE: plain bootstrap, termination, truncation with the value of the final observation") {
  // S = 3 steps, N = 3 envs (columns), gamma 0.9, lambda 0.8 (gamma lambda = 0.72).
  // env 0: no episode end; bootstrap from next_value 2.0.
  //   t2: 3 + 0.9*2.0 - 1.5 = 3.3                    A = 3.3
  //   t1: 2 + 0.9*1.5 - 1.0 = 2.35                   A = 2.35 + 0.72*3.3 = 4.726
  //   t0: 1 + 0.9*1.0 - 0.5 = 1.4                    A = 1.4 + 0.72*4.726 = 4.80272
  // env 1: terminated at t1 (no bootstrap), truncated at t2 (bootstrap with V(final) = 4.0,
  //        next_value 10 ignored).
  //   t2: 1 + 0.9*4.0 - 0.5 = 4.1                    A = 4.1
  //   t1: 1 + 0 - 3 = -2                             A = -2 (no carry across the end)
  //   t0: 1 + 0.9*3 - 2 = 1.7                        A = 1.7 + 0.72*(-2) = 0.26
  // env 2: truncated at t0 with V(final) = 5; then a new episode bootstrapped from next_value 1.
  //   t2: 0 + 0.9*1 - 1 = -0.1                       A = -0.1
  //   t1: 0 + 0.9*1 - 1 = -0.1                       A = -0.1 + 0.72*(-0.1) = -0.172
  //   t0: 0 + 0.9*5 - 1 = 3.5                        A = 3.5
  GaeInputs in;
  in.rewards = torch::tensor({1.f, 1.f, 0.f, 2.f, 1.f, 0.f, 3.f, 1.f, 0.f}).reshape({3, 3});
  in.values = torch::tensor({0.5f, 2.f, 1.f, 1.f, 3.f, 1.f, 1.5f, 0.5f, 1.f}).reshape({3, 3});
  in.next_value = f({2.0f, 10.f, 1.f});
  in.terminated = b({0, 0, 0, 0, 1, 0, 0, 0, 0}).reshape({3, 3});
  in.truncated = b({0, 0, 1, 0, 0, 0, 0, 1, 0}).reshape({3, 3});
  in.final_values = torch::tensor({0.f, 0.f, 5.f, 0.f, 99.f, 0.f, 0.f, 4.f, 0.f}).reshape({3, 3});
  const GaeResult g = compute_gae(in, 0.9, 0.8);
  check_close(g.advantages, {4.80272, 0.26, 3.5, 4.726, -2.0, -0.172, 3.3, 4.1, -0.1});
  check_close(g.returns, {4.80272 + 0.5, 0.26 + 2, 3.5 + 1, 4.726 + 1, -2.0 + 3, -0.172 + 1, 3.3 + 1.5, 4.1 + 0.5, -0.1 + 1});
}

TEST_CASE("GAE: terminated wins over truncated, and lambda 1 gives discounted returns minus values") {
  GaeInputs in;
  in.rewards = f({1, 1}).reshape({2, 1});
  in.values = f({0, 0}).reshape({2, 1});
  in.next_value = f({100});
  in.terminated = b({0, 1}).reshape({2, 1});
  in.truncated = b({0, 1}).reshape({2, 1});
  in.final_values = f({0, 50}).reshape({2, 1});
  const GaeResult g = compute_gae(in, 0.5, 1.0);
  check_close(g.advantages, {1 + 0.5 * 1, 1});  // no bootstrap at the end: 1.5 and 1
  check_close(g.returns, {1.5, 1});
}

TEST_CASE("GAE rejects mismatched shapes") {
  GaeInputs in;
  in.rewards = torch::zeros({4, 2});
  in.values = torch::zeros({4, 3});
  in.next_value = torch::zeros({2});
  in.terminated = torch::zeros({4, 2}, torch::kBool);
  in.truncated = torch::zeros({4, 2}, torch::kBool);
  in.final_values = torch::zeros({4, 2});
  CHECK_THROWS_WITH_AS(compute_gae(in, 0.99, 0.95), doctest::Contains("values must be (S,N) = (4,2)"),
                       std::invalid_argument);
}

TEST_CASE("clipped surrogate, approx KL, clip fraction and gradients on known tensors") {
  // ratio r = [1.5, 0.5, 1.0, 1.1], A = [1, 1, -1, -2], clip 0.2:
  //   max(-A r, -A clip(r)) = [max(-1.5,-1.2), max(-0.5,-0.8), 1, max(2.2, 2.2)] = [-1.2, -0.5, 1, 2.2]
  //   mean 0.375; clipped (|r-1| > 0.2): 2 of 4
  //   approx_kl = mean((r-1) - log r); old_approx_kl = mean(-log r)
  //   d loss / d logp = [0 (clipped), -A r / 4 = -0.125, 0.25, 0.55]
  const auto ratio = f({1.5f, 0.5f, 1.0f, 1.1f});
  const auto old_logp = f({-1.0f, -2.0f, -0.5f, -3.0f});
  const auto new_logp = (old_logp + ratio.log()).detach().requires_grad_(true);
  const auto adv = f({1, 1, -1, -2});
  const PolicyLoss pl = clipped_policy_loss(new_logp, old_logp, adv, 0.2);
  CHECK(pl.loss.item<double>() == doctest::Approx(0.375).epsilon(1e-6));
  CHECK(pl.clip_fraction.item<double>() == doctest::Approx(0.5));
  const double kl = ((0.5 - std::log(1.5)) + (-0.5 - std::log(0.5)) + 0.0 + (0.1 - std::log(1.1))) / 4;
  CHECK(pl.approx_kl.item<double>() == doctest::Approx(kl).epsilon(1e-5));
  const double old_kl = -(std::log(1.5) + std::log(0.5) + 0 + std::log(1.1)) / 4;
  CHECK(pl.old_approx_kl.item<double>() == doctest::Approx(old_kl).epsilon(1e-5));
  pl.loss.backward();
  check_close(new_logp.grad(), {0.0, -0.125, 0.25, 0.55});
}

TEST_CASE("value loss, clipped and unclipped, on known tensors") {
  // V = [1, 2, 3], V_old = 1.5, R = 2, clip 0.2:
  //   unclipped (V-R)^2 = [1, 0, 1]; clipped V = [1.3, 1.7, 1.7] -> [0.49, 0.09, 0.09]
  //   clip: 0.5 mean(max) = 0.5 * (1 + 0.09 + 1) / 3; no clip: 0.5 * 2 / 3
  const auto v = f({1, 2, 3}), old = f({1.5, 1.5, 1.5}), ret = f({2, 2, 2});
  CHECK(value_loss(v, old, ret, 0.2, true).item<double>() == doctest::Approx(0.5 * 2.09 / 3).epsilon(1e-6));
  CHECK(value_loss(v, old, ret, 0.2, false).item<double>() == doctest::Approx(1.0 / 3).epsilon(1e-6));
}

TEST_CASE("per-task advantage normalisation") {
  auto adv = f({1, 2, 3, 10, 20, 30, 40, 7});
  const auto task = torch::tensor({0, 0, 0, 1, 1, 1, 1, 2}, torch::kInt64);
  normalize_advantages(adv, task, 3, /*per_task=*/true);
  const double s1 = std::sqrt((15.0 * 15 + 5 * 5 + 5 * 5 + 15 * 15) / 3);  // unbiased std of task 1
  check_close(adv, {-1, 0, 1, -15 / s1, -5 / s1, 5 / s1, 15 / s1, 0}, 1e-4);
  // Each task separately: mean 0, std 1 (the lone sample of task 2 is only centred).
  CHECK(adv.slice(0, 0, 3).mean().item<double>() == doctest::Approx(0).epsilon(1e-6));
  CHECK(adv.slice(0, 3, 7).std().item<double>() == doctest::Approx(1).epsilon(1e-4));

  auto whole = f({1, 2, 3, 10});
  normalize_advantages(whole, torch::zeros({4}, torch::kInt64), 2, /*per_task=*/false);
  CHECK(whole.mean().item<double>() == doctest::Approx(0).epsilon(1e-6));
  CHECK(whole.std().item<double>() == doctest::Approx(1).epsilon(1e-4));
}

TEST_CASE("explained variance and the annealed learning rate") {
  const auto ret = f({1, 2, 3, 4});
  CHECK(explained_variance(ret, ret) == doctest::Approx(1));
  CHECK(explained_variance(f({2.5, 2.5, 2.5, 2.5}), ret) == doctest::Approx(0));
  CHECK(std::isnan(explained_variance(ret, f({1, 1, 1, 1}))));
  CHECK(annealed_lr(1e-3, 1, 10) == doctest::Approx(1e-3));
  CHECK(annealed_lr(1e-3, 10, 10) == doctest::Approx(1e-4));
}

TEST_CASE("diagnosis loss: cross-entropy over labelled rows only, pointer over rows with a root") {
  // Row 0: logits [0, 0, 0], label 1 -> ln 3; row 1: label -1 (ignored); row 2: logits
  // [0, ln 3, 0] label 1 -> -ln(3/5) = ln(5/3). Mean over rows 0 and 2.
  const auto type_logits = torch::tensor({0.f, 0.f, 0.f, 5.f, 0.f, 0.f, 0.f, std::log(3.f), 0.f}).reshape({3, 3});
  const auto labels = torch::tensor({1, -1, 1}, torch::kInt64);
  const auto target_logits = torch::tensor({0.f, 0.f, 1.f, 1.f, 2.f, 0.f}).reshape({3, 2});
  const auto roots = torch::tensor({-1, 0, 0}, torch::kInt64);  // row 2 only has a root (row 1 has no type label)
  const DiagnosisLoss dl = diagnosis_loss(type_logits, target_logits, labels, roots, true);
  CHECK(dl.type_loss.item<double>() == doctest::Approx((std::log(3.0) + std::log(5.0 / 3)) / 2).epsilon(1e-5));
  // pointer: rows 1 and 2 have roots: row 1 logits [1,1] -> ln 2; row 2 [2,0] label 0 -> ln(1 + e^-2)
  CHECK(dl.pointer_loss.item<double>() == doctest::Approx((std::log(2.0) + std::log(1 + std::exp(-2.0))) / 2).epsilon(1e-5));
  CHECK(dl.loss.item<double>() == doctest::Approx(dl.type_loss.item<double>() + dl.pointer_loss.item<double>()));
  // accuracy over rows with a fault label (> 0): row 0 argmax is 0 (ties -> first), row 2 is 1.
  CHECK(dl.accuracy.item<double>() == doctest::Approx(0.5));
  const DiagnosisLoss no_pointer = diagnosis_loss(type_logits, target_logits, labels, roots, false);
  CHECK(no_pointer.pointer_loss.item<double>() == 0);
}

TEST_CASE("running mean and variance merge batches exactly") {
  RunningMeanStd r;
  const std::vector<double> a{1, 2, 3}, b{4, 5};
  r.update(a);
  r.update(b);
  CHECK(r.mean == doctest::Approx(3).epsilon(1e-3));  // the 1e-4 prior count is negligible
  CHECK(r.var == doctest::Approx(2).epsilon(1e-3));   // population variance of 1..5
  CHECK(r.count == doctest::Approx(5.0001));
}

TEST_CASE("reward scaling per task: each task's rewards end up O(1), returns reset at episode ends") {
  // gamma 0: the discounted return is the reward itself. Task 0 sees +-1, task 1 sees +-100.
  RewardScaler s({0, 0, 1, 1}, 2, /*gamma=*/0.0, /*clip=*/10.0);
  const std::vector<std::uint8_t> none_storage(4, 0);
  const std::span<const std::uint8_t> none(none_storage);
  std::vector<float> r;
  for (int t = 0; t < 200; ++t) {
    const float sign = t % 2 ? 1.0f : -1.0f;
    r = {sign, -sign, 100 * sign, -100 * sign};
    s.scale(r, none, none);
  }
  CHECK(s.scale_of(0) == doctest::Approx(1).epsilon(0.01));
  CHECK(s.scale_of(1) == doctest::Approx(100).epsilon(0.01));
  for (float x : r) CHECK(std::abs(x) == doctest::Approx(1).epsilon(0.02));
  r = {1000, 0, 0, 0};
  s.scale(r, none, none);
  CHECK(r[0] == 10.0f);  // clipped

  // The discounted return accumulates and resets when the episode ends.
  RewardScaler g({0, 0}, 1, /*gamma=*/0.5, /*clip=*/0);
  std::vector<float> two{2, 2};
  g.scale(two, none.subspan(0, 2), none.subspan(0, 2));
  two = {2, 2};
  const std::vector<std::uint8_t> term{1, 0}, trunc{0, 0};
  g.scale(two, term, trunc);
  CHECK(g.returns[0] == 0);                       // reset after its episode ended
  CHECK(g.returns[1] == doctest::Approx(3.0));    // 2 * 0.5 + 2
}
