// The run loop of `opsrl offline`: dataset, run directory, metrics, progress, checkpoints and
// evaluation, sharing run.hpp's pieces with `opsrl train`.
#include <opsrl/train/offline_run.hpp>

#include <chrono>
#include <cmath>
#include <fstream>

#include <fmt/format.h>

#include <opsrl/train/learned_policy.hpp>
#include <opsrl/train/offline.hpp>
#include <opsrl/train/run.hpp>
#include <opsrl/train/trainer.hpp>

namespace opsrl::train {

namespace {

std::string num(double v) { return std::isnan(v) ? std::string() : fmt::format("{:.6g}", v); }

constexpr const char* kColumns =
    "epoch,steps,samples,samples_per_s,learn_s,wall_s,learning_rate,nll,actor_loss,aux_loss,diag_accuracy,value_loss,"
    "v_loss,q_loss,q_mean,v_mean,adv_mean,weight_mean,val_nll,val_agreement,val_agreement_remediation";

std::string metric_row(const OfflineEpochMetrics& m, double wall) {
  std::string row = fmt::format("{},{},{}", m.epoch, m.steps, m.samples);
  for (double x : {m.samples_per_second, m.learn_seconds, wall, m.learning_rate, m.nll, m.actor_loss, m.aux_loss,
                   m.diag_accuracy, m.value_loss, m.v_loss, m.q_loss, m.q_mean, m.v_mean, m.adv_mean, m.weight_mean,
                   m.val_nll, m.val_agreement, m.val_agreement_remediation}) {
    row += ',';
    row += num(x);
  }
  return row;
}

std::string percent(double v) { return std::isnan(v) ? "-" : fmt::format("{:.1f}%", 100 * v); }

}  // namespace

OfflineRunSummary run_offline(const OfflineRunOptions& options) {
  OfflineConfig config = options.config;
  std::filesystem::path dir = options.run_dir.empty() ? default_run_dir("offline") : options.run_dir;
  const bool resume = !options.resume.empty();
  if (resume) {
    dir = options.resume;
    if (!std::filesystem::is_regular_file(dir / "config.toml"))
      throw std::runtime_error(fmt::format("--resume {}: no config.toml there; is it an `opsrl offline` run directory?", dir.string()));
    config = load_offline_config_file(dir / "config.toml");
    if (options.epochs > 0) config.offline.epochs = options.epochs;
    if (options.threads >= 0) config.run.threads = options.threads;
    if (!options.device.empty()) config.run.device = options.device;
  } else if (std::filesystem::exists(dir / "config.toml")) {
    throw std::runtime_error(fmt::format("run directory {} already holds a run; use --resume {} to continue it, or another --run-dir",
                                         dir.string(), dir.string()));
  }
  config.validate();

  ProgressLine progress(config.log.progress);
  const OfflineDataOptions d = data_options(config);
  if (d.files.empty()) throw std::runtime_error("no dataset: give --dataset FILE.h5 (or data.files in the config)");
  const auto t_load = std::chrono::steady_clock::now();
  auto data = std::make_shared<const OfflineData>(load_offline_data(d));
  for (const OfflineSource& s : data->sources)
    progress.message(fmt::format("dataset {}: {} {} episodes by {}, {} steps, mean return {:.2f}", s.file.string(),
                                 s.episodes, s.task, s.policy.empty() ? "(imported)" : s.policy, s.steps, s.mean_return));
  const std::int64_t held_out_episodes =
      data->validation.numel() > 0 ? std::get<0>(torch::_unique(data->episode.index_select(0, data->validation))).numel() : 0;
  progress.message(fmt::format("{} transitions: {} to train on, {} held out (whole episodes: {}); {} not allowed by their "
                               "masks (left out of the likelihood); read in {:.1f} s",
                               data->transitions(), data->train.numel(), data->validation.numel(), held_out_episodes,
                               data->disallowed,
                               std::chrono::duration<double>(std::chrono::steady_clock::now() - t_load).count()));
  if (data->intended > 0)
    progress.message(fmt::format("{} transitions where the recording's action noise ran another row than its policy chose: "
                                 "the policy learns the chosen one (infos/intended_actions){}",
                                 data->intended, config.offline.algo == "iql" ? ", the critic the one that ran" : ""));
  if (config.eval.every > 0)
    for (const auto& [task, env] : data->eval_tasks())
      if (!env)
        throw std::runtime_error(fmt::format("eval.every = {}: the {} datasets are not simulator recordings, so there is "
                                             "nothing to evaluate in; set eval.every = 0",
                                             config.eval.every, task));

  OfflineTrainer trainer(config, data);
  if (resume) {
    const auto ckpt = dir / "checkpoints" / "latest.pt";
    if (!std::filesystem::is_regular_file(ckpt))
      throw std::runtime_error(fmt::format("--resume {}: no checkpoints/latest.pt to continue from", dir.string()));
    trainer.load_checkpoint(ckpt);
    truncate_metrics(dir / "metrics.csv", trainer.epoch_count());
    truncate_metrics(dir / "eval.csv", trainer.epoch_count());
    progress.message(fmt::format("resuming {} at epoch {} of {}", dir.string(), trainer.epoch_count(), config.offline.epochs));
  }
  std::filesystem::create_directories(dir);
  write_atomically(dir / "config.toml", [&](const std::string& tmp) { std::ofstream(tmp) << to_toml(config); });
  const bool fresh_metrics = !std::filesystem::exists(dir / "metrics.csv");
  std::ofstream metrics(dir / "metrics.csv", std::ios::app);
  if (fresh_metrics) metrics << kColumns << "\n" << std::flush;

  const SigintScope sigint(options.handle_sigint);
  const std::atomic<bool>* stop = options.handle_sigint ? &SigintScope::flag() : options.stop;

  OfflineRunSummary summary;
  summary.run_dir = dir;
  summary.transitions = data->transitions();
  summary.train_transitions = data->train.numel();
  summary.validation_transitions = data->validation.numel();
  const auto t0 = std::chrono::steady_clock::now();
  const auto save = [&] {
    save_checkpoint_files(dir, "epoch", trainer.epoch_count(), config.run.keep_checkpoints,
                          [&](const std::filesystem::path& latest) { trainer.save_checkpoint(latest); });
  };
  const auto evaluate = [&] {
    LearnedPolicy policy(trainer.shared_policy(), "learned", trainer.device());
    const EvalReport r = evaluate_into_csv(policy, data->eval_tasks(), config.eval, config.run.threads, trainer.epoch_count(), 0,
                                           dir / "eval.csv", "epoch");
    summary.eval_line = r.line;
    if (keep_if_best(dir, trainer.epoch_count(), r.return_sum, [&](const std::filesystem::path& p) { trainer.save_checkpoint(p); }))
      summary.eval_line += " (best so far: checkpoints/best.pt)";
    progress.message(summary.eval_line);
  };
  const std::int64_t first_epoch = trainer.epoch_count();  // > 0 when resumed: the ETA counts this session's epochs
  bool saved = false;
  while (!trainer.done()) {
    if ((stop && stop->load()) || (options.stop && options.stop->load())) {
      summary.interrupted = true;
      break;
    }
    const OfflineEpochMetrics m = trainer.epoch(stop);
    if (stop && stop->load() && m.epoch == 0) {
      summary.interrupted = true;
      break;
    }
    const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    metrics << metric_row(m, wall) << "\n" << std::flush;
    saved = false;
    if (config.run.checkpoint_every > 0 && m.epoch % config.run.checkpoint_every == 0) {
      save();
      saved = true;
    }
    if (config.eval.every > 0 && m.epoch % config.eval.every == 0) evaluate();
    summary.nll = m.nll;
    summary.val_nll = m.val_nll;
    summary.val_agreement = m.val_agreement;
    const double per_epoch = wall / static_cast<double>(m.epoch - first_epoch);
    std::string line = fmt::format("epoch {}/{} | {} samples | {} samples/s | nll {:.4f}", m.epoch, config.offline.epochs,
                                   format_count(static_cast<double>(m.samples)), format_count(m.samples_per_second), m.nll);
    if (config.offline.algo == "iql")
      line += fmt::format(" | q {:.3f} | v {:.3f} | w {:.2f}", m.q_mean, m.v_mean, m.weight_mean);
    if (!std::isnan(m.val_nll))
      line += fmt::format(" | val nll {:.4f} | val agree {}", m.val_nll, percent(m.val_agreement));
    line += fmt::format(" | ETA {}", format_duration(per_epoch * static_cast<double>(config.offline.epochs - m.epoch)));
    progress.show(line);
  }
  progress.finish();
  if (summary.interrupted) progress.message("interrupted: saving a checkpoint of the last finished epoch");
  // An interrupted epoch has moved the weights part of the way: the checkpoint holds them, with
  // the counters of the last finished epoch.
  if (!saved) save();
  if (!summary.interrupted && config.eval.every > 0 && trainer.epoch_count() % config.eval.every != 0) evaluate();
  summary.epochs = trainer.epoch_count();
  summary.steps = trainer.step_count();
  summary.wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return summary;
}

}  // namespace opsrl::train
