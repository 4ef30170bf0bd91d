// Dataset throughput: recording (simulation, policy and writing together, and the writer alone),
// bytes per step on disk against the raw arrays, and reading (decompression included). The
// recording policy is the oracle (realistic action and claim rows); files go to the temp directory.
//
//   bench_datasets [episodes=200] [runs=3]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include <unistd.h>

#include <opsrl/agents/policy.hpp>
#include <opsrl/datasets/reader.hpp>
#include <opsrl/datasets/record.hpp>
#include <opsrl/datasets/writer.hpp>
#include <opsrl/envs/config.hpp>
#include <opsrl/sim/scenario.hpp>

using namespace opsrl;
using Clock = std::chrono::steady_clock;

namespace {

struct Case {
  std::string scenario, task, policy;
  int episodes;
};

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

void run_case(const Case& c, int runs) {
  const std::filesystem::path file =
      std::filesystem::temp_directory_path() / ("opsrl-bench-" + std::to_string(::getpid()) + ".h5");
  envs::EnvConfig cfg;
  cfg.scenario = sim::load_scenario(c.scenario);
  const envs::EnvConfigPtr config = envs::make_config(cfg);
  std::vector<double> record_rate, write_rate;
  datasets::RecordResult last;
  for (int r = 0; r < runs; ++r) {
    auto policy = agents::make_policy(c.policy, agents::PolicyOptions{}.with_seed(1));
    datasets::PolicyHooks hooks = datasets::policy_hooks(*policy);
    datasets::Writer w(file, datasets::simulator_header(*config, datasets::spec_of(c.task, config), hooks.name, 1, c.scenario, "",
                                                        "bench_datasets"));
    datasets::RecordOptions o;
    o.task = c.task;
    o.episodes = c.episodes;
    o.seed = 1;
    o.config = config;
    o.num_threads = 1;
    last = datasets::record(hooks, o, w);
    w.close();
    record_rate.push_back(static_cast<double>(last.steps) / last.seconds);
    write_rate.push_back(static_cast<double>(last.steps) / last.write_seconds);
  }
  const datasets::Reader reader(file);
  const datasets::StorageStats st = reader.storage();
  std::vector<double> read_rate;
  datasets::Episode ep(reader.shape());
  for (int r = 0; r < runs; ++r) {
    const auto t0 = Clock::now();
    std::int64_t steps = 0;
    for (int k = 0; k < reader.num_episodes(); ++k) {
      reader.read(k, ep);
      steps += ep.steps();
    }
    read_rate.push_back(static_cast<double>(steps) / std::chrono::duration<double>(Clock::now() - t0).count());
  }
  const double steps = static_cast<double>(last.steps);
  const double raw_per_step = static_cast<double>(st.raw_bytes) / steps;
  std::printf("%-8s %-9s %-9s %5d %7lld %9.0f %9.0f %7.1f %9.0f %9.0f %6.1fx %9.0f %7.1f\n", c.scenario.c_str(), c.task.c_str(),
              c.policy.c_str(), c.episodes, static_cast<long long>(last.steps), median(record_rate), median(write_rate),
              median(write_rate) * raw_per_step / 1e6, static_cast<double>(st.file_bytes) / steps, raw_per_step,
              static_cast<double>(st.raw_bytes) / static_cast<double>(st.file_bytes), median(read_rate),
              median(read_rate) * raw_per_step / 1e6);
  std::filesystem::remove(file);
}

}  // namespace

int main(int argc, char** argv) {
  const int episodes = argc > 1 ? std::atoi(argv[1]) : 200;
  const int runs = argc > 2 ? std::atoi(argv[2]) : 3;
  if (episodes < 1 || runs < 1) {
    std::fprintf(stderr, "usage: bench_datasets [episodes >= 1] [runs >= 1]\n");
    return 2;
  }
  std::printf("median of %d runs, 1 thread; record = simulation + policy + writing; write = Writer::append alone;\n"
              "raw = the arrays uncompressed; read = Reader::read of every episode (decompression included)\n\n",
              runs);
  std::printf("%-8s %-9s %-9s %5s %7s %9s %9s %7s %9s %9s %7s %9s %7s\n", "scenario", "task", "policy", "eps", "steps",
              "record/s", "write/s", "wr MB/s", "B/step", "raw B/st", "ratio", "read/s", "rd MB/s");
  for (const Case& c : {Case{"default", "incident", "oracle", episodes}, Case{"default", "incident", "random", episodes / 4},
                        Case{"default", "autoscale", "hpa", std::max(1, episodes / 20)},
                        Case{"large", "incident", "oracle", std::max(1, episodes / 10)}})
    run_case(c, runs);
  return 0;
}
