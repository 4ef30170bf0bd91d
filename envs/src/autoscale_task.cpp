// Task "autoscale": varying traffic (diurnal curve, surges, noise, or a replayed trace); each
// step the agent sets a replica delta per service, and with placement on may move replicas.
// The reward trades SLO violation against replica cost. Episodes run to their length
// (truncated, never terminated). docs/environments.md is the contract in prose.
#include <algorithm>
#include <cstring>

#include <fmt/format.h>

#include <opsrl/envs/actions.hpp>
#include <opsrl/envs/env.hpp>

#include "validity.hpp"

namespace opsrl::envs {
namespace {

using sim::EntityKind;
using sim::Verb;

class AutoscaleTask final : public Env {
 public:
  explicit AutoscaleTask(EnvConfigPtr config);

 protected:
  void DoReset(sim::Rng& rng) override;
  bool DoStep(std::span<const std::int32_t> action, RewardComponents& reward) override;
  void WriteMasks(std::uint8_t* mask) override;

 private:
  autoscale::Columns cols_;
  autoscale::MaskLayout masks_;
  std::vector<sim::Action> pending_;  // this step's allowed actions (reserved: no allocation per step)
};

// The scenario with the task's traffic overrides applied (the same pointer when there are none).
sim::ScenarioPtr with_overrides(const EnvConfig& config) {
  const AutoscaleOptions& o = config.autoscale;
  if (o.diurnal_amplitude < 0 && o.diurnal_period == 0 && o.surges_per_hour < 0 && o.trace_csv.empty() &&
      o.trace_step == 0)
    return config.scenario;
  auto sc = std::make_shared<sim::Scenario>(*config.scenario);
  if (o.diurnal_amplitude >= 0) sc->traffic.diurnal_amplitude = o.diurnal_amplitude;
  if (o.diurnal_period > 0) sc->traffic.period = o.diurnal_period;
  if (o.surges_per_hour >= 0) sc->traffic.surges_per_hour = o.surges_per_hour;
  if (!o.trace_csv.empty()) sc->traffic.trace_csv = o.trace_csv;
  if (o.trace_step > 0) sc->traffic.trace_step = o.trace_step;
  return sc;
}

AutoscaleTask::AutoscaleTask(EnvConfigPtr config) : Env(std::move(config), "autoscale", TaskId::kAutoscale) {
  if (config_->autoscale.slo_per_minute >= 0) slo_per_minute_ = config_->autoscale.slo_per_minute;
  set_scenario(with_overrides(*config_));
  const int T = spec_.max_tokens;
  cols_ = autoscale::Columns{T};
  masks_ = autoscale::MaskLayout{T};
  pending_.reserve(static_cast<std::size_t>(2 * T));
  std::vector<ActionHeadSpec> heads{
      {"delta", cols_.delta(0), T, autoscale::kNumDeltas, masks_.delta(0), T, ""},
      {"move", cols_.move(0), T, autoscale::kNumMoves, masks_.move(0), T, ""},
  };
  const auto steps = static_cast<int>(config_->autoscale.episode_length / spec_.step_interval);
  finish_spec(cols_.width(), masks_.width(), std::move(heads), std::max(1, steps));
}

void AutoscaleTask::DoReset(sim::Rng& rng) {
  const AutoscaleOptions& o = config_->autoscale;
  EpisodeStats& ep = info_.episode;
  ep.control = true;
  if (o.fault_probability > 0 && rng.uniform() < o.fault_probability) {
    const sim::SimTime length = o.episode_length;
    sim::SimTime onset = episode_start() + 1 + static_cast<sim::SimTime>(rng.below(static_cast<std::uint64_t>(length)));
    if (onset % spec_.step_interval == 0) onset += 1;  // never exactly on a scrape
    sim::FaultSpec f = sim::sample_fault(cluster(), rng, onset, o.fault_types);
    mutable_cluster().inject(f);
    ep.control = false;
    ep.num_faults = 1;
    ep.first_onset_s = sim::to_seconds(onset - episode_start());
    FaultTruth& t = ep.faults[0];
    t.type = f.type;
    t.root_token = tokens_.token_of(f.root);
    t.severity = f.severity;
    t.onset_s = ep.first_onset_s;
  }
}

bool AutoscaleTask::DoStep(std::span<const std::int32_t> row, RewardComponents& reward) {
  const ActionValidity& ok = validity();
  pending_.clear();  // allowed actions, applied together so that rates are recomputed once
  // Replica deltas, service by service; other tokens must keep.
  for (int t = 0; t < spec_.max_tokens; ++t) {
    const int d = row[cols_.delta(t)];
    if (d == autoscale::kKeep) continue;
    const sim::EntityRef e = tokens_.entity_of(t);
    if (d < 0 || d >= autoscale::kNumDeltas || e.kind != EntityKind::kService) {
      reject(reward, fmt::format("delta {} at token {}: only service tokens take 1 (-1) or 2 (+1); others keep (0)", d, t));
      continue;
    }
    const sim::Action action{d == autoscale::kScaleIn ? Verb::kScaleIn : Verb::kScaleOut, e};
    if (!ok.allowed(action.verb, e.index)) {
      reject(reward, action);
      continue;
    }
    pending_.push_back(action);
  }
  // Moves, replica by replica (placement switch).
  for (int t = 0; t < spec_.max_tokens; ++t) {
    const int m = row[cols_.move(t)];
    if (m == autoscale::kStay) continue;
    const sim::EntityRef e = tokens_.entity_of(t);
    if (m != autoscale::kMigrate || e.kind != EntityKind::kReplica || !config_->autoscale.placement) {
      reject(reward, fmt::format("move {} at token {}: only replica tokens may take 1 (migrate), and only with "
                                 "autoscale.placement on",
                                 m, t));
      continue;
    }
    const sim::Action action{Verb::kMigrateReplica, e};
    if (!ok.allowed(action.verb, e.index)) {
      reject(reward, action);
      continue;
    }
    pending_.push_back(action);
  }
  apply(pending_, reward);
  advance(reward);
  if (!info_.episode.control) {
    const sim::FaultRecord& f = cluster().faults()[0];
    FaultTruth& t = info_.episode.faults[0];
    t.active = f.active;
    t.mitigated_s = f.mitigated_at < 0 ? -1 : sim::to_seconds(f.mitigated_at - episode_start());
  }
  return false;
}

void AutoscaleTask::WriteMasks(std::uint8_t* mask) {
  const ActionValidity& ok = validity();
  std::memset(mask, 0, static_cast<std::size_t>(masks_.width()));
  for (int t = 0; t < spec_.max_tokens; ++t) {
    mask[masks_.delta(t) + autoscale::kKeep] = 1;
    mask[masks_.move(t) + autoscale::kStay] = 1;
  }
  for (int s = 0; s < tokens_.num_services; ++s) {
    std::uint8_t* m = mask + masks_.delta(tokens_.service_token(s));
    m[autoscale::kScaleIn] = ok.allowed(Verb::kScaleIn, s);
    m[autoscale::kScaleOut] = ok.allowed(Verb::kScaleOut, s);
  }
  if (config_->autoscale.placement)
    for (int r = 0; r < tokens_.num_replica_slots; ++r)
      mask[masks_.move(tokens_.replica_token(r)) + autoscale::kMigrate] = ok.allowed(Verb::kMigrateReplica, r);
}

}  // namespace
}  // namespace opsrl::envs

OPSRL_REGISTER_TASK(autoscale, [](opsrl::envs::EnvConfigPtr c) -> std::unique_ptr<opsrl::envs::Env> {
  return std::make_unique<opsrl::envs::AutoscaleTask>(std::move(c));
});
