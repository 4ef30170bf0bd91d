// Task "incident": a healthy cluster, then one or more faults (or none, on control
// episodes); each step the agent may take one remediation and make its diagnosis claim.
// The episode ends when every fault is mitigated and the SLO has held for resolve_steps
// steps in a row, or at the time limit. docs/environments.md is the contract in prose.
#include <algorithm>
#include <cstring>

#include <fmt/format.h>

#include <opsrl/envs/actions.hpp>
#include <opsrl/envs/env.hpp>
#include <opsrl/envs/remedies.hpp>

#include "validity.hpp"

namespace opsrl::envs {
namespace {

using sim::EntityKind;
using sim::Verb;

class IncidentTask final : public Env {
 public:
  explicit IncidentTask(EnvConfigPtr config);

 protected:
  void DoReset(sim::Rng& rng) override;
  bool DoStep(std::span<const std::int32_t> action, RewardComponents& reward) override;
  void WriteMasks(std::uint8_t* mask) override;
  void WriteTaskFeatures(float* global_row) override;

 private:
  void remediate(std::span<const std::int32_t> row, RewardComponents& reward);
  void diagnose(std::span<const std::int32_t> row, RewardComponents& reward);
  bool fault_started() const;      // some fault's onset has passed
  bool all_mitigated() const;      // every fault's onset has passed and none is active
  void update_truth();
  void detect();                   // the agent reacted: the first time after an onset, detection

