// Env: the bookkeeping every task shares. Per step: the task applies the action and calls
// advance() (cluster to the next scrape, history, SLO and cost terms); then the time limit,
// returns and the observation are handled here.
#include <opsrl/envs/env.hpp>

#include <cmath>
#include <cstring>
#include <tuple>
#include <stdexcept>

#include <fmt/format.h>

#include "tokenizer.hpp"
#include "validity.hpp"

namespace opsrl::envs {

static_assert(std::tuple_size_v<decltype(RewardComponents{}.as_array())> == kRewardComponentNames.size(),
              "RewardComponents and kRewardComponentNames must list the same terms");

namespace {
constexpr std::uint64_t kEnvStreamIndex = 0xE17;  // the env's draws: Rng(seed, kScenarioGen, this)
constexpr double kTwoPi = 6.283185307179586;
}  // namespace

RewardComponents& RewardComponents::operator+=(const RewardComponents& o) {
  slo_penalty += o.slo_penalty;
  cost += o.cost;
  action_cost += o.action_cost;
  diagnosis += o.diagnosis;
  resolution += o.resolution;
  invalid_action += o.invalid_action;
  false_positive += o.false_positive;
  wrong_action += o.wrong_action;
  return *this;
}

Env::Env(EnvConfigPtr config, std::string task, TaskId id)
    : config_(std::move(config)), columns_(config_ ? config_->history : 1) {
  if (!config_) throw std::invalid_argument(fmt::format("task {}: config is null; use make_config()", task));
  config_->validate();
  slo_per_minute_ = config_->reward.slo_per_minute;
  scenario_ = config_->scenario;
  const sim::Scenario& sc = *scenario_;
  tokens_.num_nodes = static_cast<int>(sc.nodes.size());
  tokens_.num_services = static_cast<int>(sc.services.size());
  tokens_.num_replica_slots = sc.total_replica_slots();
  const int real = tokens_.num_real();
  if (config_->max_tokens != 0 && config_->max_tokens < real)
    throw std::invalid_argument(fmt::format("EnvConfig.max_tokens must be 0 or >= the scenario's {} tokens "
                                            "(1 + {} nodes + {} services + {} replica slots), got {}",
                                            real, tokens_.num_nodes, tokens_.num_services,
                                            tokens_.num_replica_slots, config_->max_tokens));
  tokens_.max_tokens = config_->max_tokens ? config_->max_tokens : real;

  spec_.task = std::move(task);
  spec_.task_id = id;
  spec_.scenario = sc.name;
  spec_.max_tokens = tokens_.max_tokens;
  spec_.feature_width = columns_.feature_width;
  spec_.history = config_->history;
  spec_.num_nodes = tokens_.num_nodes;
  spec_.num_services = tokens_.num_services;
  spec_.num_replica_slots = tokens_.num_replica_slots;
  spec_.reward_components.assign(kRewardComponentNames.begin(), kRewardComponentNames.end());
  spec_.step_interval = sc.telemetry.scrape_interval;

  tokenizer_ = std::make_unique<Tokenizer>(sc, tokens_, columns_);
  validity_ = std::make_unique<ActionValidity>(sc);
}

Env::~Env() = default;

void Env::finish_spec(int action_width, int mask_width, std::vector<ActionHeadSpec> heads, int max_episode_steps) {
  spec_.action_width = action_width;
  spec_.mask_width = mask_width;
  spec_.action_heads = std::move(heads);
  spec_.max_episode_steps = max_episode_steps;
}

void Env::set_scenario(sim::ScenarioPtr scenario) {
  if (started_) throw std::logic_error("Env::set_scenario after the first reset");
  const sim::Scenario& a = *scenario_;
  if (scenario->nodes.size() != a.nodes.size() || scenario->services.size() != a.services.size() ||
      scenario->total_replica_slots() != a.total_replica_slots())
    throw std::invalid_argument("Env::set_scenario: the entity counts must not change");
  scenario_ = std::move(scenario);
}

void Env::check_view(const ObservationView& out) const {
  if (!out.features || !out.token_type || !out.valid || !out.links || !out.task_id || !out.action_mask)
    throw std::invalid_argument("observation view has a null buffer");
  if (out.max_tokens != spec_.max_tokens || out.feature_width != spec_.feature_width ||
      out.mask_width < spec_.mask_width)
    throw std::invalid_argument(fmt::format(
        "observation view of task {} must have max_tokens = {}, feature_width = {} and mask_width >= {}, got "
        "max_tokens = {}, feature_width = {}, mask_width = {}",
        spec_.task, spec_.max_tokens, spec_.feature_width, spec_.mask_width, out.max_tokens, out.feature_width,
        out.mask_width));
}

void Env::start_cluster(sim::Rng& rng) {
  // Random time of day: the traffic curve is shifted by a whole fraction of its period, which
  // needs a scenario copy with another phase and hence a new cluster; the copy is kept while
  // the same phase is drawn again. A replayed trace ignores the phase: it always starts at 0.
  const sim::Scenario& base = *scenario_;
  const int phases = base.traffic.trace_csv.empty() ? config_->day_phases : 1;
  const int hour = phases > 1 ? static_cast<int>(rng.below(static_cast<std::uint64_t>(phases))) : 0;
  const sim::SimTime period = base.traffic.period;
  sim::ClusterOptions options;
  options.telemetry_noise = config_->telemetry_noise;
  if (!cluster_ || hour != day_hour_) {
    const sim::SimTime offset = period / phases * hour;  // time of day at the cluster's t = 0
    sim::ScenarioPtr variant = scenario_;
    if (offset != 0) {
      auto copy = std::make_shared<sim::Scenario>(base);
      copy->traffic.phase = ((base.traffic.phase - offset) % period + period) % period;
      variant = std::move(copy);
    }
    cluster_ = std::make_unique<sim::Cluster>(std::move(variant), seed_, options);
    day_hour_ = hour;
  } else {
    cluster_->reset(seed_);
  }
}

void Env::reset(std::uint64_t seed, const ObservationView& out) {
  check_view(out);
  seed_ = seed;
  sim::Rng rng(seed, sim::Stream::kScenarioGen, kEnvStreamIndex);
  start_cluster(rng);
  // Warm-up: H scrapes (at 0, 1, ..., H-1 intervals) fill the history window, so the first
  // observation already shows trends.
  tokenizer_->clear();
  const sim::SimTime interval = spec_.step_interval;
  for (int h = 0; h < spec_.history; ++h) {
    cluster_->run_until(h * interval);
    tokenizer_->push(*cluster_);
  }
  start_ = cluster_->now();
  const sim::Counters& k = cluster_->counters();
  last_slo_seconds_ = k.slo_violation_seconds;
  last_replica_cost_ = k.replica_cost_usd;
  last_replica_seconds_ = k.replica_seconds;
  info_.reward = {};
  info_.action.applied = info_.action.invalid = info_.action.refused = 0;
  info_.action.reason.clear();
  info_.episode = {};
  info_.sim_time = start_;
  started_ = true;
  over_ = false;
  DoReset(rng);
  write_observation(out);
}

StepResult Env::step(std::span<const std::int32_t> action, const ObservationView& out) {
  if (!started_) throw std::logic_error(fmt::format("task {}: step() before reset()", spec_.task));
  if (over_) throw std::logic_error(fmt::format("task {}: step() after the episode ended; call reset()", spec_.task));
  if (static_cast<int>(action.size()) < spec_.action_width)
    throw std::invalid_argument(fmt::format("task {}: an action row has {} entries, got {}", spec_.task,
                                            spec_.action_width, action.size()));
  check_view(out);
  info_.action.applied = info_.action.invalid = info_.action.refused = 0;
  info_.action.reason.clear();
  RewardComponents reward;
  const bool terminated = DoStep(action, reward);
  EpisodeStats& ep = info_.episode;
  ++ep.steps;
  ep.return_ += reward.total();
  ep.return_components += reward;
  const bool truncated = !terminated && ep.steps >= spec_.max_episode_steps;
  over_ = terminated || truncated;
  info_.reward = reward;
  info_.sim_time = cluster_->now();
  write_observation(out);
  return {reward.total(), terminated, truncated};
}

void Env::advance(RewardComponents& reward) {
  cluster_->run_until(cluster_->now() + spec_.step_interval);
  tokenizer_->push(*cluster_);
  const sim::Counters& k = cluster_->counters();
  const double slo_minutes = (k.slo_violation_seconds - last_slo_seconds_) / 60.0;
  const double replica_usd = k.replica_cost_usd - last_replica_cost_;
  const double replica_hours = (k.replica_seconds - last_replica_seconds_) / 3600.0;
  last_slo_seconds_ = k.slo_violation_seconds;
  last_replica_cost_ = k.replica_cost_usd;
  last_replica_seconds_ = k.replica_seconds;
  const RewardWeights& w = config_->reward;
  reward.slo_penalty -= slo_per_minute_ * slo_minutes;
  reward.cost -= w.cost_per_usd * replica_usd;
  EpisodeStats& ep = info_.episode;
  ep.slo_violation_minutes += slo_minutes;
  ep.replica_cost_usd += replica_usd;
  ep.replica_hours += replica_hours;
  ep.elapsed_s = episode_seconds();
}

bool Env::apply(const sim::Action& action, RewardComponents& reward) {
  return account(action, cluster_->apply(action), reward);
}

void Env::apply(std::span<const sim::Action> actions, RewardComponents& reward) {
  if (actions.empty()) return;
  results_.resize(std::max(results_.size(), actions.size()));
  cluster_->apply(actions, results_);
  for (std::size_t i = 0; i < actions.size(); ++i) account(actions[i], std::move(results_[i]), reward);
}

bool Env::account(const sim::Action& action, sim::ActionResult result, RewardComponents& reward) {
  if (!result.accepted) {
    ++info_.action.refused;
    ++info_.episode.refused_actions;
    info_.action.reason = std::move(result.reason);
    return false;
  }
  if (action.verb == sim::Verb::kNoop) return true;
  const double usd = sim::verb_info(action.verb).cost_usd;
  reward.action_cost -= config_->reward.action_per_usd * usd;
  ++info_.action.applied;
  ++info_.episode.actions;
  info_.episode.action_cost_usd += usd;
  if (action.verb == sim::Verb::kEscalate) ++info_.episode.escalations;
  return true;
}

void Env::reject(RewardComponents& reward, std::string_view reason) {
  reward.invalid_action -= config_->reward.invalid_action_penalty;
  ++info_.action.invalid;
  ++info_.episode.invalid_actions;
  info_.action.reason.assign(reason);
}

void Env::reject(RewardComponents& reward, const sim::Action& action) {
  const sim::ActionResult check = cluster_->check(action);
  if (check.accepted)
    reject(reward, fmt::format("{}: not allowed by the action mask", sim::verb_info(action.verb).name));
  else
    reject(reward, check.reason);
}

double Env::episode_seconds() const { return sim::to_seconds(cluster_->now() - start_); }

void Env::write_observation(const ObservationView& out) {
  validity_->update(*cluster_);
  float* g = tokenizer_->global_row();
  const feature::KindColumns& gc = columns_.global;
  // Where in the diurnal cycle: angle 0 at the traffic trough, pi at the peak.
  const sim::Scenario& sc = cluster_->scenario();
  const double period = static_cast<double>(sc.traffic.period);
  const double angle = kTwoPi * std::fmod(static_cast<double>(cluster_->now() - sc.traffic.phase) / period, 1.0);
  g[gc.cur(feature::kTimeOfDaySin)] = static_cast<float>(std::sin(angle));
  g[gc.cur(feature::kTimeOfDayCos)] = static_cast<float>(std::cos(angle));
  g[gc.cur(feature::kEpisodeProgress)] =
      static_cast<float>(static_cast<double>(info_.episode.steps) / spec_.max_episode_steps);
  g[gc.cur(feature::kTaskIncident)] = spec_.task_id == TaskId::kIncident;
  g[gc.cur(feature::kTaskAutoscale)] = spec_.task_id == TaskId::kAutoscale;
  WriteTaskFeatures(g);
  tokenizer_->emit(out);
  *out.task_id = static_cast<std::int32_t>(spec_.task_id);
  if (out.mask_width > spec_.mask_width) std::memset(out.action_mask + spec_.mask_width, 0, out.mask_width - spec_.mask_width);
  WriteMasks(out.action_mask);
}

}  // namespace opsrl::envs
