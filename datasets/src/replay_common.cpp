#include "replay_common.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include <opsrl/datasets/format.hpp>
#include <opsrl/datasets/spec_json.hpp>
#include <opsrl/sim/scenario.hpp>

namespace opsrl::datasets {

envs::EnvConfigPtr recorded_config(const Reader& reader) {
  const std::string file = reader.path().string();
  const DatasetHeader& h = reader.header();
  sim::ScenarioPtr scenario;
  try {
    scenario = sim::parse_scenario(h.scenario_toml, fmt::format("{}:/@scenario_toml", file));
  } catch (const std::exception& e) {
    throw DatasetError(file, "/@scenario_toml", e.what(), "a scenario's TOML text (docs/scenarios.md)");
  }
  if (h.env_config_json.empty())
    throw DatasetError(file, "/@env_config", "empty: the dataset does not say how its envs were configured",
                       "the env config as JSON");
  try {
    return config_from_json(h.env_config_json, scenario);
  } catch (const std::exception& e) {
    throw DatasetError(file, "/@env_config", e.what(), "the env config as JSON (docs/datasets.md)");
  }
}

std::vector<std::string> token_names(const Reader& reader) {
  const envs::EnvSpec& spec = reader.spec();
  std::vector<std::string> names(static_cast<std::size_t>(spec.max_tokens), "padding");
  sim::ScenarioPtr sc;
  try {
    sc = sim::parse_scenario(reader.header().scenario_toml, "scenario_toml");
  } catch (const std::exception&) {
  }
  names[0] = "global";
  for (int n = 0; n < spec.num_nodes; ++n)
    names[static_cast<std::size_t>(1 + n)] =
        "node:" + (sc && n < static_cast<int>(sc->nodes.size()) ? sc->nodes[static_cast<std::size_t>(n)].name : std::to_string(n));
  for (int v = 0; v < spec.num_services; ++v)
    names[static_cast<std::size_t>(1 + spec.num_nodes + v)] =
        "service:" + (sc && v < static_cast<int>(sc->services.size()) ? sc->services[static_cast<std::size_t>(v)].name : std::to_string(v));
  int slot = 0;
  for (std::size_t v = 0; sc && v < sc->services.size(); ++v)
    for (int k = 0; k < sc->services[v].max_replicas && slot < spec.num_replica_slots; ++k, ++slot)
      names[static_cast<std::size_t>(1 + spec.num_nodes + spec.num_services + slot)] =
          fmt::format("replica:{}#{}", sc->services[v].name, k);
  for (; slot < spec.num_replica_slots; ++slot)
    names[static_cast<std::size_t>(1 + spec.num_nodes + spec.num_services + slot)] = fmt::format("replica:{}", slot);
  return names;
}

Outcome Outcome::of(const EpisodeMeta& m, int steps, bool has_faults) {
  Outcome o;
  o.return_ = m.return_;
  o.steps = steps;
  o.resolved = m.resolved;
  o.diagnosed = m.root_correct && m.type_correct && m.time_to_diagnose_s >= 0;
  o.slo_violation_min = m.slo_violation_minutes;
  o.cost_usd = m.cost_usd;
  if (has_faults)
    o.mttr_min = (m.resolved ? m.time_to_recover_s : std::max(0.0, m.elapsed_s - m.first_onset_s)) / 60.0;
  return o;
}

int ClosedLoopResult::identical() const {
  return static_cast<int>(std::count_if(episodes.begin(), episodes.end(), [](const auto& e) { return e.difference.empty(); }));
}

namespace {
// Running mean that stays NaN without samples.
struct Mean {
  double sum = 0;
  int n = 0;
  void add(double x) {
    sum += x;
    ++n;
  }
  double value() const { return n ? sum / n : kNaN; }
};
}  // namespace

OpenLoopSummary summarize(const OpenLoopResult& result) {
  OpenLoopSummary s;
  Mean ttd, after;
  for (const OpenLoopEpisode& e : result.episodes) {
    ++s.episodes;
    s.steps += e.steps;
    s.rows_matched += e.rows_matched;
    s.remediations_matched += e.remediations_matched;
    if (e.observations_diverged >= 0) s.observations_diverged = std::max<std::int64_t>(s.observations_diverged, 0) + e.observations_diverged;
    if (e.faults.empty()) {
      s.false_claims += e.claimed;
      continue;
    }
    ++s.fault_episodes;
    s.claimed += e.claimed;
    s.type_correct += e.type_correct;
    s.root_correct += e.root_correct;
    s.diagnosed += e.diagnosed;
    if (e.diagnosed) ttd.add(e.time_to_diagnose_s / 60);
    if (e.claimed && !std::isnan(e.claim_after_onset_s)) after.add(e.claim_after_onset_s / 60);
  }
  s.time_to_diagnose_min = ttd.value();
  s.claim_after_onset_min = after.value();
  return s;
}

OutcomeSummary summarize_outcomes(const ClosedLoopResult& result, bool replayed) {
  OutcomeSummary s;
  Mean ret, resolved, diagnosed, mttr, slo, cost, steps;
  for (const ClosedLoopEpisode& e : result.episodes) {
    const Outcome& o = replayed ? e.replayed : e.recorded;
    ++s.episodes;
    ret.add(o.return_);
    slo.add(o.slo_violation_min);
    cost.add(o.cost_usd);
    steps.add(o.steps);
    if (std::isnan(o.mttr_min)) continue;  // no fault
    ++s.fault_episodes;
    resolved.add(o.resolved);
    diagnosed.add(o.diagnosed);
    mttr.add(o.mttr_min);
  }
  s.return_ = ret.value();
  s.resolved_rate = resolved.value();
  s.diagnosed_rate = diagnosed.value();
  s.mttr_min = mttr.value();
  s.slo_violation_min = slo.value();
  s.cost_usd = cost.value();
  s.steps = steps.value();
  return s;
}

namespace detail {

Range episode_range(const Reader& reader, const ReplayOptions& o) {
  const int n = reader.num_episodes();
  if (o.first < 0 || o.first >= n)
    throw std::invalid_argument(fmt::format("replay: first episode {} is outside the dataset's 0..{}", o.first, n - 1));
  if (o.count < 0) throw std::invalid_argument(fmt::format("replay: count must be >= 0 (0: to the end), got {}", o.count));
  if (o.num_envs < 0) throw std::invalid_argument(fmt::format("replay: num_envs must be >= 0, got {}", o.num_envs));
  if (o.num_threads < 0) throw std::invalid_argument(fmt::format("replay: num_threads must be >= 0, got {}", o.num_threads));
  return {o.first, o.count == 0 ? n - o.first : std::min(o.count, n - o.first)};
}

std::vector<Batch> batches(const std::vector<std::uint64_t>& seeds, int first, int max_size) {
  std::vector<Batch> out;
  const int n = static_cast<int>(seeds.size());
  for (int i = 0; i < n;) {
    Batch b{first + i, 1, seeds[static_cast<std::size_t>(i)]};
    while (i + b.size < n && b.size < max_size && seeds[static_cast<std::size_t>(i + b.size)] == b.seed + static_cast<std::uint64_t>(b.size))
      ++b.size;
    out.push_back(b);
    i += b.size;
  }
  return out;
}

ClaimScore score_claim(const std::vector<FaultRow>& faults, int fault_type, int token, double time_s) {
  ClaimScore s;
  for (const FaultRow& f : faults) {
    if (f.onset_s < 0 || f.onset_s > time_s) continue;
    const bool root = f.root_token == token, type = f.type == fault_type;
    s.root_correct = s.root_correct || root;
    s.type_correct = s.type_correct || type;
    s.diagnosed = s.diagnosed || (root && type);
  }
  return s;
}

}  // namespace detail
}  // namespace opsrl::datasets
