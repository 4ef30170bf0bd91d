// `opsrl eval`: run policies on evaluation episodes of a task; print one table (a column per
// policy) and optionally write the same figures as JSON.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>

#include <unistd.h>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <opsrl/agents/evaluate.hpp>
#include <opsrl/agents/policy.hpp>
#include <opsrl/envs/config.hpp>
#include <opsrl/envs/env.hpp>
#include <opsrl/sim/faults.hpp>
#include <opsrl/sim/scenario.hpp>
#include <opsrl/sim/time.hpp>

#include "commands.hpp"
#include "format.hpp"

namespace opsrl::cli {

namespace {

struct EvalArgs {
  std::vector<std::string> policies;
  std::string task = "incident";
  int episodes = 100;
  std::uint64_t seed = 0;
  std::string scenario = "default";
  std::string difficulty;
  std::string diurnal_period;
  double surges_per_hour = -1;
  int threads = 0;
  int envs = 0;
  std::string json;
  bool markdown = false;
  bool by_fault = false;
  bool list = false;
};

// NaN (no sample, e.g. no episode diagnosed): "n/a" in Markdown, "--" in the terminal table
// (which right-aligns it with the numbers).
std::string cell(const agents::Figure& f, bool markdown) {
  if (std::isnan(f.value)) return markdown ? "n/a" : "--";
  if (f.key == "episodes" || f.key == "fault_episodes" || f.key == "control_episodes") return fmt::format("{}", f.n);
  if (f.k >= 0) return fmt::format("{:.1f}%", 100 * f.value);
  if (f.key == "return") return std::isnan(f.ci95) ? fmt::format("{:.2f}", f.value) : fmt::format("{:.2f} +- {:.2f}", f.value, f.ci95);
  return fmt::format("{:.2f}", f.value);
}

std::string markdown(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows) {
  std::string out = fmt::format("| {} |\n|---|", fmt::join(header, " | "));
  for (std::size_t c = 1; c < header.size(); ++c) out += "---:|";
  out += '\n';
  for (const auto& r : rows) out += fmt::format("| {} |\n", fmt::join(r, " | "));
  return out;
}

void write_atomically(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw std::runtime_error(fmt::format("--json \"{}\": cannot write {}", path, tmp));
    out << text;
    out.flush();
    if (!out) throw std::runtime_error(fmt::format("--json \"{}\": writing {} failed", path, tmp));
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) throw std::runtime_error(fmt::format("--json \"{}\": cannot rename {} to it: {}", path, tmp, ec.message()));
}

void run(const EvalArgs& args) {
  if (args.list) {
    Table t({"policy", "description"});
    for (const agents::PolicyInfo& p : agents::registered_policies()) t.add({p.name, p.description});
    fmt::print("{}", t.str());
    return;
  }
  const std::string known = fmt::format("{}", fmt::join(agents::registered_policy_names(), ","));
  if (args.policies.empty())
    throw std::runtime_error(fmt::format("--policy is required: NAME[,NAME...], e.g. --policy {}", known));
  if (args.episodes < 1) throw std::runtime_error(fmt::format("--episodes must be a whole number >= 1, got {}", args.episodes));
  if (args.threads < 0) throw std::runtime_error(fmt::format("--threads must be >= 0 (0: every core), got {}", args.threads));
  if (args.envs < 0) throw std::runtime_error(fmt::format("--envs must be >= 0 (0: min(episodes, 32)), got {}", args.envs));
  if (args.seed >= agents::kEvalSeedOffset)
    throw std::runtime_error(fmt::format("--seed must be < 2^40 = {}, got {}", agents::kEvalSeedOffset, args.seed));

  envs::EnvConfig config;
  config.scenario = sim::load_scenario(args.scenario);
  if (!args.difficulty.empty()) {
    if (args.task != "incident")
      throw std::runtime_error(fmt::format("--difficulty {} applies to --task incident only, got --task {}", args.difficulty, args.task));
    try {
      config.incident = envs::IncidentOptions::difficulty(args.difficulty);
    } catch (const std::exception& e) {
      throw std::runtime_error(fmt::format("--difficulty: {}", e.what()));
    }
  }
  if (!args.diurnal_period.empty() || args.surges_per_hour >= 0) {
    if (args.task != "autoscale")
      throw std::runtime_error(fmt::format("--diurnal-period and --surges-per-hour apply to --task autoscale only, got --task {}", args.task));
    if (!args.diurnal_period.empty()) {
      try {
        config.autoscale.diurnal_period = sim::parse_duration(args.diurnal_period);
      } catch (const std::exception& e) {
        throw std::runtime_error(fmt::format("--diurnal-period: {}", e.what()));
      }
      if (config.autoscale.diurnal_period <= 0)
        throw std::runtime_error(fmt::format("--diurnal-period must be positive, e.g. 2h, got \"{}\"", args.diurnal_period));
    }
    config.autoscale.surges_per_hour = args.surges_per_hour;
  }
  const envs::EnvConfigPtr cfg = envs::make_config(config);
  const envs::TaskId task_id = args.task == "incident" ? envs::TaskId::kIncident : envs::TaskId::kAutoscale;

  // Build and check every policy before running any.
  std::vector<std::unique_ptr<agents::Policy>> policies;
  for (const std::string& name : args.policies) {
    try {
      policies.push_back(agents::make_policy(name, agents::PolicyOptions{}.with_seed(args.seed)));
    } catch (const std::invalid_argument& e) {
      throw std::runtime_error(fmt::format("--policy: {}", e.what()));
    }
    if (const std::string why = policies.back()->unsupported_reason(task_id); !why.empty())
      throw std::runtime_error(fmt::format("--policy {} cannot run --task {}: {}", name, args.task, why));
  }

  const bool tty = isatty(fileno(stderr)) != 0;
  std::vector<agents::EvalResult> results;
  for (auto& policy : policies) {
    agents::EvalOptions o;
    o.task = args.task;
    o.episodes = args.episodes;
    o.seed = args.seed;
    o.config = cfg;
    o.num_envs = args.envs;
    o.num_threads = args.threads;
    auto last = std::chrono::steady_clock::now();
    const std::string name(policy->name());
    if (tty)
      o.progress = [&](int done, int total) {
        const auto now = std::chrono::steady_clock::now();
        if (done < total && now - last < std::chrono::milliseconds(200)) return;
        last = now;
        fmt::print(stderr, "\reval {}: {}/{} episodes", name, done, total);
      };
    results.push_back(agents::evaluate(*policy, o));
    fmt::print(stderr, "{}eval {}: {} {} episodes in {:.1f} s\n", tty ? "\r" : "", name, args.episodes, args.task,
               results.back().wall_seconds);
  }

  std::vector<std::string> header{"figure"};
  for (const auto& r : results) header.push_back(r.policy);
  std::vector<std::vector<std::string>> rows;
  const std::vector<agents::Figure> first = agents::figures(results.front().summary);
  for (std::size_t k = 0; k < first.size(); ++k) {
    std::vector<std::string> row{first[k].label};
    for (const auto& r : results) row.push_back(cell(agents::figures(r.summary)[k], args.markdown));
    rows.push_back(std::move(row));
  }
  std::string variant = args.difficulty;
  if (!args.diurnal_period.empty()) variant += (variant.empty() ? "" : ", ") + std::string("day in ") + args.diurnal_period;
  if (args.surges_per_hour >= 0) variant += fmt::format("{}surges/h {:g}", variant.empty() ? "" : ", ", args.surges_per_hour);
  fmt::print("{} on {}{}: {} episodes, evaluation seeds 2^40 + {} + k (k = 0..{})\n\n", args.task, cfg->scenario->name,
             variant.empty() ? "" : fmt::format(" ({})", variant), args.episodes, args.seed, args.episodes - 1);
  if (args.markdown) {
    fmt::print("{}", markdown(header, rows));
  } else {
    Table t(header);
    for (auto& r : rows) t.add(r);
    fmt::print("{}", t.str());
  }

  if (args.by_fault && !agents::summarize_by_fault(args.task, results.front().episodes).empty()) {
    // Rows: the first fault's type; cells: mitigation rate and MTTR (unresolved at the limit).
    std::vector<std::string> h{"fault (episodes): resolved, MTTR min"};
    for (const auto& r : results) h.push_back(r.policy);
    std::vector<std::vector<std::string>> fault_rows;
    std::vector<std::vector<agents::FaultSummary>> per_policy;
    for (const auto& r : results) per_policy.push_back(agents::summarize_by_fault(args.task, r.episodes));
    for (std::size_t i = 0; i < per_policy.front().size(); ++i) {
      const agents::FaultSummary& group = per_policy.front()[i];
      std::vector<std::string> row{fmt::format("{} ({})", sim::fault_info(group.type).name, group.summary.episodes)};
      for (const auto& p : per_policy)
        row.push_back(fmt::format("{:.0f}%, {:.1f}", 100 * p[i].summary.mitigation.value(), p[i].summary.mttr_min.mean));
      fault_rows.push_back(std::move(row));
    }
    fmt::print("\n");
    if (args.markdown) {
      fmt::print("{}", markdown(h, fault_rows));
    } else {
      Table t(h);
      for (auto& r : fault_rows) t.add(r);
      fmt::print("{}", t.str());
    }
  }

  if (!args.json.empty()) {
    agents::EvalRun run;
    run.task = args.task;
    run.scenario = cfg->scenario->name;
    run.difficulty = args.difficulty;
    run.episodes = args.episodes;
    run.seed = args.seed;
    run.command = fmt::format("opsrl eval --policy {} --task {} --episodes {} --seed {} --scenario {}", fmt::join(args.policies, ","),
                              args.task, args.episodes, args.seed, args.scenario);
    if (!args.difficulty.empty()) run.command += " --difficulty " + args.difficulty;
    if (!args.diurnal_period.empty()) run.command += " --diurnal-period " + args.diurnal_period;
    if (args.surges_per_hour >= 0) run.command += fmt::format(" --surges-per-hour {:g}", args.surges_per_hour);
    write_atomically(args.json, agents::to_json(run, results));
  }
}

}  // namespace