  incident::MaskLayout masks_;
  std::vector<std::uint8_t> diag_target_mask_;  // (D x T) static: tokens of each type's root kind
  int healthy_streak_ = 0;
  sim::SimTime streak_start_ = 0;
};

IncidentTask::IncidentTask(EnvConfigPtr config) : Env(std::move(config), "incident", TaskId::kIncident) {
  const int T = spec_.max_tokens;
  masks_ = incident::MaskLayout{T};
  using incident::kNumDiagTypes;
  using incident::kNumVerbs;
  std::vector<ActionHeadSpec> heads{
      {"verb", incident::kVerb, 1, kNumVerbs, masks_.verb(), 1, ""},
      {"target", incident::kTarget, 1, T, masks_.target(0), kNumVerbs, "verb"},
      {"diag_type", incident::kDiagType, 1, kNumDiagTypes, masks_.diag_type(), 1, ""},
      {"diag_target", incident::kDiagTarget, 1, T, masks_.diag_target(0), kNumDiagTypes, "diag_type"},
  };
  const auto steps = static_cast<int>(config_->incident.time_limit / spec_.step_interval);
  finish_spec(incident::kActionWidth, masks_.width(), std::move(heads), std::max(1, steps));

  // Diagnosis targets: "none" points at the global token; a fault type at the tokens of its
  // root kind (a traffic surge only at entry services, the only ones it can hit).
  const sim::Scenario& sc = *config_->scenario;
  diag_target_mask_.assign(static_cast<std::size_t>(kNumDiagTypes) * T, 0);
  diag_target_mask_[0] = 1;
  for (int d = 1; d < kNumDiagTypes; ++d) {
    const sim::FaultInfo& f = sim::fault_info(incident::fault_type_of(d));
    std::uint8_t* row = diag_target_mask_.data() + static_cast<std::size_t>(d) * T;
    for (int t = 1; t < tokens_.num_real(); ++t) {
      const sim::EntityRef e = tokens_.entity_of(t);
      if (e.kind != f.root_kind) continue;
      if (f.type == sim::FaultType::kTrafficSurge && sc.services[e.index].traffic_share <= 0) continue;
      row[t] = 1;
    }
  }
}

void IncidentTask::DoReset(sim::Rng& rng) {
  const IncidentOptions& o = config_->incident;
  sim::Cluster& c = mutable_cluster();
  EpisodeStats& ep = info_.episode;
  ep.control = rng.uniform() < o.control_fraction;
  ep.num_faults = ep.control ? 0 : o.min_faults + static_cast<int>(rng.below(static_cast<std::uint64_t>(o.max_faults - o.min_faults + 1)));
  const sim::SimTime interval = spec_.step_interval;
  sim::SimTime first = -1;
  for (int k = 0; k < ep.num_faults; ++k) {
    sim::SimTime onset = episode_start() + o.onset_min +
                         static_cast<sim::SimTime>(rng.below(static_cast<std::uint64_t>(o.onset_max - o.onset_min + 1)));
    // Never exactly on a scrape: the onset would land after that scrape's telemetry but
    // before the agent acts on it.
    if (onset % interval == 0) onset += 1;
    sim::FaultSpec f = sim::sample_fault(c, rng, onset, o.fault_types);
    f.severity = rng.uniform(o.severity_min, o.severity_max);
    c.inject(f);
    first = first < 0 ? onset : std::min(first, onset);
  }
  ep.first_onset_s = first < 0 ? -1 : sim::to_seconds(first - episode_start());
  update_truth();
  healthy_streak_ = 0;
  streak_start_ = 0;
}

bool IncidentTask::fault_started() const {
  const sim::SimTime now = cluster().now();
  for (const sim::FaultRecord& f : cluster().faults())
    if (f.spec.onset <= now) return true;
  return false;
}

bool IncidentTask::all_mitigated() const {
  const sim::SimTime now = cluster().now();
  for (const sim::FaultRecord& f : cluster().faults())
    if (f.spec.onset > now || f.active) return false;
  return true;
}

void IncidentTask::update_truth() {
  EpisodeStats& ep = info_.episode;
  const auto& faults = cluster().faults();
  for (std::size_t k = 0; k < faults.size() && k < kMaxFaults; ++k) {
    const sim::FaultRecord& f = faults[k];
    FaultTruth& t = ep.faults[k];
    t.type = f.spec.type;
    t.root_token = tokens_.token_of(f.spec.root);
    t.severity = f.spec.severity;
    t.onset_s = sim::to_seconds(f.spec.onset - episode_start());
    t.mitigated_s = f.mitigated_at < 0 ? -1 : sim::to_seconds(f.mitigated_at - episode_start());
    t.active = f.active;
  }
}

void IncidentTask::detect() {
  EpisodeStats& ep = info_.episode;
  if (ep.detected || ep.control || !fault_started()) return;
  ep.detected = true;
  ep.time_to_detect_s = episode_seconds() - ep.first_onset_s;
}

void IncidentTask::remediate(std::span<const std::int32_t> row, RewardComponents& reward) {
  const int v = row[incident::kVerb];
  const int target = row[incident::kTarget];
  if (v == static_cast<int>(Verb::kNoop)) return;
  if (v < 0 || v >= incident::kNumVerbs) {
    reject(reward, fmt::format("verb {} out of range [0, {})", v, incident::kNumVerbs));
    return;
  }
  const Verb verb = static_cast<Verb>(v);
  const EntityKind kind = sim::verb_info(verb).target_kind;
  // Verbs without a target ignore the target entry.
  const sim::EntityRef entity = kind == EntityKind::kNone ? sim::EntityRef{} : tokens_.entity_of(target);
  const sim::Action action{verb, entity};
  if (kind != EntityKind::kNone && (target < 0 || target >= spec_.max_tokens)) {
    reject(reward, fmt::format("{}: target token {} out of range [0, {})", sim::verb_info(verb).name, target, spec_.max_tokens));
    return;
  }
  if (entity.kind != kind || !validity().allowed(verb, entity.index)) {
    reject(reward, action);
    return;
  }
  // Judged against the ground truth before the action changes it.
  const sim::SimTime now = cluster().now();
  bool started = false, useful = false;
  for (const sim::FaultRecord& f : cluster().faults()) {
    if (f.spec.onset > now) continue;
    started = true;
    useful = useful || (f.active && addresses(cluster(), f, action));
  }
  if (!apply(action, reward)) return;
  EpisodeStats& ep = info_.episode;
  if (!started) {
    // Remediating a healthy cluster: a false positive (on a control episode, or too early).
    reward.false_positive -= config_->reward.false_positive_penalty;
    ++ep.false_positive_actions;
    ep.false_positive = true;
  } else if (!useful) {
    reward.wrong_action -= config_->reward.wrong_action_penalty;
    ++ep.wrong_actions;
  }
  detect();
}

void IncidentTask::diagnose(std::span<const std::int32_t> row, RewardComponents& reward) {
  const int type = row[incident::kDiagType];
  const int token = row[incident::kDiagTarget];
  if (type == incident::kNoClaim) return;
  EpisodeStats& ep = info_.episode;
  if (type < 0 || type >= incident::kNumDiagTypes) {
    reject(reward, fmt::format("diagnosis type {} out of range [0, {})", type, incident::kNumDiagTypes));
    return;
  }
  if (ep.claimed) {
    reject(reward, "a diagnosis was already claimed this episode; only \"none\" is allowed");
    return;
  }
  if (token < 0 || token >= spec_.max_tokens ||
      !diag_target_mask_[static_cast<std::size_t>(type) * spec_.max_tokens + static_cast<std::size_t>(token)]) {
    reject(reward, fmt::format("diagnosis {}: token {} is not a {} of the right kind",
                               sim::fault_info(incident::fault_type_of(type)).name, token,
                               sim::entity_kind_name(sim::fault_info(incident::fault_type_of(type)).root_kind)));
    return;
  }
  // The first claim is final and scored against the faults whose onset has passed.
  const sim::FaultType claimed = incident::fault_type_of(type);
  ep.claimed = true;
  ep.claimed_type = claimed;
  ep.claimed_token = token;
  const sim::SimTime now = cluster().now();
  bool both = false;
  for (const sim::FaultRecord& f : cluster().faults()) {
    if (f.spec.onset > now) continue;
    const bool root = tokens_.token_of(f.spec.root) == token;
    ep.root_correct = ep.root_correct || root;
    ep.type_correct = ep.type_correct || f.spec.type == claimed;
    both = both || (root && f.spec.type == claimed);
  }
  if (both) {
    reward.diagnosis += config_->reward.diagnosis_bonus;
    ep.time_to_diagnose_s = episode_seconds() - ep.first_onset_s;
  } else {
    reward.diagnosis -= config_->reward.diagnosis_penalty;
    if (!fault_started()) ep.false_positive = true;  // claimed a fault on a healthy cluster
  }
  detect();
}

bool IncidentTask::DoStep(std::span<const std::int32_t> row, RewardComponents& reward) {
  remediate(row, reward);
  diagnose(row, reward);
  advance(reward);
  update_truth();
  EpisodeStats& ep = info_.episode;
  if (ep.control) return false;  // control episodes run to the time limit
  if (all_mitigated() && cluster().telemetry().slo_ok) {
    if (healthy_streak_++ == 0) streak_start_ = cluster().now();
  } else {
    healthy_streak_ = 0;
  }
  if (healthy_streak_ < config_->incident.resolve_steps) return false;
  ep.resolved = true;
  ep.time_to_recover_s = sim::to_seconds(streak_start_ - episode_start()) - ep.first_onset_s;
  reward.resolution += config_->reward.resolution_bonus;
  return true;
}

void IncidentTask::WriteMasks(std::uint8_t* mask) {
  const ActionValidity& ok = validity();
  std::memset(mask, 0, static_cast<std::size_t>(masks_.diag_type()));
  for (int v = 0; v < incident::kNumVerbs; ++v) {
    const Verb verb = static_cast<Verb>(v);
    mask[masks_.verb() + v] = ok.any(verb);
    // The entities of a kind are consecutive tokens: one copy per verb.
    const std::span<const std::uint8_t> targets = ok.targets(verb);
    const int first = tokens_.token_of({sim::verb_info(verb).target_kind, 0});
    std::memcpy(mask + masks_.target(v) + first, targets.data(), targets.size());
  }
  // After the claim only "none" is allowed.
  std::uint8_t* types = mask + masks_.diag_type();
  std::memset(types, info_.episode.claimed ? 0 : 1, incident::kNumDiagTypes);
  types[incident::kNoClaim] = 1;
  std::memcpy(mask + masks_.diag_target(0), diag_target_mask_.data(), diag_target_mask_.size());
}

void IncidentTask::WriteTaskFeatures(float* g) {
  const feature::KindColumns& gc = columns().global;
  g[gc.cur(feature::kEscalationPending)] = validity().any(Verb::kEscalate) ? 0.0f : 1.0f;
  g[gc.cur(feature::kDiagnosisClaimed)] = info_.episode.claimed ? 1.0f : 0.0f;
}

}  // namespace
}  // namespace opsrl::envs

OPSRL_REGISTER_TASK(incident, [](opsrl::envs::EnvConfigPtr c) -> std::unique_ptr<opsrl::envs::Env> {
  return std::make_unique<opsrl::envs::IncidentTask>(std::move(c));
});
