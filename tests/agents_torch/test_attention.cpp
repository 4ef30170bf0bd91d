// The fused CPU attention kernel against the plain ATen formulation: outputs and gradients,
// with masked and padded keys, any T, head widths with and without a vector tail, one and two
// threads.
#include <utility>

#include <doctest/doctest.h>
#include <torch/torch.h>

#include "../../agents/src/transformer_attention.hpp"

namespace attn = opsrl::agents::detail;

TEST_CASE("fused attention equals the reference, forward and backward") {
  const int saved_threads = torch::get_num_threads();
  // (d, heads): head widths 16, 32, 8 and 20.
  const std::pair<int64_t, int64_t> sizes[] = {{64, 4}, {64, 2}, {40, 5}, {60, 3}};
  for (const int threads : {1, 2})
    for (const int64_t T : {1, 7, 16, 52, 70})
      for (const auto& [d, H] : sizes) {
        INFO("T = " << T << ", d = " << d << ", heads = " << H << ", threads = " << threads);
        torch::set_num_threads(threads);
        torch::manual_seed(T * 100 + d);
        const int64_t B = 5;
        const torch::Tensor qkv = torch::randn({B, T, 3 * d}) * 2;
        torch::Tensor valid = torch::rand({B, T}) > 0.3;
        valid.select(1, 0).fill_(true);  // every row has a valid key (the global token)
        const torch::Tensor grad = torch::randn({B, T, d});

        const torch::Tensor a = qkv.clone().requires_grad_(true), b = qkv.clone().requires_grad_(true);
        const torch::Tensor fused = attn::attention(a, valid, H);
        const torch::Tensor reference = attn::attention_reference(b, valid, H);
        CHECK((fused - reference).abs().max().item<float>() < 2e-5);
        (fused * grad).sum().backward();
        (reference * grad).sum().backward();
        CHECK((a.grad() - b.grad()).abs().max().item<float>() < 2e-5);
        // Masked keys get no gradient through k and v.
        const torch::Tensor kv_grad = a.grad().narrow(2, d, 2 * d);
        CHECK(kv_grad.masked_select(valid.logical_not().unsqueeze(-1)).abs().sum().item<float>() == 0.0f);
      }
  torch::set_num_threads(saved_threads);
}

TEST_CASE("fused attention does not depend on the thread count") {
  const int saved_threads = torch::get_num_threads();
  torch::manual_seed(1);
  const torch::Tensor qkv = torch::randn({64, 52, 192});
  const torch::Tensor valid = torch::rand({64, 52}) > 0.2;
  torch::set_num_threads(1);
  const torch::Tensor one = attn::attention(qkv, valid, 4);
  torch::set_num_threads(2);
  const torch::Tensor two = attn::attention(qkv, valid, 4);
  CHECK(torch::equal(one, two));
  torch::set_num_threads(saved_threads);
}