void add_eval(CLI::App& app) {
  auto args = std::make_shared<EvalArgs>();
  auto* cmd = app.add_subcommand("eval", "Evaluate policies on held-out episodes of a task; print a table, optionally write JSON");
  cmd->add_option("--policy", args->policies, "Policy names (see --list) or policy files, comma-separated: NAME[,NAME...]")
      ->delimiter(',');
  cmd->add_option("--task", args->task, "incident or autoscale")
      ->check(CLI::IsMember({"incident", "autoscale"}))
      ->capture_default_str();
  cmd->add_option("--episodes", args->episodes, "Episodes per policy (the same episodes for every policy)")->capture_default_str();
  cmd->add_option("--seed", args->seed, "Evaluation seed S: episode k runs with seed 2^40 + S + k, apart from training seeds")
      ->capture_default_str();
  cmd->add_option("--scenario", args->scenario, "Built-in scenario name or a .toml file")->capture_default_str();
  cmd->add_option("--difficulty", args->difficulty, "Incident preset: easy, medium (the defaults) or hard");
  cmd->add_option("--diurnal-period", args->diurnal_period,
                  "Autoscale: squeeze the traffic's day into this period, e.g. 2h (default: the scenario's)");
  cmd->add_option("--surges-per-hour", args->surges_per_hour, "Autoscale: random traffic surges per hour (default: the scenario's)");
  cmd->add_option("--threads", args->threads, "Threads (0: every core); the figures do not depend on it")->capture_default_str();
  cmd->add_option("--envs", args->envs, "Envs stepped together (0: min(episodes, 32)); the figures do not depend on it")
      ->capture_default_str();
  cmd->add_option("--json", args->json, "Also write the figures and per-episode results to this JSON file");
  cmd->add_flag("--markdown", args->markdown, "Print the table as Markdown");
  cmd->add_flag("--by-fault", args->by_fault, "Incident: also print mitigation rate and MTTR per fault type");
  cmd->add_flag("--list", args->list, "List the registered policies and exit");
  cmd->callback([args] { run(*args); });
}

}  // namespace opsrl::cli
