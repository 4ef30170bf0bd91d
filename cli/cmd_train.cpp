// `opsrl train`: multi-task PPO from a TOML config (the embedded default unless --config) with
// command-line overrides, into a run directory; --resume continues one. docs/training.md.
#include <cmath>
#include <cstdio>
#include <optional>

#include <fmt/format.h>

#include <opsrl/train/config.hpp>
#include <opsrl/train/run.hpp>

#include "commands.hpp"

namespace opsrl::cli {

namespace {

struct TrainArgs {
  std::string config;
  std::vector<std::string> set;
  std::string device;
  int threads = -1;
  std::int64_t seed = -1;
  std::string run_dir;
  std::string resume;
  std::string init_from;
  std::int64_t total_steps = 0;
  bool print_config = false;
};

void run(const TrainArgs& a) {
  train::RunOptions o;
  if (!a.resume.empty()) {
    if (!a.config.empty() || !a.set.empty() || a.seed >= 0 || !a.init_from.empty() || !a.run_dir.empty())
      throw std::runtime_error(
          "--resume takes the run's own config.toml; only --total-steps, --threads and --device may change it");
    o.resume = a.resume;
    if (a.total_steps > 0) o.total_steps = a.total_steps;
    if (a.threads >= 0) o.threads = a.threads;
    if (!a.device.empty()) o.device = a.device;
  } else {
    train::TrainConfig c = a.config.empty() ? train::default_config() : train::load_config_file(a.config);
    for (const std::string& s : a.set) train::apply_override(c, s);
    if (!a.device.empty()) c.run.device = a.device;
    if (a.threads >= 0) c.run.threads = c.env.threads = a.threads;
    if (a.seed >= 0) c.run.seed = a.seed;
    if (a.total_steps > 0) c.run.total_steps = a.total_steps;
    c.validate();
    if (a.print_config) {
      fmt::print("{}", train::to_toml(c));
      return;
    }
    o.config = c;
    o.run_dir = a.run_dir;
    o.init_from = a.init_from;
  }
  const train::RunSummary s = train::run_training(o);
  std::string returns;
  for (std::size_t k = 0; k < s.tasks.size(); ++k)
    returns += fmt::format("{}{} {}", returns.empty() ? "" : ", ", s.tasks[k],
                           std::isnan(s.recent_returns[k]) ? std::string("-") : fmt::format("{:.2f}", s.recent_returns[k]));
  fmt::print("{}: {} updates, {} env steps, {:.0f} s in this session; mean return of the last 100 episodes: {}\n",
             s.interrupted ? "stopped" : "done", s.updates, s.global_step, s.wall_seconds, returns);
  fmt::print("run directory: {}\n", s.run_dir.string());
  fmt::print("evaluate it:   opsrl eval --policy {}/checkpoints/latest.pt,threshold --task incident\n", s.run_dir.string());
  if (s.interrupted) fmt::print("continue it:   opsrl train --resume {}\n", s.run_dir.string());
}

}  // namespace

void add_train(CLI::App& app) {
  // Checkpoints become policies for `opsrl eval --policy RUN_DIR/checkpoints/latest.pt`.
  train::register_checkpoint_loader();
  auto args = std::make_shared<TrainArgs>();
  CLI::App* cmd = app.add_subcommand("train", "Train the transformer policy with multi-task PPO (docs/training.md)");
  cmd->footer(
      "Examples:\n"
      "  opsrl train                                   the default config (about 30 min on 2 cores)\n"
      "  opsrl train --set run.total_steps=50000 --set env.incident_difficulty=easy\n"
      "  opsrl train --config my.toml --run-dir runs/exp1\n"
      "  opsrl train --resume runs/exp1                continue an interrupted run (Ctrl-C saves one)\n"
      "  opsrl train --print-config > my.toml          the resolved config, every key documented");
  cmd->add_option("--config", args->config, "TOML config file (default: the embedded train/configs/default.toml)");
  cmd->add_option("--set", args->set, "override one key, e.g. --set ppo.clip_coef=0.1 (repeatable)");
  cmd->add_option("--device", args->device, "cpu, cuda or cuda:N (run.device)");
  cmd->add_option("--threads", args->threads, "LibTorch and env threads (run.threads, env.threads; 0: every core)");
  cmd->add_option("--seed", args->seed, "run.seed");
  cmd->add_option("--run-dir", args->run_dir, "run directory (default runs/train-YYYYmmdd-HHMMSS)");
  cmd->add_option("--resume", args->resume, "continue the run in this directory from its latest checkpoint");
  cmd->add_option("--init-from", args->init_from, "start from this checkpoint's weights (fresh optimizer and counters)");
  cmd->add_option("--total-steps", args->total_steps, "run.total_steps (with --resume: extend the run)");
  cmd->add_flag("--print-config", args->print_config, "print the resolved config as TOML and exit");
  cmd->callback([args] { run(*args); });
}

}  // namespace opsrl::cli
