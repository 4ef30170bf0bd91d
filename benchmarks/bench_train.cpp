// End-to-end PPO training throughput for a config (default: the shipped default.toml): env
// steps per second of whole updates (collection + learning), and the split between collecting
// a rollout (env steps + batched policy forward passes) and learning from it (epochs of
// minibatch forward + backward + Adam).
//
//   bench_train [UPDATES] [KEY=VALUE ...]     e.g. bench_train 4 ppo.num_steps=32 run.threads=2
//
// Prints one table: per timed update (after one warm-up update) and their median.
#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <torch/torch.h>

#include <opsrl/train/config.hpp>
#include <opsrl/train/trainer.hpp>

using namespace opsrl::train;

int main(int argc, char** argv) try {
  int updates = 3;
  TrainConfig c = default_config();
  c.log.progress = "off";
  for (int k = 1; k < argc; ++k) {
    const std::string a = argv[k];
    if (a.find('=') != std::string::npos) apply_override(c, a);
    else updates = std::stoi(a);
  }
  c.run.total_steps = c.batch_size() * (updates + 1) * 100;  // keep the LR schedule far from its end
  c.validate();
  Trainer t(c);
  fmt::print("bench_train: {} incident + {} autoscale envs x {} steps = {} samples per update, {} epochs x {} minibatches "
             "of {}; policy d_model {} layers {}; torch threads {}, env threads {}\n",
             c.env.incident_envs, c.env.autoscale_envs, c.ppo.num_steps, c.batch_size(), c.ppo.update_epochs,
             c.ppo.num_minibatches, c.minibatch_size(), c.policy.d_model, c.policy.layers, torch::get_num_threads(),
             t.vec().num_threads());
  t.update();  // warm-up (allocator, OpenBLAS threads)
  std::vector<double> total, collect, learn, learn_rate;
  fmt::print("{:>6} {:>10} {:>10} {:>12} {:>14} {:>16} {:>7}\n", "update", "collect_s", "learn_s", "samples/s",
             "collect smp/s", "learn smp-ep/s", "epochs");
  for (int u = 0; u < updates; ++u) {
    const UpdateMetrics m = t.update();
    const double B = static_cast<double>(c.batch_size());
    total.push_back(B / (m.collect_seconds + m.learn_seconds));
    collect.push_back(B / m.collect_seconds);
    learn.push_back(B * m.epochs / m.learn_seconds);
    fmt::print("{:>6} {:>10.2f} {:>10.2f} {:>12.0f} {:>14.0f} {:>16.0f} {:>7}\n", m.update, m.collect_seconds,
               m.learn_seconds, total.back(), collect.back(), learn.back(), m.epochs);
  }
  auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  fmt::print("median: {:.0f} samples/s end to end; collection {:.0f} samples/s; learning {:.0f} sample-epochs/s\n",
             median(total), median(collect), median(learn));
  const double full = static_cast<double>(default_config().run.total_steps);
  fmt::print("a run of run.total_steps = {} at that rate takes {:.1f} min\n", full, full / median(total) / 60);
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "bench_train: %s\n", e.what());
  return 1;
}
