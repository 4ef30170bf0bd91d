// Environment steps per second through VecEnv, observations and masks included, for the
// built-in scenarios, 1-256 envs and 1-2 threads. Only VecEnv::step is timed: the random
// masked policy that chooses the actions (p_default = 0.95: mostly noop / keep, as a trained
// agent) runs outside the clock. Prints the median of several runs, then the env layer's own
// cost: the same simulation with and without it.
//
//   bench_envs [runs=5] [seconds_per_run=0.4] [all|table|overhead]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include <opsrl/envs/action_sampler.hpp>
#include <opsrl/envs/vec_env.hpp>

using namespace opsrl;
using Clock = std::chrono::steady_clock;

namespace {

struct Result {
  double steps_per_s;
  double resets_per_step;
};

Result measure(const envs::EnvConfigPtr& config, const std::string& task, int num_envs, int threads, double seconds,
               double p_default = 0.95) {
  envs::VecEnvOptions o;
  o.tasks = {{task, num_envs}};
  o.config = config;
  o.seed = 1000;
  o.num_threads = threads;
  envs::VecEnv vec(o);
  vec.reset();
  std::vector<sim::Rng> rngs;
  for (int i = 0; i < num_envs; ++i) rngs.emplace_back(7, sim::Stream::kScenarioGen, 1000 + i);
  const auto A = static_cast<std::size_t>(vec.action_width());
  const auto M = static_cast<std::size_t>(vec.mask_width());
  std::vector<std::int32_t> actions(A * static_cast<std::size_t>(num_envs));
  double timed = 0;
  long steps = 0, resets = 0;
  while (timed < seconds) {
    for (int i = 0; i < num_envs; ++i)
      envs::sample_action(vec.spec(i), vec.observations().action_mask().data() + i * M, rngs[i],
                          std::span(actions).subspan(i * A, A), p_default);
    const auto t0 = Clock::now();
    vec.step(actions);
    timed += std::chrono::duration<double>(Clock::now() - t0).count();
    steps += num_envs;
    for (int i = 0; i < num_envs; ++i) resets += vec.terminated()[i] || vec.truncated()[i];
  }
  return {static_cast<double>(steps) / timed, static_cast<double>(resets) / static_cast<double>(steps)};
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// Microseconds per scrape interval of bare clusters (no env layer), stepped round-robin like
// the envs of a VecEnv, from t = 0 like an env with day_phases = 1.
double sim_us_per_step(const sim::ScenarioPtr& scenario, int num_clusters, double seconds) {
  std::vector<std::unique_ptr<sim::Cluster>> clusters;
  for (int i = 0; i < num_clusters; ++i) clusters.push_back(std::make_unique<sim::Cluster>(scenario, 3 + i));
  long steps = 0;
  const auto t0 = Clock::now();
  double elapsed = 0;
  while (elapsed < seconds) {
    for (auto& c : clusters) c->run_until(c->now() + scenario->telemetry.scrape_interval);
    steps += num_clusters;
    elapsed = std::chrono::duration<double>(Clock::now() - t0).count();
  }
  return elapsed / static_cast<double>(steps) * 1e6;
}

void print_table(int runs, double seconds) {
  std::printf("env steps per second through VecEnv (observations and masks included), median of %d runs\n", runs);
  std::printf("%-8s %-9s %5s %7s %12s %14s %8s %8s\n", "scenario", "task", "envs", "threads", "steps/s",
              "steps/s/thread", "us/step", "resets%");
  for (const char* scenario : {"default", "large"}) {
    envs::EnvConfig c;
    c.scenario = sim::load_scenario(scenario);
    const envs::EnvConfigPtr config = envs::make_config(c);
    const std::vector<int> sizes = std::string(scenario) == "large" ? std::vector<int>{1, 16, 64}
                                                                    : std::vector<int>{1, 16, 64, 256};
    for (const char* task : {"incident", "autoscale"}) {
      for (int n : sizes) {
        for (int threads : {1, 2}) {
          std::vector<double> rates, resets;
          for (int r = 0; r < runs; ++r) {
            const Result res = measure(config, task, n, threads, seconds);
            rates.push_back(res.steps_per_s);
            resets.push_back(res.resets_per_step);
          }
          const double rate = median(rates);
          std::printf("%-8s %-9s %5d %7d %12.0f %14.0f %8.2f %8.2f\n", scenario, task, n, threads, rate,
                      rate / threads, 1e6 / rate * threads, 100.0 * median(resets));
          std::fflush(stdout);
        }
      }
    }
  }
}

// The env layer's own cost: the same simulation with and without it. Control episodes (no
// fault), noop actions and one time of day, so that the envs' clusters do what bare ones do.
void print_overhead(int runs, double seconds) {
  std::printf("\nenv-layer overhead, 1 thread, 64 envs: incident control episodes with noop actions vs bare clusters\n");
  for (const char* scenario : {"default", "large"}) {
    envs::EnvConfig c;
    c.scenario = sim::load_scenario(scenario);
    c.day_phases = 1;
    c.incident.control_fraction = 1.0;
    const envs::EnvConfigPtr config = envs::make_config(c);
    std::vector<double> sims, envs_us;
    for (int r = 0; r < runs; ++r) {
      sims.push_back(sim_us_per_step(c.scenario, 64, seconds));
      envs_us.push_back(1e6 / measure(config, "incident", 64, 1, seconds, 1.0).steps_per_s);
    }
    const double s = median(sims), e = median(envs_us);
    std::printf("  %-8s %.2f us per env step = simulator %.2f us (%.0f%%) + env layer %.2f us (%.0f%%)\n", scenario, e, s,
                100 * s / e, e - s, 100 * (e - s) / e);
  }
}

}  // namespace

int main(int argc, char** argv) {
  const int runs = argc > 1 ? std::atoi(argv[1]) : 5;
  const double seconds = argc > 2 ? std::atof(argv[2]) : 0.4;
  const std::string part = argc > 3 ? argv[3] : "all";
  if (part == "all" || part == "table") print_table(runs, seconds);
  if (part == "all" || part == "overhead") print_overhead(runs, seconds);
  return 0;
}
