// `opsrl record`: run a policy (a baseline by name, or a checkpoint) on episodes of a task
// through the vectorized env and write them as an HDF5 dataset (docs/datasets.md), atomically.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>

#include <unistd.h>

#include <fmt/format.h>

#include <opsrl/agents/policy.hpp>
#include <opsrl/datasets/record.hpp>
#include <opsrl/datasets/writer.hpp>
#include <opsrl/envs/config.hpp>
#include <opsrl/sim/scenario.hpp>
#include <opsrl/train/run.hpp>

#include "commands.hpp"

namespace opsrl::cli {

namespace {

struct RecordArgs {
  std::string policy;
  std::string task = "incident";
  int episodes = 100;
  std::uint64_t seed = 0;
  std::string out;
  std::string scenario = "default";
  std::string difficulty;
  int threads = 0;
  int envs = 0;
  double action_noise = 0;
  std::string device = "cpu";
};

void run(const RecordArgs& a) {
  if (a.episodes < 1) throw std::runtime_error(fmt::format("--episodes must be a whole number >= 1, got {}", a.episodes));
  if (a.threads < 0) throw std::runtime_error(fmt::format("--threads must be >= 0 (0: every core), got {}", a.threads));
  if (a.envs < 0) throw std::runtime_error(fmt::format("--envs must be >= 0 (0: automatic), got {}", a.envs));
  if (!(a.action_noise >= 0 && a.action_noise < 1))
    throw std::runtime_error(fmt::format("--action-noise must be a probability in [0, 1), got {}", a.action_noise));
  envs::EnvConfig config;
  config.scenario = sim::load_scenario(a.scenario);
  if (!a.difficulty.empty()) {
    if (a.task != "incident")
      throw std::runtime_error(fmt::format("--difficulty {} applies to --task incident only, got --task {}", a.difficulty, a.task));
    try {
      config.incident = envs::IncidentOptions::difficulty(a.difficulty);
    } catch (const std::exception& e) {
      throw std::runtime_error(fmt::format("--difficulty: {}", e.what()));
    }
  }
  const envs::EnvConfigPtr cfg = envs::make_config(config);
  const envs::EnvSpec spec = datasets::spec_of(a.task, cfg);

  std::unique_ptr<agents::Policy> policy;
  try {
    policy = agents::make_policy(a.policy, agents::PolicyOptions{}.with_seed(a.seed).with_device(a.device));
  } catch (const std::invalid_argument& e) {
    throw std::runtime_error(fmt::format("--policy: {}", e.what()));
  }
  if (const std::string why = policy->unsupported_reason(spec.task_id); !why.empty())
    throw std::runtime_error(fmt::format("--policy {} cannot run --task {}: {}", a.policy, a.task, why));
  datasets::PolicyHooks hooks = datasets::policy_hooks(*policy);
  hooks.name = a.policy;  // as given: a name or a checkpoint path, what `opsrl replay` loads again

  std::string command = fmt::format("opsrl record --policy {} --task {} --episodes {} --seed {} --scenario {}", a.policy,
                                    a.task, a.episodes, a.seed, a.scenario);
  if (!a.difficulty.empty()) command += " --difficulty " + a.difficulty;
  if (a.action_noise > 0) command += fmt::format(" --action-noise {}", a.action_noise);
  command += " --out " + a.out;
  datasets::DatasetHeader header = datasets::simulator_header(*cfg, spec, hooks.name, a.seed, a.scenario, a.difficulty, command);
  header.action_noise = a.action_noise;
  datasets::Writer writer(a.out, header);

  datasets::RecordOptions o;
  o.task = a.task;
  o.episodes = a.episodes;
  o.seed = a.seed;
  o.config = cfg;
  o.num_envs = a.envs;
  o.num_threads = a.threads;
  o.action_noise = a.action_noise;
  const bool tty = isatty(fileno(stderr)) != 0;
  auto last = std::chrono::steady_clock::now();
  o.progress = [&](int done, int total, std::int64_t steps) {
    const auto now = std::chrono::steady_clock::now();
    if (!tty || (done < total && now - last < std::chrono::milliseconds(200))) return;
    last = now;
    fmt::print(stderr, "\rrecord {}: {}/{} episodes, {} steps", a.policy, done, total, steps);
  };
  const datasets::RecordResult r = datasets::record(hooks, o, writer);
  writer.close();
  const auto bytes = std::filesystem::file_size(a.out);
  fmt::print(stderr, "{}record {}: {} {} episodes, {} steps in {:.1f} s ({:.0f} steps/s; {:.1f} s writing)\n", tty ? "\r" : "",
             a.policy, r.episodes, a.task, r.steps, r.seconds, static_cast<double>(r.steps) / r.seconds, r.write_seconds);
  fmt::print("wrote {}: {} episodes, {} steps, {:.2f} MB ({:.0f} bytes/step); seeds {}..{}\n", a.out, r.episodes, r.steps,
             static_cast<double>(bytes) / 1e6, static_cast<double>(bytes) / static_cast<double>(r.steps), a.seed,
             a.seed + static_cast<std::uint64_t>(a.episodes) - 1);
}

}  // namespace

void add_record(CLI::App& app) {
  train::register_checkpoint_loader();  // --policy RUN/checkpoints/latest.pt
  auto args = std::make_shared<RecordArgs>();
  auto* cmd = app.add_subcommand("record", "Record a policy's episodes of a task into an HDF5 dataset (docs/datasets.md)");
  cmd->footer(
      "Examples:\n"
      "  opsrl record --policy oracle --task incident --episodes 200 --seed 0 --out oracle.h5\n"
      "  opsrl record --policy runs/default/checkpoints/latest.pt --episodes 50 --out learned.h5\n"
      "  opsrl record --policy hpa --task autoscale --episodes 20 --scenario small --out hpa.h5\n"
      "  opsrl record --policy oracle_late --episodes 3000 --action-noise 0.3 --out oracle_dart.h5");
  cmd->add_option("--policy", args->policy, "A policy name (opsrl eval --list) or a checkpoint file")->required();
  cmd->add_option("--task", args->task, "incident or autoscale")
      ->check(CLI::IsMember({"incident", "autoscale"}))
      ->capture_default_str();
  cmd->add_option("--episodes", args->episodes, "Episodes to record")->capture_default_str();
  cmd->add_option("--seed", args->seed, "Episode k runs with seed S + k; also the policy's seed")->capture_default_str();
  cmd->add_option("--out", args->out, "The .h5 file to write (written as FILE.tmp, renamed when complete)")->required();
  cmd->add_option("--scenario", args->scenario, "Built-in scenario name or a .toml file")->capture_default_str();
  cmd->add_option("--difficulty", args->difficulty, "Incident preset: easy, medium (the defaults) or hard");
  cmd->add_option("--threads", args->threads, "Threads (0: every core); the file does not depend on it")->capture_default_str();
  cmd->add_option("--envs", args->envs, "Envs stepped together (0: min(episodes, 4 x threads, 32)); the file does not depend on it")
      ->capture_default_str();
  cmd->add_option("--action-noise", args->action_noise,
                  "Probability per step that the policy's remediation is not run (its diagnosis claim is; its rows "
                  "are kept as infos/intended_actions): demonstrations of late remedies for behaviour cloning")
      ->capture_default_str();
  cmd->add_option("--device", args->device, "Where a checkpoint policy runs: cpu, cuda, cuda:N")->capture_default_str();
  cmd->callback([args] { run(*args); });
}

}  // namespace opsrl::cli
