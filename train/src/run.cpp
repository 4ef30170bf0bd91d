// The run loop around Trainer: run directory, metrics, progress, checkpoints, evaluation, Ctrl-C.
#include <opsrl/train/run.hpp>

#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cmath>
#include <ctime>
#include <fstream>
#include <limits>
#include <regex>
#include <sstream>

#include <fmt/format.h>

#include <opsrl/agents/evaluate.hpp>
#include <opsrl/train/learned_policy.hpp>
#include <opsrl/train/trainer.hpp>

namespace opsrl::train {

namespace {

std::atomic<bool> g_sigint{false};

extern "C" void on_sigint(int) {
  g_sigint.store(true);
  std::signal(SIGINT, SIG_DFL);  // a second Ctrl-C ends the process
}

}  // namespace

SigintScope::SigintScope(bool on) : on_(on) {
  if (!on_) return;
  g_sigint.store(false);
  previous_ = std::signal(SIGINT, on_sigint);
}

SigintScope::~SigintScope() {
  if (on_) std::signal(SIGINT, previous_);
}

const std::atomic<bool>& SigintScope::flag() { return g_sigint; }

namespace {

std::string num(double v, int precision = 6) {
  if (std::isnan(v)) return "";
  return fmt::format("{:.{}g}", v, precision);
}

std::vector<std::string> metric_columns(const std::vector<std::string>& tasks) {
  std::vector<std::string> cols{"update", "global_step", "sps", "collect_s", "learn_s", "wall_s"};
  for (const auto& t : tasks)
    for (const char* what : {"episodes", "return", "length", "reward_scale"}) cols.push_back(fmt::format("{}_{}", what, t));
  for (const char* c : {"policy_loss", "value_loss", "entropy", "approx_kl", "old_approx_kl", "clip_fraction",
                        "explained_variance", "aux_loss", "diag_accuracy", "teacher_weight", "teacher_loss",
                        "learning_rate", "epochs"})
    cols.emplace_back(c);
  return cols;
}

std::string metric_row(const UpdateMetrics& m, double wall) {
  std::vector<std::string> v{fmt::format("{}", m.update), fmt::format("{}", m.global_step), num(m.sps), num(m.collect_seconds),
                             num(m.learn_seconds), num(wall)};
  for (const TaskMetrics& t : m.tasks) {
    v.push_back(fmt::format("{}", t.episodes));
    v.push_back(num(t.mean_return));
    v.push_back(num(t.mean_length));
    v.push_back(num(t.reward_scale));
  }
  for (double x : {m.policy_loss, m.value_loss, m.entropy, m.approx_kl, m.old_approx_kl, m.clip_fraction,
                   m.explained_variance, m.aux_loss, m.diag_accuracy, m.teacher_weight, m.teacher_loss, m.learning_rate})
    v.push_back(num(x));
  v.push_back(fmt::format("{}", m.epochs));
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ",") + s;
  return out;
}


}  // namespace

std::string format_count(double v) {
  if (v >= 1e6) return fmt::format("{:.2f}M", v / 1e6);
  if (v >= 1e3) return fmt::format("{:.1f}k", v / 1e3);
  return fmt::format("{:.0f}", v);
}

std::string format_duration(double s) {
  if (!std::isfinite(s) || s < 0) return "?";
  const auto t = static_cast<long>(s + 0.5);
  return t >= 3600 ? fmt::format("{}:{:02}:{:02}", t / 3600, t / 60 % 60, t % 60) : fmt::format("{}:{:02}", t / 60, t % 60);
}

void truncate_metrics(const std::filesystem::path& path, std::int64_t update) {
  if (!std::filesystem::exists(path)) return;
  std::ifstream in(path);
  std::string line, kept;
  bool header = true;
  while (std::getline(in, line)) {
    if (header) {
      kept += line + "\n";
      header = false;
      continue;
    }
    const auto comma = line.find(',');
    if (comma == std::string::npos) continue;
    if (std::stoll(line.substr(0, comma)) <= update) kept += line + "\n";
  }
  in.close();
  write_atomically(path, [&](const std::string& tmp) { std::ofstream(tmp) << kept; });
}

ProgressLine::ProgressLine(const std::string& mode) : on_(mode != "off"), tty_(mode == "auto" && ::isatty(STDERR_FILENO)) {}

void ProgressLine::show(const std::string& line) {
  if (!on_) return;
  if (tty_) fmt::print(stderr, "\r{}\033[K", line);
  else fmt::print(stderr, "{}\n", line);
  std::fflush(stderr);
}

void ProgressLine::message(const std::string& text) {
  if (tty_) fmt::print(stderr, "\r\033[K");
  fmt::print(stderr, "{}\n", text);
  std::fflush(stderr);
}

void ProgressLine::finish() {
  if (on_ && tty_) fmt::print(stderr, "\n");
}

