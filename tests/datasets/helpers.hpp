#pragma once
// Shared pieces of the datasets tests: scratch files, short configs and a one-call recorder.
#include <filesystem>
#include <string>

#include <unistd.h>

#include <opsrl/agents/policy.hpp>
#include <opsrl/datasets/record.hpp>
#include <opsrl/datasets/writer.hpp>
#include <opsrl/envs/config.hpp>
#include <opsrl/sim/scenario.hpp>

namespace opsrl::datasets::test {

// A scratch path removed (with its .tmp sibling) when the object goes.
class TempFile {
 public:
  explicit TempFile(const std::string& name)
      : path_(std::filesystem::temp_directory_path() / ("opsrl-test-" + std::to_string(::getpid()) + "-" + name)) {
    remove();
  }
  ~TempFile() { remove(); }
  const std::filesystem::path& path() const { return path_; }
  std::string str() const { return path_.string(); }

 private:
  void remove() {
    std::error_code ec;
    std::filesystem::remove(path_, ec);
    std::filesystem::remove(path_.string() + ".tmp", ec);
  }
  std::filesystem::path path_;
};

// Short incident episodes on `small` (a few dozen steps each).
inline envs::EnvConfigPtr short_config(const std::string& scenario = "small") {
  envs::EnvConfig c;
  c.scenario = sim::load_scenario(scenario);
  c.incident.time_limit = 8 * sim::kMinute;
  c.incident.onset_max = 2 * sim::kMinute;
  c.incident.control_fraction = 0.2;
  c.autoscale.episode_length = 10 * sim::kMinute;
  return envs::make_config(c);
}

struct Recording {
  RecordResult result;
  DatasetHeader header;
};

// Records `episodes` episodes of `policy` into `file` (with RecordOptions::action_noise), closed.
inline Recording record_file(const std::string& file, const std::string& policy, const std::string& task, int episodes,
                             std::uint64_t seed, const envs::EnvConfigPtr& config, int num_envs = 0, int threads = 1,
                             const std::string& scenario = "small", double action_noise = 0) {
  auto p = agents::make_policy(policy, agents::PolicyOptions{}.with_seed(seed));
  PolicyHooks hooks = policy_hooks(*p);
  DatasetHeader header = simulator_header(*config, spec_of(task, config), hooks.name, seed, scenario, "", "test");
  header.action_noise = action_noise;
  Writer w(file, header);
  RecordOptions o;
  o.task = task;
  o.episodes = episodes;
  o.seed = seed;
  o.config = config;
  o.num_envs = num_envs;
  o.num_threads = threads;
  o.action_noise = action_noise;
  Recording r{record(hooks, o, w), w.header()};
  w.close();
  return r;
}

}  // namespace opsrl::datasets::test
