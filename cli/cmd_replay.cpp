// `opsrl replay`: a policy against a dataset. Open loop (default): its claims and actions on the
// recorded observations, per episode and in aggregate. Closed loop (--closed-loop, simulator
// recordings): re-simulate each episode with it; the recording's own policy must reproduce the
// file bit for bit, another gives the counterfactual beside the recorded outcome.
#include <cmath>
#include <memory>

#include <unistd.h>

#include <fmt/format.h>

#include <opsrl/agents/policy.hpp>
#include <opsrl/datasets/reader.hpp>
#include <opsrl/datasets/replay.hpp>
#include <opsrl/sim/faults.hpp>
#include <opsrl/train/run.hpp>

#include "commands.hpp"
#include "format.hpp"

namespace opsrl::cli {

namespace {

struct ReplayArgs {
  std::string dataset;
  std::string policy;
  std::int64_t policy_seed = -1;
  bool closed_loop = false;
  int first = 0;
  int episodes = 0;
  int threads = 0;
  int envs = 0;
  bool per_episode = false;
  std::string device = "cpu";
};

std::string num(double x, int digits = 2) { return std::isnan(x) ? "--" : fmt::format("{:.{}f}", x, digits); }
std::string pct(int k, int n) { return n ? fmt::format("{:.1f}% ({}/{})", 100.0 * k / n, k, n) : "--"; }
std::string fault_name(int type) {
  return type >= 0 && type < sim::kNumFaultTypes ? std::string(sim::fault_info(static_cast<sim::FaultType>(type)).name) : "?";
}
std::string token(const std::vector<std::string>& names, int t) {
  return t >= 0 && t < static_cast<int>(names.size()) ? names[static_cast<std::size_t>(t)] : fmt::format("token {}", t);
}

void open_loop(const datasets::Reader& reader, datasets::PolicyHooks& hooks, const datasets::ReplayOptions& o,
               const ReplayArgs& a) {
  const datasets::OpenLoopResult res = datasets::replay_open_loop(reader, hooks, o);
  const std::vector<std::string> names = datasets::token_names(reader);
  const bool imported = !res.resimulated;
  fmt::print("open-loop replay of {}: {} {} episodes ({}), policy {}\n", a.dataset, res.episodes.size(), reader.spec().task,
             imported ? fmt::format("imported from {}: the policy reads the recorded observations", reader.header().source)
                      : "re-simulated with the recorded remediations and the policy's own claims",
             hooks.name);
  if (imported)
    fmt::print("note: rule baselines (threshold, hpa, oracle) read the simulator's telemetry, not the observations; on "
               "imported data they see an idle stand-in cluster. Use a checkpoint (or random/noop as a floor).\n");
  fmt::print("\n");
  if (a.per_episode || imported) {
    Table t({"episode", "fault (source)", "truth", "claim", "type", "root", "after onset (min)", "agreement"});
    for (const datasets::OpenLoopEpisode& e : res.episodes) {
      std::string source, truth;
      for (const datasets::FaultRow& f : e.faults) {
        if (!source.empty()) source += "; ", truth += "; ";
        source += f.source_type.empty() ? "-" : f.source_type + " " + f.source_root;
        truth += fault_name(f.type) + " " + token(names, f.root_token);
      }
      if (e.faults.empty()) source = truth = "(no fault)";
      const std::string claim = e.claimed ? fault_name(e.claimed_type) + " " + token(names, e.claimed_token) : "-";
      t.add({std::to_string(e.episode), imported ? source : "-", truth, claim, e.claimed ? (e.type_correct ? "yes" : "no") : "-",
             e.claimed ? (e.root_correct ? "yes" : "no") : "-",
             e.claimed && !std::isnan(e.claim_after_onset_s) ? num(e.claim_after_onset_s / 60, 1) : "--",
             pct(e.rows_matched, e.steps)});
    }
    fmt::print("{}\n", t.str());
  }
  const datasets::OpenLoopSummary s = datasets::summarize(res);
  Table t({"figure", hooks.name});
  t.add({"episodes (with faults)", fmt::format("{} ({})", s.episodes, s.fault_episodes)});
  t.add({"claimed a diagnosis", pct(s.claimed, s.fault_episodes)});
  t.add({"right fault type (RCA)", pct(s.type_correct, s.fault_episodes)});
  t.add({"right root entity (localization)", pct(s.root_correct, s.fault_episodes)});
  t.add({"both right (diagnosed)", pct(s.diagnosed, s.fault_episodes)});
  t.add({"time to diagnose (min)", num(s.time_to_diagnose_min)});
  t.add({"claim after onset (min)", num(s.claim_after_onset_min)});
  t.add({"claims without a fault", std::to_string(s.false_claims)});
  if (!imported) {
    t.add({"action rows = recorded", pct(static_cast<int>(s.rows_matched), static_cast<int>(s.steps))});
    t.add({"remediations = recorded", pct(static_cast<int>(s.remediations_matched), static_cast<int>(s.steps))});
    t.add({"observations diverged (steps)", std::to_string(s.observations_diverged)});
  }
  fmt::print("{}", t.str());
  if (s.observations_diverged > 0)
    throw std::runtime_error(fmt::format("{} steps of the re-simulation did not reproduce the recorded observations "
                                         "(another build or scenario file than the recording's?)",
                                         s.observations_diverged));
}

void closed_loop(const datasets::Reader& reader, datasets::PolicyHooks& hooks, const datasets::ReplayOptions& o,
                 const ReplayArgs& a, std::uint64_t policy_seed) {
  const datasets::ClosedLoopResult res = datasets::replay_closed_loop(reader, hooks, o);
  const datasets::DatasetHeader& h = reader.header();
  const bool same = hooks.name == h.policy && policy_seed == h.policy_seed;
  fmt::print("closed-loop replay of {}: {} {} episodes recorded by {} (seed {}), re-simulated with {} (seed {})\n\n",
             a.dataset, res.episodes.size(), reader.spec().task, h.policy, h.policy_seed, hooks.name, policy_seed);
  if (a.per_episode) {
    Table t({"episode", "seed", "MTTR rec", "MTTR new", "SLO min rec", "SLO min new", "cost rec", "cost new", "return rec",
             "return new", "first difference"});
    for (const datasets::ClosedLoopEpisode& e : res.episodes)
      t.add({std::to_string(e.episode), std::to_string(e.seed), num(e.recorded.mttr_min, 1), num(e.replayed.mttr_min, 1),
             num(e.recorded.slo_violation_min, 1), num(e.replayed.slo_violation_min, 1), num(e.recorded.cost_usd),
             num(e.replayed.cost_usd), num(e.recorded.return_), num(e.replayed.return_),
             e.difference.empty() ? "(identical)" : e.difference});
    fmt::print("{}\n", t.str());
  }
  const datasets::OutcomeSummary rec = datasets::summarize_outcomes(res, false);
  const datasets::OutcomeSummary now = datasets::summarize_outcomes(res, true);
  Table t({"figure", fmt::format("recorded ({})", h.policy), fmt::format("replayed ({})", hooks.name)});
  auto rate = [](double x) { return std::isnan(x) ? std::string("--") : fmt::format("{:.1f}%", 100 * x); };
  t.add({"episodes (with faults)", fmt::format("{} ({})", rec.episodes, rec.fault_episodes),
         fmt::format("{} ({})", now.episodes, now.fault_episodes)});
  t.add({"return (mean)", num(rec.return_), num(now.return_)});
  t.add({"resolved (fault episodes)", rate(rec.resolved_rate), rate(now.resolved_rate)});
  t.add({"diagnosed (fault episodes)", rate(rec.diagnosed_rate), rate(now.diagnosed_rate)});
  t.add({"MTTR, unresolved at limit (min)", num(rec.mttr_min), num(now.mttr_min)});
  t.add({"SLO violation (min/episode)", num(rec.slo_violation_min), num(now.slo_violation_min)});
  t.add({"cost (USD/episode)", num(rec.cost_usd), num(now.cost_usd)});
  t.add({"steps/episode", num(rec.steps, 1), num(now.steps, 1)});
  fmt::print("{}", t.str());
  const int identical = res.identical();
  fmt::print("\nidentical to the recording, every array bit for bit: {}/{} episodes\n", identical, res.episodes.size());
  if (same && identical != static_cast<int>(res.episodes.size())) {
    for (const datasets::ClosedLoopEpisode& e : res.episodes)
      if (!e.difference.empty())
        throw std::runtime_error(fmt::format("the recording's own policy did not reproduce episode {} (seed {}): first "
                                             "difference in {}",
                                             e.episode, e.seed, e.difference));
  }
}

void run(const ReplayArgs& a) {
  const datasets::Reader reader(a.dataset);
  const datasets::DatasetHeader& h = reader.header();
  const std::string name = a.policy.empty() ? h.policy : a.policy;
  if (name.empty())
    throw std::runtime_error(fmt::format("--policy is required: {} records no policy (it was imported from {})", a.dataset, h.source));
  const std::uint64_t seed = a.policy_seed >= 0 ? static_cast<std::uint64_t>(a.policy_seed) : h.policy_seed;
  std::unique_ptr<agents::Policy> policy;
  try {
    policy = agents::make_policy(name, agents::PolicyOptions{}.with_seed(seed).with_device(a.device));
  } catch (const std::invalid_argument& e) {
    throw std::runtime_error(fmt::format("--policy: {}", e.what()));
  }
  if (const std::string why = policy->unsupported_reason(reader.spec().task_id); !why.empty())
    throw std::runtime_error(fmt::format("--policy {} cannot act on {} episodes: {}", name, reader.spec().task, why));
  datasets::PolicyHooks hooks = datasets::policy_hooks(*policy);
  hooks.name = name;
  datasets::ReplayOptions o;
  o.first = a.first;
  o.count = a.episodes;
  o.num_envs = a.envs;
  o.num_threads = a.threads;
  const bool tty = isatty(fileno(stderr)) != 0;
  if (tty) o.progress = [&](int done, int total) { fmt::print(stderr, "\rreplay {}: {}/{} episodes", name, done, total); };
  try {
    if (a.closed_loop) closed_loop(reader, hooks, o, a, seed);
    else open_loop(reader, hooks, o, a);
  } catch (const std::invalid_argument& e) {
    throw std::runtime_error(e.what());
  }
  if (tty) fmt::print(stderr, "\n");
}

}  // namespace

void add_replay(CLI::App& app) {
  train::register_checkpoint_loader();
  auto args = std::make_shared<ReplayArgs>();
  auto* cmd = app.add_subcommand("replay", "Replay a dataset against a policy: open loop (diagnosis, agreement) or closed loop");
  cmd->footer(
      "Examples:\n"
      "  opsrl replay --dataset oracle.h5 --policy threshold              claims and agreement on the recorded states\n"
      "  opsrl replay --dataset oracle.h5 --policy oracle --closed-loop   must reproduce the file bit for bit\n"
      "  opsrl replay --dataset oracle.h5 --policy noop --closed-loop     the counterfactual outcome\n"
      "  opsrl replay --dataset nezha.h5 --policy runs/default/checkpoints/latest.pt");
  cmd->add_option("--dataset", args->dataset, "The .h5 dataset")->required();
  cmd->add_option("--policy", args->policy, "A policy name or a checkpoint (default: the recording's policy)");
  cmd->add_option("--policy-seed", args->policy_seed, "The policy's seed (default: the recording's)");
  cmd->add_flag("--closed-loop", args->closed_loop, "Re-simulate each episode with the policy acting (simulator recordings)");
  cmd->add_option("--first", args->first, "First episode replayed")->capture_default_str();
  cmd->add_option("--episodes", args->episodes, "Episodes replayed (0: to the end)")->capture_default_str();
  cmd->add_option("--threads", args->threads, "Threads (0: every core); the results do not depend on it")->capture_default_str();
  cmd->add_option("--envs", args->envs, "Episodes replayed together (0: min(episodes, 4 x threads, 32)); the results do not depend on it")
      ->capture_default_str();
  cmd->add_flag("--per-episode", args->per_episode, "Also print one row per episode");
  cmd->add_option("--device", args->device, "Where a checkpoint policy runs: cpu, cuda, cuda:N")->capture_default_str();
  cmd->callback([args] { run(*args); });
}

}  // namespace opsrl::cli