void save_checkpoint_files(const std::filesystem::path& dir, const std::string& stem, std::int64_t number, int keep,
                           const std::function<void(const std::filesystem::path&)>& write_latest) {
  const auto ckpt = dir / "checkpoints";
  std::filesystem::create_directories(ckpt);
  const auto latest = ckpt / "latest.pt";
  write_latest(latest);
  const auto numbered = ckpt / fmt::format("{}_{:06}.pt", stem, number);
  std::error_code ec;
  std::filesystem::remove(numbered, ec);
  std::filesystem::create_hard_link(latest, numbered, ec);
  if (ec) std::filesystem::copy_file(latest, numbered, std::filesystem::copy_options::overwrite_existing);
  if (keep <= 0) return;
  std::vector<std::filesystem::path> numbered_files;
  const std::regex re(stem + "_[0-9]+\\.pt");
  for (const auto& e : std::filesystem::directory_iterator(ckpt))
    if (std::regex_match(e.path().filename().string(), re)) numbered_files.push_back(e.path());
  std::sort(numbered_files.begin(), numbered_files.end());
  for (std::size_t k = 0; k + static_cast<std::size_t>(keep) < numbered_files.size(); ++k)
    std::filesystem::remove(numbered_files[k], ec);
}

EvalReport evaluate_into_csv(agents::Policy& policy, const std::vector<std::pair<std::string, envs::EnvConfigPtr>>& tasks,
                              const EvalSection& eval, int env_threads, std::int64_t update, std::int64_t global_step,
                              const std::filesystem::path& csv, const std::string& unit) {
  const bool fresh = !std::filesystem::exists(csv);
  std::ofstream out(csv, std::ios::app);
  if (fresh) out << "update,global_step,task,figure,value,ci95,n\n";
  EvalReport report;
  report.line = fmt::format("eval @ {} {}:", unit, update);
  for (const auto& [task, env_config] : tasks) {
    agents::EvalOptions o;
    o.task = task;
    o.episodes = eval.episodes;
    o.seed = static_cast<std::uint64_t>(eval.seed);
    o.config = env_config;
    o.num_threads = env_threads;
    const agents::EvalResult r = agents::evaluate(policy, o);
    for (const agents::Figure& f : agents::figures(r.summary))
      out << fmt::format("{},{},{},{},{},{},{}\n", update, global_step, task, f.key, num(f.value), num(f.ci95), f.n);
    report.line += fmt::format(" {} return {:.2f}", task, r.summary.return_.mean);
    report.return_sum += r.summary.return_.mean;
    if (task == "incident")
      report.line += fmt::format(" (diagnosed {:.0f}%, resolved {:.0f}%)", 100 * r.summary.rca.value(),
                                 100 * r.summary.mitigation.value());
  }
  return report;
}

std::filesystem::path default_run_dir(const std::string& prefix) {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  localtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "-%Y%m%d-%H%M%S", &tm);
  return std::filesystem::path("runs") / (prefix + buf);
}

bool keep_if_best(const std::filesystem::path& dir, std::int64_t number, double score,
                  const std::function<void(const std::filesystem::path&)>& write_best) {
  double best = -std::numeric_limits<double>::infinity();
  {
    std::ifstream in(dir / "checkpoints" / "best.txt");
    std::int64_t n = 0;
    double x = 0;
    if (in >> n >> x) best = x;
  }
  if (!(score > best)) return false;
  std::filesystem::create_directories(dir / "checkpoints");
  write_best(dir / "checkpoints" / "best.pt");
  write_atomically(dir / "checkpoints" / "best.txt", [&](const std::string& tmp) { std::ofstream(tmp) << fmt::format("{} {}\n", number, score); });
  return true;
}

namespace {

void save(Trainer& trainer, const std::filesystem::path& dir, int keep) {
  save_checkpoint_files(dir, "update", trainer.update_count(), keep,
                        [&](const std::filesystem::path& latest) { trainer.save_checkpoint(latest); });
}

// Evaluates on the validation seeds (eval.seed), appends to eval.csv, and keeps the checkpoint
// with the highest sum of the tasks' mean returns as checkpoints/best.pt.
void evaluate_now(Trainer& trainer, const std::filesystem::path& dir, ProgressLine& progress) {
  LearnedPolicy policy(std::shared_ptr<ActorCritic>(&trainer.policy(), [](ActorCritic*) {}), "learned", trainer.device());
  const auto env_config = make_env_config(trainer.config());
  std::vector<std::pair<std::string, envs::EnvConfigPtr>> tasks;
  for (const std::string& task : trainer.task_names()) tasks.emplace_back(task, env_config);
  const EvalReport r = evaluate_into_csv(policy, tasks, trainer.config().eval, trainer.config().env.threads,
                                         trainer.update_count(), trainer.global_step(), dir / "eval.csv");
  std::string line = r.line;
  if (keep_if_best(dir, trainer.update_count(), r.return_sum, [&](const std::filesystem::path& p) { trainer.save_checkpoint(p); }))
    line += " (best so far: checkpoints/best.pt)";
  progress.message(line);
}

}  // namespace

