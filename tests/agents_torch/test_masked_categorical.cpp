// MaskedCategorical against brute-force enumeration: masked choices have probability exactly
// 0, log-probabilities and entropies are those of the allowed choices only, empty rows
// contribute nothing.
#include <cmath>
#include <vector>

#include <doctest/doctest.h>
#include <torch/torch.h>

#include <opsrl/agents/transformer_policy.hpp>

using opsrl::agents::MaskedCategorical;

namespace {

// Rows x choices logits and masks with every kind of row: all allowed, one allowed, some,
// none; logits of mixed sign and size.
struct Case {
  torch::Tensor logits, mask;
};

Case make_case() {
  torch::manual_seed(3);
  const torch::Tensor logits = torch::randn({6, 5}) * 3;
  const torch::Tensor mask = torch::tensor({1, 1, 1, 1, 1,   //
                                            0, 0, 1, 0, 0,   //
                                            1, 0, 1, 0, 1,   //
                                            0, 0, 0, 0, 0,   //
                                            0, 1, 1, 0, 0,   //
                                            1, 1, 0, 1, 1},
                                           torch::kBool)
                                 .view({6, 5});
  return {logits, mask};
}

}  // namespace

TEST_CASE("masked categorical: probabilities, log-probs and entropy equal brute force") {
  const Case c = make_case();
  const MaskedCategorical dist(c.logits, c.mask);
  const torch::Tensor probs = dist.probs();
  for (int r = 0; r < 6; ++r) {
    // Brute force in double over the allowed choices.
    double lse_max = -1e300;
    for (int k = 0; k < 5; ++k)
      if (c.mask[r][k].item<bool>()) lse_max = std::max(lse_max, c.logits[r][k].item<double>());
    double z = 0;
    for (int k = 0; k < 5; ++k)
      if (c.mask[r][k].item<bool>()) z += std::exp(c.logits[r][k].item<double>() - lse_max);
    const bool any = z > 0;
    CHECK(dist.allowed()[r].item<bool>() == any);
    double entropy = 0, total = 0;
    for (int k = 0; k < 5; ++k) {
      const bool ok = c.mask[r][k].item<bool>();
      const double p = ok ? std::exp(c.logits[r][k].item<double>() - lse_max) / z : 0.0;
      if (!ok) CHECK(probs[r][k].item<float>() == 0.0f);  // exactly 0
      CHECK(probs[r][k].item<double>() == doctest::Approx(p).epsilon(1e-5));
      total += probs[r][k].item<double>();
      if (ok) {
        entropy -= p * std::log(p);
        const double lp = dist.log_prob(torch::full({6}, k, torch::kInt64))[r].item<double>();
        CHECK(lp == doctest::Approx(std::log(p)).epsilon(1e-5));
      }
    }
    CHECK(total == doctest::Approx(any ? 1.0 : 0.0).epsilon(1e-6));
    CHECK(dist.entropy()[r].item<double>() == doctest::Approx(entropy).epsilon(1e-5));
    if (!any) {
      CHECK(dist.log_prob(torch::zeros({6}, torch::kInt64))[r].item<float>() == 0.0f);
      CHECK(dist.entropy()[r].item<float>() == 0.0f);
      CHECK(dist.mode()[r].item<int64_t>() == 0);
      CHECK(dist.sample()[r].item<int64_t>() == 0);
    }
  }
  // A row with a single allowed choice is certain.
  CHECK(dist.log_prob(torch::full({6}, 2, torch::kInt64))[1].item<float>() == 0.0f);
  CHECK(dist.entropy()[1].item<float>() == doctest::Approx(0.0).epsilon(1e-7));
}

TEST_CASE("masked categorical: samples never take a masked choice and follow the probabilities") {
  const Case c = make_case();
  // Extreme logits: a masked choice with a huge logit must still never be drawn.
  torch::Tensor logits = c.logits.clone();
  logits.masked_fill_(c.mask.logical_not(), 1e6);
  const MaskedCategorical dist(logits, c.mask);
  torch::Generator gen = at::detail::createCPUGenerator(11);
  const int draws = 20000;
  std::vector<std::vector<int>> counts(6, std::vector<int>(5, 0));
  const torch::Tensor many = MaskedCategorical(logits.unsqueeze(0).expand({draws, 6, 5}).contiguous(),
                                               c.mask.unsqueeze(0).expand({draws, 6, 5}).contiguous())
                                 .sample(gen);
  const auto acc = many.accessor<int64_t, 2>();
  for (int i = 0; i < draws; ++i)
    for (int r = 0; r < 6; ++r) ++counts[r][acc[i][r]];
  const torch::Tensor probs = dist.probs();
  for (int r = 0; r < 6; ++r)
    for (int k = 0; k < 5; ++k) {
      if (!c.mask[r][k].item<bool>() && !(r == 3 && k == 0)) CHECK(counts[r][k] == 0);
      if (r == 3) continue;  // empty row: always 0
      const double p = probs[r][k].item<double>();
      CHECK(std::abs(counts[r][k] / static_cast<double>(draws) - p) < 4 * std::sqrt(p * (1 - p) / draws) + 1e-9);
    }
  CHECK(counts[3][0] == draws);
}

TEST_CASE("masked categorical: gradients of masked logits are 0 and finite everywhere") {
  const Case c = make_case();
  const torch::Tensor logits = c.logits.clone().requires_grad_(true);
  const MaskedCategorical dist(logits, c.mask);
  const torch::Tensor loss = dist.entropy().sum() + dist.log_prob(dist.mode()).sum();
  loss.backward();
  const torch::Tensor g = logits.grad();
  CHECK(torch::isfinite(g).all().item<bool>());
  CHECK(g.masked_select(c.mask.logical_not()).abs().max().item<float>() == 0.0f);
}
