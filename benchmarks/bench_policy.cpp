// Transformer policy throughput on CPU, beside the machine's measured matrix-product roofline.
//
//   update: evaluate() + a PPO loss (clipped surrogate, value loss, entropy bonus) + backward,
//           minibatch B = 256 default-scenario observations (T = 52, F = 48), both tasks mixed;
//           also with an Adam step.
//   act:    act() under NoGradGuard (sampling), B = 64, as in a rollout.
//   roofline: fp32 torch::mm of n x n matrices (n = 1024).
// Each figure is the median of `runs` timed runs, at 1 and at 2 threads (LibTorch's intra-op
// threads and OpenBLAS's pool both: agents::set_compute_threads).
//
// FLOPs are counted analytically from the matrix products the policy must do (2 m n k each),
// per sample, with d = d_model, L = layers, P = pointer_dim, h = value_hidden, V = 11 verbs,
// D = 10 diagnosis types:
//   forward = T (2(3F + 3)d          embedding of the token's own features (+1), its linked
//                                    service's and node's (2F) and the task (2); the per-type
//                                    block product executes K = 4 times the own-feature part
//              + L (8d^2 + 4 d ff + 4 T d)   QKV 6d^2, output 2d^2, feed-forward, q k^T and p v
//                                    (the kernel runs q k^T over the keys padded to 16k: not counted)
//              + 2d(2P + 5))        token head (keys, delta, move)
//           + 2d(V + D + (V + D)P)  global head + 2dh + 2h value MLP + 2 * 2PT chosen pointer rows
//   forward + backward = 3 forward - 2(3F + 3)dT   (the embedding's input needs no gradient)
//
//   bench_policy [runs=5] [seconds_per_run=1.0] [threads=1,2]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <torch/torch.h>

#include <opsrl/agents/transformer_policy.hpp>
#include <opsrl/envs/vec_env.hpp>

using namespace opsrl;
using Clock = std::chrono::steady_clock;

namespace {

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// Calls per second of `body`, median over runs, each run at least `seconds` long.
double rate(const std::function<void()>& body, int runs, double seconds) {
  body();  // warm-up (allocator, OpenBLAS buffers)
  std::vector<double> r;
  for (int k = 0; k < runs; ++k) {
    int calls = 0;
    const auto t0 = Clock::now();
    double elapsed = 0;
    do {
      body();
      ++calls;
      elapsed = std::chrono::duration<double>(Clock::now() - t0).count();
    } while (elapsed < seconds);
    r.push_back(calls / elapsed);
  }
  return median(r);
}

double matmul_gflops(int n, int runs, double seconds) {
  torch::NoGradGuard no_grad;
  const torch::Tensor a = torch::randn({n, n}), b = torch::randn({n, n});
  torch::Tensor c = torch::empty({n, n});
  return rate([&] { torch::mm_out(c, a, b); }, runs, seconds) * 2.0 * n * n * n / 1e9;
}

struct Flops {
  double forward = 0, update = 0;
};

Flops policy_flops(const agents::TransformerPolicyOptions& o, double T) {
  const double d = o.d_model(), F = o.feature_width(), L = o.layers(), ff = o.ff(), P = o.pointer_dim(),
               h = o.value_hidden(), V = 11, D = 10;
  const double embed = 2 * (3 * F + 3) * d;
  const double per_token = embed + L * (8 * d * d + 4 * d * ff + 4 * T * d) + 2 * d * (2 * P + 5);
  const double per_sample = T * per_token + 2 * d * (V + D + (V + D) * P) + 2 * d * h + 2 * h + 4 * P * T;
  return {per_sample, 3 * per_sample - embed * T};
}

// Default-scenario observations of `n` envs (half incident, half autoscale) a few steps into
// their episodes, and the actions the policy takes there.
struct Batch {
  agents::ObsTensors obs;
  torch::Tensor actions, old_log_prob, advantages, returns;
};

std::unique_ptr<envs::VecEnv> make_vec(int n) {
  envs::VecEnvOptions o;
  o.tasks = {{"incident", n / 2}, {"autoscale", n - n / 2}};
  o.config = envs::make_config();
  o.seed = 1;
  o.num_threads = 1;
  auto vec = std::make_unique<envs::VecEnv>(o);
  vec->reset();
  return vec;
}

Batch make_batch(agents::TransformerPolicy& policy, envs::VecEnv& vec) {
  const int n = vec.size();
  torch::Generator gen = at::detail::createCPUGenerator(3);
  for (int s = 0; s < 8; ++s) {
    const agents::ActOutput out = policy->act(agents::to_tensors(vec.observations(), torch::kCPU, vec.action_width()), false, gen);
    const torch::Tensor a = out.actions.contiguous();
    vec.step({a.data_ptr<std::int32_t>(), static_cast<std::size_t>(a.numel())});
  }
  Batch b;
  b.obs = agents::to_tensors(vec.observations(), torch::kCPU, vec.action_width());
  const agents::ActOutput out = policy->act(b.obs, false, gen);
  b.actions = out.actions;
  b.old_log_prob = out.log_prob + 0.05 * torch::randn({n});  // ratios away from 1, as in a later epoch
  b.advantages = torch::randn({n});
  b.returns = out.value + torch::randn({n});
  return b;
}

torch::Tensor ppo_loss(agents::TransformerPolicy& policy, const Batch& b) {
  const agents::EvaluateOutput ev = policy->evaluate(b.obs, b.actions);
  const torch::Tensor ratio = (ev.log_prob - b.old_log_prob).exp();
  const torch::Tensor pg = torch::max(-b.advantages * ratio, -b.advantages * ratio.clamp(0.8, 1.2)).mean();
  const torch::Tensor v = 0.5 * (ev.value - b.returns).pow(2).mean();
  return pg + 0.5 * v - 0.01 * ev.entropy.mean();
}

}  // namespace

