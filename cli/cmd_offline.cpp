// `opsrl offline`: train the transformer policy from recorded episodes (HDF5 datasets) with
// behaviour cloning or implicit Q-learning, into a run directory like `opsrl train`'s.
// docs/training.md, "Offline training".
#include <cmath>

#include <fmt/format.h>

#include <opsrl/train/offline_config.hpp>
#include <opsrl/train/offline_run.hpp>
#include <opsrl/train/run.hpp>

#include "commands.hpp"

namespace opsrl::cli {

namespace {

struct OfflineArgs {
  std::string algo;
  std::vector<std::string> datasets;
  std::string config;
  std::vector<std::string> set;
  std::string run_dir;
  std::string resume;
  std::string device;
  int threads = -1;
  std::int64_t seed = -1;
  int epochs = 0;
  bool print_config = false;
};

void run(const OfflineArgs& a) {
  if (!a.resume.empty() && (!a.algo.empty() || !a.datasets.empty() || !a.config.empty() || !a.set.empty() ||
                            !a.run_dir.empty() || a.seed >= 0 || a.print_config))
    throw std::runtime_error(
        "--resume takes the run's own config.toml; only --epochs, --threads and --device may change it");
  train::OfflineConfig c = a.config.empty() ? train::default_offline_config() : train::load_offline_config_file(a.config);
  for (const std::string& s : a.set) train::apply_override(c, s);
  if (!a.algo.empty()) c.offline.algo = a.algo;
  for (const std::string& d : a.datasets) c.add_dataset(d);
  if (!a.device.empty()) c.run.device = a.device;
  if (a.threads >= 0) c.run.threads = a.threads;
  if (a.seed >= 0) c.run.seed = a.seed;
  if (a.epochs > 0) c.offline.epochs = a.epochs;
  c.validate();
  if (a.print_config) {
    fmt::print("{}", train::to_toml(c));
    return;
  }
  train::OfflineRunOptions o;
  o.config = c;
  o.run_dir = a.run_dir;
  o.resume = a.resume;
  o.epochs = a.epochs;
  o.threads = a.threads;
  o.device = a.device;
  const train::OfflineRunSummary s = train::run_offline(o);
  fmt::print("{}: {} {} epochs, {} steps over {} transitions ({} held out) in {:.0f} s; last epoch: nll {:.4f}", s.interrupted ? "stopped" : "done",
             c.offline.algo, s.epochs, s.steps, s.train_transitions, s.validation_transitions, s.wall_seconds, s.nll);
  if (!std::isnan(s.val_nll))
    fmt::print(", held-out nll {:.4f}, held-out agreement {:.1f}%", s.val_nll, 100 * s.val_agreement);
  fmt::print("\n");
  if (!s.eval_line.empty()) fmt::print("{}\n", s.eval_line);
  fmt::print("run directory: {}\n", s.run_dir.string());
  if (s.interrupted) fmt::print("continue it:   opsrl offline --resume {}\n", s.run_dir.string());
  fmt::print("evaluate it:   opsrl eval --policy {}/checkpoints/latest.pt,threshold --task incident\n", s.run_dir.string());
  fmt::print("fine-tune it:  opsrl train --init-from {}/checkpoints/latest.pt\n", s.run_dir.string());
}

}  // namespace

void add_offline(CLI::App& app) {
  train::register_checkpoint_loader();  // `opsrl eval` of the result works in the same process too
  auto args = std::make_shared<OfflineArgs>();
  CLI::App* cmd = app.add_subcommand(
      "offline", "Train the transformer policy from recorded episodes: behaviour cloning or IQL (docs/training.md)");
  cmd->footer(
      "Examples:\n"
      "  opsrl record --policy oracle --task incident --episodes 400 --seed 0 --out oracle.h5\n"
      "  opsrl offline --algo bc --dataset oracle.h5 --run-dir runs/bc\n"
      "  opsrl offline --algo iql --dataset random.h5 --dataset threshold.h5 --set iql.beta=10\n"
      "  opsrl eval --policy runs/bc/checkpoints/latest.pt,oracle --task incident\n"
      "  opsrl train --init-from runs/bc/checkpoints/latest.pt     fine-tune with PPO\n"
      "  opsrl offline --resume runs/bc --epochs 30                continue (or extend) a run; Ctrl-C saves one\n"
      "  opsrl offline --print-config > offline.toml               the resolved config, every key documented");
  cmd->add_option("--algo", args->algo, "bc (behaviour cloning) or iql (implicit Q-learning): offline.algo")
      ->check(CLI::IsMember({"bc", "iql"}));
  cmd->add_option("--dataset", args->datasets,
                  "an HDF5 dataset (opsrl record); repeat to train on several (same scenario): data.files");
  cmd->add_option("--config", args->config, "TOML config file (default: the embedded train/configs/offline.toml)");
  cmd->add_option("--set", args->set, "override one key, e.g. --set iql.beta=10 (repeatable)");
  cmd->add_option("--run-dir", args->run_dir, "run directory (default runs/offline-YYYYmmdd-HHMMSS)");
  cmd->add_option("--resume", args->resume, "continue the run in this directory from its latest checkpoint");
  cmd->add_option("--device", args->device, "cpu, cuda or cuda:N (run.device)");
  cmd->add_option("--threads", args->threads, "LibTorch threads (run.threads; 0: every core)");
  cmd->add_option("--seed", args->seed, "run.seed");
  cmd->add_option("--epochs", args->epochs, "offline.epochs (with --resume: extend the run)");
  cmd->add_flag("--print-config", args->print_config, "print the resolved config as TOML and exit");
  cmd->callback([args] { run(*args); });
}

}  // namespace opsrl::cli
