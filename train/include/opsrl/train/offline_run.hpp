#pragma once
// A whole offline training run in a run directory: what `opsrl offline` does. (No LibTorch
// header here.) The layout is `opsrl train`'s (run.hpp):
//
//   RUN_DIR/config.toml                 the resolved offline configuration (re-loadable with --config)
//   RUN_DIR/metrics.csv                 one row per epoch (docs/training.md lists the columns)
//   RUN_DIR/eval.csv                    evaluations in the simulator (eval.every > 0), eval.csv's columns
//                                       with the epoch in the update column
//   RUN_DIR/checkpoints/latest.pt       the last checkpoint (atomically written), a policy for
//                                       `opsrl eval --policy`, `opsrl export`, `opsrl train --init-from`
//   RUN_DIR/checkpoints/epoch_NNNNNN.pt the last keep_checkpoints ones
//
// Progress goes to stderr as `opsrl train`'s: refreshed in place on a TTY, a line per epoch otherwise.
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <string>

#include <opsrl/train/offline_config.hpp>

namespace opsrl::train {

struct OfflineRunOptions {
  OfflineConfig config;              // data.files names the datasets
  std::filesystem::path run_dir;     // a new (or empty) directory; default runs/offline-YYYYmmdd-HHMMSS
  // Continue the run in this directory from checkpoints/latest.pt with its own config.toml
  // (config and run_dir are then ignored); the epochs, threads and device below may change it.
  std::filesystem::path resume;
  int epochs = 0;                    // > 0: offline.epochs of a resumed run (extend it)
  int threads = -1;                  // >= 0: run.threads of a resumed run
  std::string device;                // non-empty: run.device of a resumed run
  const std::atomic<bool>* stop = nullptr;  // stop after the current minibatch, save and return (tests)
  bool handle_sigint = true;         // Ctrl-C: stop at the next minibatch, save the last epoch's state
};

struct OfflineRunSummary {
  std::filesystem::path run_dir;
  std::int64_t epochs = 0, steps = 0;
  std::int64_t transitions = 0, train_transitions = 0, validation_transitions = 0;
  double wall_seconds = 0;
  bool interrupted = false;
  double nll = 0, val_nll = 0, val_agreement = 0;  // of the last epoch
  std::string eval_line;                            // the last evaluation's summary ("" without)
};

OfflineRunSummary run_offline(const OfflineRunOptions& options);

}  // namespace opsrl::train