int main(int argc, char** argv) {
  const int runs = argc > 1 ? std::atoi(argv[1]) : 5;
  const double seconds = argc > 2 ? std::atof(argv[2]) : 1.0;
  std::vector<int> thread_counts;
  std::istringstream list(argc > 3 ? argv[3] : "1,2");
  for (std::string item; std::getline(list, item, ',');) thread_counts.push_back(std::atoi(item.c_str()));
  const int update_batch = 256, act_batch = 64;

  torch::manual_seed(0);
  const auto options = agents::TransformerPolicyOptions().feature_width(48);
  agents::TransformerPolicy policy(options);
  auto big_vec = make_vec(update_batch), small_vec = make_vec(act_batch);
  Batch big = make_batch(policy, *big_vec);
  Batch small = make_batch(policy, *small_vec);
  policy->update_normalizer(big.obs);
  const int64_t T = big.obs.tokens();
  const Flops flops = policy_flops(options, static_cast<double>(T));
  int64_t params = 0;
  for (const auto& p : policy->parameters()) params += p.numel();
  torch::optim::Adam adam(policy->parameters(), torch::optim::AdamOptions(2.5e-4).eps(1e-5));

  std::printf("transformer policy: d_model %d, layers %d, heads %d, ff %d, pointer %d; %lld parameters\n",
              options.d_model(), options.layers(), options.heads(), options.ff(), options.pointer_dim(),
              static_cast<long long>(params));
  std::printf("observations: default scenario, T = %lld, F = %lld, tasks mixed 50/50\n", static_cast<long long>(T),
              static_cast<long long>(big.obs.features.size(2)));
  std::printf("analytic FLOPs per sample: forward %.2f M, forward+backward %.2f M\n\n", flops.forward / 1e6,
              flops.update / 1e6);
  std::printf("%-8s %-14s %-40s %12s %10s %10s\n", "threads", "roofline", "phase", "samples/s", "GFLOP/s", "% roofline");
  for (const int threads : thread_counts) {
    agents::set_compute_threads(threads);  // LibTorch's threads and OpenBLAS's own pool
    const double roof = matmul_gflops(1024, runs, seconds / 2);
    char roof_s[32];
    std::snprintf(roof_s, sizeof roof_s, "%.1f GFLOP/s", roof);
    const auto row = [&](const char* phase, double samples, double flops_per_sample) {
      const double g = samples * flops_per_sample / 1e9;
      std::printf("%-8d %-14s %-40s %12.0f %10.1f %9.1f%%\n", threads, roof_s, phase, samples, g, 100 * g / roof);
    };
    const double fb = rate(
        [&] {
          policy->zero_grad();
          ppo_loss(policy, big).backward();
        },
        runs, seconds);
    row("update fwd+bwd, B=256", fb * update_batch, flops.update);
    const double fba = rate(
        [&] {
          adam.zero_grad();
          ppo_loss(policy, big).backward();
          adam.step();
        },
        runs, seconds);
    row("update fwd+bwd+Adam, B=256", fba * update_batch, flops.update);
    const double fwd = rate(
        [&] {
          torch::NoGradGuard no_grad;
          policy->evaluate(big.obs, big.actions);
        },
        runs, seconds);
    row("evaluate forward only, B=256", fwd * update_batch, flops.forward);
    torch::Generator gen = at::detail::createCPUGenerator(7);
    const double act = rate([&] { policy->act(small.obs, false, gen); }, runs, seconds);
    row("act (NoGradGuard, sampling), B=64", act * act_batch, flops.forward);
    const double conv = rate([&] { agents::to_tensors(small_vec->observations(), small.obs); }, runs, seconds / 4);
    std::printf("%-8d %-14s %-40s %12.0f\n", threads, roof_s, "to_tensors into reused tensors, B=64", conv * act_batch);
  }
  return 0;
}