RunSummary run_training(const RunOptions& options) {
  TrainConfig config = options.config;
  std::filesystem::path dir = options.run_dir;
  const bool resume = !options.resume.empty();
  if (resume) {
    dir = options.resume;
    const auto cfg = dir / "config.toml";
    if (!std::filesystem::is_regular_file(cfg))
      throw std::runtime_error(fmt::format("--resume {}: no config.toml there; is it a run directory?", dir.string()));
    config = load_config_file(cfg);
    if (options.total_steps) config.run.total_steps = *options.total_steps;
    if (options.threads) config.run.threads = config.env.threads = *options.threads;
    if (options.device) config.run.device = *options.device;
  } else {
    if (dir.empty()) dir = default_run_dir();
    if (std::filesystem::exists(dir / "config.toml"))
      throw std::runtime_error(fmt::format("run directory {} already holds a run; use --resume {} to continue it, or "
                                           "another --run-dir",
                                           dir.string(), dir.string()));
  }
  config.validate();
  std::filesystem::create_directories(dir);

  SigintScope sigint(options.handle_sigint);
  // The trainer polls one flag during collection: SIGINT's, or the caller's when SIGINT is not
  // handled; the loop below polls both between updates.
  TrainerOptions to = options.trainer ? *options.trainer : TrainerOptions{};
  to.stop = options.handle_sigint ? &SigintScope::flag() : options.stop;
  auto stopped = [&] { return (to.stop && to.stop->load()) || (options.stop && options.stop->load()); };

  ProgressLine progress(config.log.progress);
  Trainer trainer(config, to);
  if (resume) {
    const auto ckpt = resolve_checkpoint(dir);
    trainer.load_checkpoint(ckpt);
    truncate_metrics(dir / "metrics.csv", trainer.update_count());
    truncate_metrics(dir / "eval.csv", trainer.update_count());
    progress.message(fmt::format("resuming {} at update {} ({} steps)", dir.string(), trainer.update_count(),
                                 trainer.global_step()));
  } else if (!options.init_from.empty()) {
    trainer.init_from(options.init_from);
  }
  write_atomically(dir / "config.toml", [&](const std::string& tmp) { std::ofstream(tmp) << to_toml(trainer.config()); });

  const auto metrics_path = dir / "metrics.csv";
  const bool fresh_metrics = !std::filesystem::exists(metrics_path);
  std::ofstream metrics(metrics_path, std::ios::app);
  if (fresh_metrics) {
    std::string header;
    for (const auto& c : metric_columns(trainer.task_names())) header += (header.empty() ? "" : ",") + c;
    metrics << header << "\n" << std::flush;
  }

  RunSummary summary;
  summary.run_dir = dir;
  summary.tasks = trainer.task_names();
  const auto t0 = std::chrono::steady_clock::now();
  const std::int64_t step0 = trainer.global_step();
  const TrainConfig& c = trainer.config();
  bool saved_at_update = false;
  const std::int64_t update0 = trainer.update_count();
  while (!trainer.done()) {
    const bool enough = options.stop_after_updates && trainer.update_count() - update0 >= *options.stop_after_updates;
    if (enough || stopped() || !trainer.collect()) {
      summary.interrupted = true;
      break;
    }
    const UpdateMetrics m = trainer.learn();
    saved_at_update = false;
    metrics << metric_row(m, trainer.elapsed_seconds()) << "\n" << std::flush;
    if (c.run.checkpoint_every > 0 && m.update % c.run.checkpoint_every == 0) {
      save(trainer, dir, c.run.keep_checkpoints);
      saved_at_update = true;
    }
    if (c.eval.every > 0 && m.update % c.eval.every == 0) evaluate_now(trainer, dir, progress);

    const double session = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const double rate = static_cast<double>(trainer.global_step() - step0) / std::max(1e-9, session);
    std::string line = fmt::format("update {}/{} | {}/{} steps | {} SPS", m.update, trainer.num_updates(),
                                   format_count(static_cast<double>(m.global_step)),
                                   format_count(static_cast<double>(c.run.total_steps)), format_count(m.sps));
    const auto recent = trainer.recent_mean_returns();
    for (std::size_t k = 0; k < recent.size(); ++k)
      line += fmt::format(" | {} {}", trainer.task_names()[k], std::isnan(recent[k]) ? "-" : fmt::format("{:.2f}", recent[k]));
    const auto left = std::max<std::int64_t>(0, c.run.total_steps - trainer.global_step());
    line += fmt::format(" | kl {:.4f} | ETA {}", m.approx_kl, format_duration(static_cast<double>(left) / rate));
    progress.show(line);
  }
  progress.finish();
  if (summary.interrupted) progress.message("interrupted: saving a checkpoint of the last update boundary");
  if (!saved_at_update) save(trainer, dir, c.run.keep_checkpoints);
  if (!summary.interrupted && c.eval.every > 0 && trainer.update_count() % c.eval.every != 0)
    evaluate_now(trainer, dir, progress);
  summary.updates = trainer.update_count();
  summary.global_step = trainer.global_step();
  summary.wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  summary.recent_returns = trainer.recent_mean_returns();
  return summary;
}

}  // namespace opsrl::train
