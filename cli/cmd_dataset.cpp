// `opsrl dataset check|info|import-nezha|import-prometheus`: validate a dataset file (every
// problem, with its path inside the file), summarise one, or import Nezha's recorded incidents
// or Prometheus range queries (docs/datasets.md).
#include <cmath>
#include <memory>

#include <fmt/format.h>

#include <opsrl/datasets/check.hpp>
#include <opsrl/datasets/nezha.hpp>
#include <opsrl/datasets/prometheus_import.hpp>
#include <opsrl/datasets/reader.hpp>
#include <opsrl/datasets/summary.hpp>
#include <opsrl/sim/time.hpp>

#include "commands.hpp"

namespace opsrl::cli {

namespace {

std::string megabytes(std::uint64_t bytes) { return fmt::format("{:.2f} MB", static_cast<double>(bytes) / 1e6); }

void check(const std::vector<std::string>& files) {
  int bad = 0;
  for (const std::string& file : files) {
    const datasets::CheckReport r = datasets::check_dataset(file);
    if (r.ok()) {
      fmt::print("{}: ok: {} episodes, {} steps; every key, dtype, shape and value as specified\n", file, r.episodes, r.steps);
      continue;
    }
    ++bad;
    fmt::print("{}: {} problem{}\n", file, r.problems.size(), r.problems.size() == 1 ? "" : "s");
    for (const datasets::Problem& p : r.problems) fmt::print("  {}: {}\n", p.path.empty() ? "(file)" : p.path, p.message);
  }
  if (bad) throw std::runtime_error(fmt::format("{} of {} files have problems", bad, files.size()));
}

std::string range(const datasets::Range& r, int digits) {
  if (r.n == 0) return "--";
  return fmt::format("{:.{}f} (min {:.{}f}, max {:.{}f})", r.mean, digits, r.min, digits, r.max, digits);
}

void info(const std::string& file) {
  const datasets::Reader reader(file);
  const datasets::DatasetSummary s = datasets::summarize(reader);
  const datasets::DatasetHeader& h = s.header;
  // Key-value lines (a Table would right-align the values that start with a digit).
  struct Lines {
    std::string text;
    void add(const std::vector<std::string>& kv) { text += fmt::format("{:<22}{}\n", kv[0], kv[1]); }
    const std::string& str() const { return text; }
  } t;
  fmt::print("{}\n", file);
  t.add({"format", fmt::format("opsrl-dataset version {}", h.version)});
  t.add({"source", h.source});
  t.add({"task", fmt::format("{} (T = {} tokens, F = {}, A = {}, M = {})", h.spec.task, h.spec.max_tokens, h.spec.feature_width,
                             h.spec.action_width, h.spec.mask_width)});
  t.add({"scenario", fmt::format("{} ({})", h.scenario, h.scenario_hash)});
  std::string policies;
  for (const auto& [p, n] : s.policies) policies += fmt::format("{}{} ({})", policies.empty() ? "" : ", ", p, n);
  const bool simulated = reader.simulated();
  t.add({"policy", simulated ? fmt::format("{} (seed {})", policies, h.policy_seed)
                             : fmt::format("none: imported from {} (actions are noop)", h.source)});
  if (!h.difficulty.empty()) t.add({"difficulty", h.difficulty});
  if (h.action_noise > 0)
    t.add({"action noise", fmt::format("{} (a step ran without the policy's remediation with this probability; the "
                                       "policy's rows are in infos/intended_actions)",
                                       h.action_noise)});
  t.add({"episodes", fmt::format("{} ({} with faults, {} without)", s.episodes, s.fault_episodes, s.control_episodes)});
  t.add({"steps", fmt::format("{}; per episode {}", s.steps, range(s.steps_per_episode, 1))});
  t.add({"return", range(s.returns, 2)});
  // Imports have no resolution or cost figures (docs/datasets.md): only what the data holds.
  if (simulated && h.spec.task == "incident" && s.fault_episodes > 0)
    t.add({"resolved", fmt::format("{} of {} fault episodes", s.resolved, s.fault_episodes)});
  t.add({"SLO violation (min)", range(s.slo_violation_minutes, 2)});
  if (simulated) t.add({"cost (USD)", range(s.cost_usd, 2)});
  std::string mix;
  for (const auto& [name, n] : s.fault_mix) mix += fmt::format("{}{} {}", mix.empty() ? "" : ", ", name, n);
  t.add({"fault mix", mix.empty() ? "(none)" : mix});
  if (!s.source_fault_mix.empty()) {
    std::string src;
    for (const auto& [name, n] : s.source_fault_mix) src += fmt::format("{}{} {}", src.empty() ? "" : ", ", name, n);
    t.add({fmt::format("{} labels", h.source), src});
  }
  const datasets::StorageStats& st = s.storage;
  t.add({"file size", fmt::format("{} ({:.0f} bytes/step)", megabytes(st.file_bytes),
                                  s.steps ? static_cast<double>(st.file_bytes) / static_cast<double>(s.steps) : 0.0)});
  t.add({"raw size", fmt::format("{} in {} arrays ({:.1f}x compression)", megabytes(st.raw_bytes), st.datasets,
                                 st.file_bytes ? static_cast<double>(st.raw_bytes) / static_cast<double>(st.file_bytes) : 0.0)});
  if (!h.command.empty()) t.add({"made by", h.command});
  fmt::print("{}", t.str());
  if (!h.notes.empty()) fmt::print("\nnotes:\n{}", h.notes);
}

struct ImportArgs {
  std::string dir;
  std::string out;
  std::string before = "2m";
  std::string after = "10m";
  int history = 4;
};

void import_nezha(const ImportArgs& a) {
  datasets::NezhaOptions o;
  o.dir = a.dir;
  try {
    o.before = sim::parse_duration(a.before);
    o.after = sim::parse_duration(a.after);
  } catch (const std::exception& e) {
    throw std::runtime_error(fmt::format("--before/--after: {}", e.what()));
  }
  o.history = a.history;
  const std::string command = fmt::format("opsrl dataset import-nezha --dir {} --out {} --before {} --after {}", a.dir, a.out,
                                          a.before, a.after);
  datasets::ImportReport r;
  try {
    r = datasets::import_nezha(o, a.out, command);
  } catch (const std::invalid_argument& e) {
    throw std::runtime_error(e.what());
  }
  for (const std::string& n : r.notes) fmt::print("  {}\n", n);
  fmt::print("wrote {}: {} episodes ({} faults), {} steps, T = {} tokens\n", a.out, r.episodes, r.faults, r.steps, r.tokens);
}

struct PrometheusArgs {
  std::vector<std::string> query_range;
  std::string labels;
  std::string scenario = "default";
  std::string out;
  int history = 4;
};

void import_prometheus(const PrometheusArgs& a) {
  datasets::PrometheusOptions o;
  for (const std::string& f : a.query_range) o.query_range.emplace_back(f);
  o.labels = a.labels;
  o.scenario = a.scenario;
  o.history = a.history;
  std::string command = "opsrl dataset import-prometheus";
  for (const std::string& f : a.query_range) command += " --query-range " + f;
  command += fmt::format(" --labels {} --scenario {} --out {} --history {}", a.labels, a.scenario, a.out, a.history);
  datasets::PrometheusReport r;
  try {
    r = datasets::import_prometheus(o, a.out, command);
  } catch (const std::invalid_argument& e) {
    throw std::runtime_error(e.what());
  }
  for (const std::string& n : r.notes) fmt::print("  {}\n", n);
  fmt::print("wrote {}: {} episodes, {} steps, T = {} tokens (from {} series, {} samples, {} snapshots in {} files)\n", a.out,
             r.episodes, r.steps, r.tokens, r.series, r.samples, r.snapshots, r.files);
}

}  // namespace

void add_dataset(CLI::App& app) {
  auto* cmd = app.add_subcommand("dataset", "Check, summarise or import HDF5 incident datasets (docs/datasets.md)");
  cmd->require_subcommand(1);

  auto files = std::make_shared<std::vector<std::string>>();
  auto* check_cmd = cmd->add_subcommand("check", "Validate dataset files; list every problem with its path; exit 1 on problems");
  check_cmd->add_option("files", *files, "The .h5 files")->required();
  check_cmd->callback([files] { check(*files); });

  auto file = std::make_shared<std::string>();
  auto* info_cmd = cmd->add_subcommand("info", "Summarise a dataset: origin, episodes, returns, fault mix, size");
  info_cmd->add_option("file", *file, "The .h5 file")->required();
  info_cmd->callback([file] { info(*file); });

  auto args = std::make_shared<ImportArgs>();
  auto* imp = cmd->add_subcommand("import-nezha", "Import Nezha's recorded OnlineBoutique incidents as an incident dataset");
  imp->add_option("--dir", args->dir, "Nezha's directory: fault_list.json and metric/")->required();
  imp->add_option("--out", args->out, "The .h5 file to write")->required();
  imp->add_option("--before", args->before, "Window start before each injection")->capture_default_str();
  imp->add_option("--after", args->after, "Window end after each injection, at most (cut before the next)")->capture_default_str();
  imp->add_option("--history", args->history, "Scrapes (minute rows) per history window")->capture_default_str();
  imp->callback([args] { import_nezha(*args); });

  auto pargs = std::make_shared<PrometheusArgs>();
  auto* prom = cmd->add_subcommand("import-prometheus",
                                   "Import Prometheus query_range answers (JSON) and a labels file of incident windows as an "
                                   "incident dataset");
  prom->add_option("--query-range", pargs->query_range, "A /api/v1/query_range answer saved as JSON (repeatable; merged)")
      ->required();
  prom->add_option("--labels", pargs->labels, "The labels file (.toml or .json): incident windows, root causes, label names")
      ->required();
  prom->add_option("--scenario", pargs->scenario, "The scenario whose entities the series name (built-in name or .toml)")
      ->capture_default_str();
  prom->add_option("--out", pargs->out, "The .h5 file to write")->required();
  prom->add_option("--history", pargs->history, "Steps per history window")->capture_default_str();
  prom->callback([pargs] { import_prometheus(*pargs); });
}

}  // namespace opsrl::cli
