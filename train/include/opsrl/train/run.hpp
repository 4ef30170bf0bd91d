#pragma once
// A whole training run in a run directory: what `opsrl train` does. (No LibTorch header here.)
//
//   RUN_DIR/config.toml                 the resolved configuration (re-loadable)
//   RUN_DIR/metrics.csv                 one row per update (docs/training.md lists the columns)
//   RUN_DIR/eval.csv                    periodic evaluation on held-out seeds (eval.every > 0)
//   RUN_DIR/checkpoints/latest.pt       the last checkpoint (written atomically)
//   RUN_DIR/checkpoints/update_NNNNNN.pt  the last keep_checkpoints ones
//
// Progress goes to stderr: refreshed in place on a TTY, one line per update otherwise. SIGINT
// (Ctrl-C) stops at the next step, saves a checkpoint of the last update boundary and returns;
// a second Ctrl-C kills the process.
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <functional>
#include <memory>
#include <utility>

#include <opsrl/envs/config.hpp>
#include <opsrl/train/config.hpp>

namespace opsrl::agents {
class Policy;
}

namespace opsrl::train {

struct TrainerOptions;  // trainer.hpp

struct RunOptions {
  TrainConfig config;                  // ignored with resume (the run directory's config is used)
  std::filesystem::path run_dir;       // a new (or empty) directory
  std::filesystem::path resume;        // continue this run directory
  std::filesystem::path init_from;     // start from this checkpoint's model weights
  std::optional<std::int64_t> total_steps;  // with resume: extend or shorten the run
  std::optional<int> threads;          // with resume: run.threads and env.threads
  std::optional<std::string> device;   // with resume: run.device
  bool handle_sigint = true;           // install the Ctrl-C handler for the run's duration
  const std::atomic<bool>* stop = nullptr;  // another stop flag (tests)
  std::optional<std::int64_t> stop_after_updates;  // stop as if interrupted after this many updates
  std::shared_ptr<const TrainerOptions> trainer;  // tasks, env config, policy factory (tests)
};

struct RunSummary {
  std::filesystem::path run_dir;
  std::int64_t updates = 0, global_step = 0;
  double wall_seconds = 0;
  bool interrupted = false;
  std::vector<std::string> tasks;
  std::vector<double> recent_returns;  // mean of the last 100 episodes per task
};

RunSummary run_training(const RunOptions& options);

// A run directory name under runs/: runs/<prefix>-YYYYmmdd-HHMMSS.
std::filesystem::path default_run_dir(const std::string& prefix = "train");

// ---- Pieces of the run loop that `opsrl offline` (offline_run.hpp) shares ----------------------

// Ctrl-C in a run loop: while a scope made with `on` lives, SIGINT sets flag() (the loop stops at
// its next check and saves) instead of ending the process; a second Ctrl-C does end it. The
// previous handler is back when the scope ends.
class SigintScope {
 public:
  explicit SigintScope(bool on);
  ~SigintScope();
  SigintScope(const SigintScope&) = delete;
  SigintScope& operator=(const SigintScope&) = delete;
  static const std::atomic<bool>& flag();

 private:
  bool on_;
  void (*previous_)(int) = nullptr;
};

// The progress line on stderr: refreshed in place on a TTY (mode "auto"), one line per show()
// otherwise or with "lines", nothing with "off" (message() always prints).
class ProgressLine {
 public:
  explicit ProgressLine(const std::string& mode);
  void show(const std::string& line);
  void message(const std::string& text);
  void finish();

 private:
  bool on_, tty_;
};
std::string format_count(double v);           // 950, 12.3k, 1.20M
// Keeps the header of a CSV file and the rows whose first column (the update, or the epoch) is
// <= `last`: what a resumed run drops before it repeats the rows written after its checkpoint.
void truncate_metrics(const std::filesystem::path& path, std::int64_t last);
std::string format_duration(double seconds);  // m:ss or h:mm:ss; "?" when unknown

// Writes RUN_DIR/checkpoints/latest.pt with write_latest(path) (which must write atomically, e.g.
// through write_atomically), links it as checkpoints/<stem>_NNNNNN.pt (NNNNNN = number) and keeps
// the last `keep` of those (0: all).
void save_checkpoint_files(const std::filesystem::path& dir, const std::string& stem, std::int64_t number, int keep,
                           const std::function<void(const std::filesystem::path&)>& write_latest);

// Evaluates `policy` greedily on eval.episodes held-out episodes of each task (agents::evaluate,
// seeds 2^40 + eval.seed + k), appends every figure to `csv` (eval.csv: update, global_step, task,
// figure, value, ci95, n) and returns the summary line "eval @ <unit> <update>: ..." with the sum
// of the tasks' mean returns (what picks checkpoints/best.pt).
struct EvalReport {
  std::string line;
  double return_sum = 0;
};
EvalReport evaluate_into_csv(agents::Policy& policy, const std::vector<std::pair<std::string, envs::EnvConfigPtr>>& tasks,
                              const EvalSection& eval, int env_threads, std::int64_t update, std::int64_t global_step,
                              const std::filesystem::path& csv, const std::string& unit = "update");

// Keeps the best evaluation: when `score` beats the one in RUN_DIR/checkpoints/best.txt (none:
// -inf), writes checkpoints/best.pt with write_best(path) (atomically) and best.txt ("NUMBER
// SCORE", so that a resumed run keeps it). Returns whether it did.
bool keep_if_best(const std::filesystem::path& dir, std::int64_t number, double score,
                  const std::function<void(const std::filesystem::path&)>& write_best);

// Registers the "checkpoint" loader with agents::make_policy (learned_policy.hpp); here so that
// the CLI needs no LibTorch header.
void register_checkpoint_loader();

}  // namespace opsrl::train
