// Prometheus query_range answers + a labels file -> incident dataset (prometheus_import.hpp).
//
//   series (by __name__, entity label)  --> a value per snapshot (a distinct time on the clock),
//                                            gaps held from the previous snapshot
//   snapshot s                          --> sim::Telemetry, as the simulator's scrape lays it out
//   incident window [start, end)        --> grid t_k = start + k * step (the env's step interval),
//                                            row k = the latest snapshot at or before t_k,
//                                            pushed through TelemetryTokens as the env's tokenizer
#include <opsrl/datasets/prometheus_import.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <memory>
#include <numbers>
#include <optional>
#include <stdexcept>

#include <fmt/format.h>

#include <opsrl/datasets/format.hpp>
#include <opsrl/datasets/record.hpp>
#include <opsrl/datasets/spec_json.hpp>
#include <opsrl/datasets/writer.hpp>
#include <opsrl/envs/actions.hpp>
#include <opsrl/envs/env.hpp>
#include <opsrl/envs/features.hpp>
#include <opsrl/sim/cluster.hpp>
#include <opsrl/sim/faults.hpp>

#include "prometheus_json.hpp"
#include "prometheus_labels.hpp"
#include "telemetry_tokens.hpp"

namespace opsrl::datasets {

namespace {

namespace f = envs::feature;
using prom::Series;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kClockEps = 1e-6;  // seconds: a snapshot "at" a grid time may be this much late (float rounding)

std::string join(const std::vector<std::string>& v, std::size_t max = 12) {
  std::string s;
  for (std::size_t i = 0; i < v.size() && i < max; ++i) s += (i ? ", " : "") + v[i];
  if (v.size() > max) s += fmt::format(", ... ({} in all)", v.size());
  return s;
}

// Where a series goes.
struct Target {
  enum What { kMetric, kAlert, kSlo, kInfo } what = kMetric;
  const prom::MetricName* metric = nullptr;  // kMetric
  int entity = -1;                           // kMetric, kAlert (its rule's kind), kInfo (replica)
  sim::AlertRule rule = sim::AlertRule::kCount;
  int node = -1;  // kInfo
  const Series* series = nullptr;
};

class Importer {
 public:
  explicit Importer(const PrometheusOptions& o) : o_(o) {}

  PrometheusReport run(const std::filesystem::path& out, const std::string& command) {
    scenario_ = sim::load_scenario(o_.scenario);
    toml_ = scenario_text(o_.scenario);
    labels_ = prom::read_labels(o_.labels);
    for (const auto& p : o_.query_range) files_.push_back(prom::read_query_range(p));
    names_ = std::make_unique<sim::Cluster>(scenario_, 0);
    step_s_ = sim::to_seconds(scenario_->telemetry.scrape_interval);
    map_series();
    build_snapshots();
    build_env();

    DatasetHeader h;
    h.source = std::string(kSourcePrometheus);
    h.spec = spec_;
    h.env_config_json = config_to_json(*config_);
    h.scenario = scenario_->name;
    h.scenario_toml = toml_;
    h.scenario_hash = scenario_hash(toml_);
    h.command = command;
    std::vector<Episode> episodes;
    for (std::size_t i = 0; i < labels_.incidents.size(); ++i) {
      Episode ep(EpisodeShape::of(spec_));
      episode(i, ep);
      episodes.push_back(std::move(ep));
    }
    notes();
    std::string text;
    for (const std::string& n : report_.notes) text += n + "\n";
    h.notes = text;
    Writer w(out, h);
    for (const Episode& ep : episodes) {
      w.append(ep);
      ++report_.episodes;
      report_.steps += ep.steps();
      report_.rows += ep.steps() + 1;
    }
    w.close();
    report_.tokens = spec_.max_tokens;
    return report_;
  }

 private:
  // ---- series -> targets ----------------------------------------------------------------

  [[noreturn]] void fail(const std::string& where, const std::string& problem, const std::string& expected) const {
    throw std::invalid_argument(fmt::format("{}: {} (expected {})", where, problem, expected));
  }

  std::vector<std::string> entity_names(sim::EntityKind kind) const {
    std::vector<std::string> v;
    const int n = kind == sim::EntityKind::kNode      ? names_->num_nodes()
                  : kind == sim::EntityKind::kService ? names_->num_services()
                                                      : names_->num_replica_slots();
    for (int i = 0; i < n; ++i) v.push_back(names_->entity_name({kind, i}));
    return v;
  }

  // The entity named by `label` on `s`, of kind `kind`.
  int entity(const Series& s, const std::string& label, sim::EntityKind kind) const {
    const std::string kind_name(sim::entity_kind_name(kind));
    const auto it = s.labels.find(label);
    if (it == s.labels.end())
      fail(s.where + ".metric", fmt::format("{} has no \"{}\" label", s.name(), label),
           fmt::format("the {}'s name in label \"{}\" (another label: set [labels] {} = \"...\" in the labels file)", kind_name,
                       label, kind_name));
    std::string name = it->second;
    if (const auto a = labels_.entities.find(name); a != labels_.entities.end()) name = a->second;
    const sim::EntityRef e = names_->find_entity(name);
    if (e.kind != kind)
      fail(fmt::format("{}.metric.{}", s.where, label),
           fmt::format("\"{}\"{} is not a {} of scenario {}", it->second, name == it->second ? "" : " (-> \"" + name + "\")",
                       kind_name, scenario_->name),
           fmt::format("one of {}; or map the label value onto one in the labels file's [entities]", join(entity_names(kind))));
    if (kind == sim::EntityKind::kReplica) check_replica_service(s, e.index);
    return e.index;
  }

  // A replica series that also carries a service label must name the slot's own service.
  void check_replica_service(const Series& s, int slot) const {
    const auto it = s.labels.find(labels_.labels.service);
    if (it == s.labels.end()) return;
    std::string name = it->second;
    if (const auto a = labels_.entities.find(name); a != labels_.entities.end()) name = a->second;
    const std::string own = names_->entity_name({sim::EntityKind::kService, names_->replica_service(slot)});
    if (name != own)
      fail(fmt::format("{}.metric.{}", s.where, labels_.labels.service),
           fmt::format("\"{}\" is not the service of replica {}", it->second,
                       names_->entity_name({sim::EntityKind::kReplica, slot})),
           fmt::format("\"{}\" (or no {} label)", own, labels_.labels.service));
  }

  void map_series() {
    std::map<std::string, const prom::MetricName*> by_name;
    for (const prom::MetricName& m : prom::metric_names()) {
      const auto o = labels_.metrics.find(m.sim_name);
      by_name[o != labels_.metrics.end() ? o->second : m.name] = &m;
    }
    // The clock: query timestamp -> time on the clock. Several series with the same labels
    // (the same query over consecutive time ranges, one file each) are one series in parts.
    std::vector<const Series*> clocks;
    if (!labels_.unix_clock()) {
      for (const auto& q : files_)
        for (const Series& s : q.series)
          if (s.name() == labels_.clock) {
            if (!clocks.empty() && s.labels != clocks.front()->labels)
              fail(s.where,
                   fmt::format("a second clock series {} with other labels (the first at {})", labels_.clock,
                               clocks.front()->where),
                   "one clock series: select one target (job, instance) in the query");
            clocks.push_back(&s);
          }
      if (clocks.empty()) {
        std::vector<std::string> files;
        for (const auto& q : files_) files.push_back(q.file);
        fail(labels_.file + ": $.clock", fmt::format("no series named {} in {}", labels_.clock, join(files)),
             "the clock series in one of the --query-range answers, e.g. from the query {__name__=~\"opsrl_.+\"}");
      }
      for (const Series* clock : clocks)
        for (std::size_t j = 0; j < clock->times.size(); ++j)
          if (!std::isnan(clock->values[j])) clock_of_[clock->times[j]] = clock->values[j];
      double last = -std::numeric_limits<double>::infinity();
      for (const auto& [t, c] : clock_of_) {
        if (c < last)
          fail(clocks.front()->where,
               fmt::format("the clock {} goes back from {} to {} at Unix time {}", labels_.clock, last, c, t),
               "a non-decreasing clock: one run of the source per query");
        last = c;
      }
    }
    std::map<std::string, std::pair<const Series*, const prom::QueryRange*>> seen;  // duplicate detection
    std::map<std::string, int> ignored;
    std::map<std::string, int> unknown_alerts;
    for (const auto& q : files_) {
      report_.samples += q.samples;
      non_finite_ += q.non_finite;
      for (const std::string& w : q.warnings) report_.notes.push_back(fmt::format("{}: Prometheus warned: {}", q.file, w));
      for (const Series& s : q.series) {
        if (!labels_.unix_clock() && s.name() == labels_.clock) continue;
        Target t;
        t.series = &s;
        std::string key;
        if (const auto m = by_name.find(s.name()); m != by_name.end()) {
          t.what = Target::kMetric;
          t.metric = m->second;
          t.entity = entity(s, labels_.labels.of(t.metric->kind), t.metric->kind);
          key = fmt::format("{} {}={}", s.name(), labels_.labels.of(t.metric->kind),
                            names_->entity_name({t.metric->kind, t.entity}));
        } else if (s.name() == prom::kAlertFiring) {
          const auto a = s.labels.find(std::string(prom::kAlertNameLabel));
          const auto rule = a == s.labels.end() ? std::nullopt : prom::alert_rule_from_name(a->second);
          if (!rule) {
            ++unknown_alerts[a == s.labels.end() ? "(no alertname)" : a->second];
            continue;
          }
          t.what = Target::kAlert;
          t.rule = *rule;
          const sim::EntityKind kind = prom::alert_entity_kind(*rule);
          t.entity = entity(s, labels_.labels.of(kind), kind);
          key = fmt::format("{} {} {}", s.name(), a->second, names_->entity_name({kind, t.entity}));
        } else if (s.name() == prom::kSloOk) {
          t.what = Target::kSlo;
          key = s.name();
        } else if (s.name() == prom::kReplicaInfo) {
          t.what = Target::kInfo;
          t.entity = entity(s, labels_.labels.replica, sim::EntityKind::kReplica);
          t.node = entity(s, labels_.labels.node, sim::EntityKind::kNode);
          targets_.push_back(t);  // a replica that moves gets one info series per node: no duplicates check
          continue;
        } else {
          ++ignored[s.name()];
          ++report_.ignored_series;
          continue;
        }
        // The same labels in another file (another time range of the same query): more samples
        // of one series. Other labels, or twice in one answer: two sources for one value.
        if (const auto d = seen.find(key); d != seen.end() && (d->second.first->labels != s.labels || d->second.second == &q))
          fail(s.where,
               fmt::format("a second series for {}{} (the first at {})", key, d->second.second == &q ? "" : " with other labels",
                           d->second.first->where),
               "one series per metric and entity: select one target (job, instance) in the query");
        seen.emplace(key, std::make_pair(&s, &q));
        targets_.push_back(t);
      }
    }
    report_.series = static_cast<int>(targets_.size());
    report_.files = static_cast<int>(files_.size());
    if (!ignored.empty()) {
      std::vector<std::string> v;
      for (const auto& [name, n] : ignored) v.push_back(fmt::format("{} ({})", name, n));
      report_.notes.push_back(
          fmt::format("ignored {} series of metrics outside the mapping: {}", report_.ignored_series, join(v)));
    }
    if (!unknown_alerts.empty()) {
      std::vector<std::string> v;
      for (const auto& [name, n] : unknown_alerts) v.push_back(fmt::format("{} ({})", name, n));
      report_.notes.push_back(fmt::format("ignored {} alerts that are not opsrl rules: {}", prom::kAlertFiring, join(v)));
    }
    if (targets_.empty()) {
      std::vector<std::string> files;
      for (const auto& q : files_) files.push_back(q.file);
      fail(
          join(files), "no series of the mapped metrics",
          "series named as `opsrl simulate --serve-metrics` exposes them (opsrl_node_..., opsrl_service_..., opsrl_replica_...), "
          "or renamed in the labels file's [metrics]");
    }
  }

  // ---- targets -> snapshots -------------------------------------------------------------

  std::optional<double> clock(double t) const {
    if (labels_.unix_clock()) return t;
    const auto it = clock_of_.find(t);
    if (it == clock_of_.end()) return std::nullopt;
    return it->second;
  }

  void build_snapshots() {
    for (const Target& t : targets_)
      for (double ts : t.series->times)
        if (const auto c = clock(ts)) times_.push_back(*c);
    std::sort(times_.begin(), times_.end());
    times_.erase(std::unique(times_.begin(), times_.end()), times_.end());
    if (times_.empty())
      fail(labels_.file + ": $.clock", "no sample has a time on the clock", "samples at the clock series' timestamps");
    const std::size_t S = times_.size();
    report_.snapshots = static_cast<int>(S);
    auto index = [&](double c) {
      return static_cast<std::size_t>(std::lower_bound(times_.begin(), times_.end(), c) - times_.begin());
    };

    const int N = names_->num_nodes(), V = names_->num_services(), R = names_->num_replica_slots();
    const int counts[4] = {0, N * sim::kNumNodeMetrics, V * sim::kNumServiceMetrics, R * sim::kNumReplicaMetrics};
    auto width = [](sim::EntityKind k) -> int {
      if (k == sim::EntityKind::kNode) return sim::kNumNodeMetrics;
      return k == sim::EntityKind::kService ? static_cast<int>(sim::kNumServiceMetrics)
                                            : static_cast<int>(sim::kNumReplicaMetrics);
    };
    std::array<std::vector<std::vector<double>>, 4> cols;  // by kind: (entity * width + column) -> value per snapshot
    for (int k = 1; k < 4; ++k) cols[static_cast<std::size_t>(k)].assign(static_cast<std::size_t>(counts[k]), {});
    std::map<std::pair<int, int>, std::vector<std::uint8_t>> alerts;  // (rule, entity) -> firing per snapshot
    std::vector<double> slo;
    std::vector<std::vector<int>> info(static_cast<std::size_t>(R));  // replica -> node per snapshot (-1: none)
    std::int64_t dropped = 0;
    for (const Target& t : targets_) {
      const Series& s = *t.series;
      std::vector<double>* v = nullptr;
      if (t.what == Target::kMetric) {
        v = &cols[static_cast<std::size_t>(t.metric->kind)]
                 [static_cast<std::size_t>(t.entity * width(t.metric->kind) + t.metric->column)];
      } else if (t.what == Target::kSlo) {
        v = &slo;
      }
      if (v && v->empty()) v->assign(S, kNaN);
      std::vector<std::uint8_t>* firing = nullptr;
      if (t.what == Target::kAlert) {
        firing = &alerts[{static_cast<int>(t.rule), t.entity}];
        if (firing->empty()) firing->assign(S, 0);
      }
      std::vector<int>* placed = nullptr;
      if (t.what == Target::kInfo) {
        placed = &info[static_cast<std::size_t>(t.entity)];
        if (placed->empty()) placed->assign(S, -1);
      }
      for (std::size_t j = 0; j < s.times.size(); ++j) {
        const auto c = clock(s.times[j]);
        if (!c) {
          ++dropped;
          continue;
        }
        const std::size_t i = index(*c);
        const double x = s.values[j];
        if (v) (*v)[i] = t.what == Target::kMetric ? x / t.metric->scale : x;
        if (firing && x >= 0.5) (*firing)[i] = 1;
        if (placed && x >= 0.5) (*placed)[i] = t.node;
      }
    }
    if (dropped)
      report_.notes.push_back(
          fmt::format("{} samples at timestamps where the clock series {} has none: dropped", dropped, labels_.clock));

    // Gaps (no sample at a snapshot, or NaN/Inf) hold the previous snapshot's value; leading
    // gaps take the first value; a metric never seen for an entity gets a healthy default.
    std::int64_t held = 0;
    std::map<std::string, int> missing;
    auto fill = [&](std::vector<double>& v, double fallback, const std::string& what) {
      if (v.empty()) {
        ++missing[what];
        v.assign(S, fallback);
        return;
      }
      double last = kNaN;
      for (double x : v)
        if (!std::isnan(x)) {
          last = x;
          break;
        }
      if (std::isnan(last)) {
        ++missing[what];
        last = fallback;
      }
      for (double& x : v) {
        if (std::isnan(x)) {
          x = last;
          ++held;
        } else {
          last = x;
        }
      }
    };
    const sim::Scenario& sc = *scenario_;
    auto initial = [&](int slot) {
      const int s = names_->replica_service(slot);
      return slot - names_->replica_offset(s) < sc.services[static_cast<std::size_t>(s)].replicas ? 1.0 : 0.0;
    };
    for (int n = 0; n < N; ++n)
      for (int m = 0; m < sim::kNumNodeMetrics; ++m) {
        double d = 0;
        if (m == sim::kNodeReady) d = 1;
        if (m == sim::kNodeNetDelayMs) d = 0.5;
        if (m == sim::kNodeDiskUtil) d = sc.nodes[static_cast<std::size_t>(n)].disk_baseline;
        fill(cols[1][static_cast<std::size_t>(n * sim::kNumNodeMetrics + m)], d, std::string(sim::node_metric_name(m)));
      }
    for (int s = 0; s < V; ++s)
      for (int m = 0; m < sim::kNumServiceMetrics; ++m) {
        double d = 0;
        if (m == sim::kSvcReadyReplicas || m == sim::kSvcDesiredReplicas) d = sc.services[static_cast<std::size_t>(s)].replicas;
        fill(cols[2][static_cast<std::size_t>(s * sim::kNumServiceMetrics + m)], d, std::string(sim::service_metric_name(m)));
      }
    for (int r = 0; r < R; ++r)
      for (int m = 0; m < sim::kNumReplicaMetrics; ++m) {
        auto& v = cols[3][static_cast<std::size_t>(r * sim::kNumReplicaMetrics + m)];
        if (m == sim::kRepNode && v.empty() && !info[static_cast<std::size_t>(r)].empty()) {
          v.assign(info[static_cast<std::size_t>(r)].begin(),
                   info[static_cast<std::size_t>(r)].end());  // from opsrl_replica_info
          ++from_info_;
          continue;
        }
        double d = 0;
        if (m == sim::kRepPresent || m == sim::kRepReady) d = initial(r);
        if (m == sim::kRepNode) d = -1;
        fill(v, d, std::string(sim::replica_metric_name(m)));
      }
    fill(slo, 1.0, std::string(prom::kSloOk));
    held_ = held;
    for (const auto& [name, n] : missing) missing_.push_back(fmt::format("{} ({})", name, n));

    snaps_.resize(S);
    for (std::size_t i = 0; i < S; ++i) {
      sim::Telemetry& t = snaps_[i];
      t.time = sim::from_seconds(times_[i]);
      t.nodes.resize(N, sim::kNumNodeMetrics);
      t.services.resize(V, sim::kNumServiceMetrics);
      t.replicas.resize(R, sim::kNumReplicaMetrics);
      for (int n = 0; n < N; ++n)
        for (int m = 0; m < sim::kNumNodeMetrics; ++m)
          t.nodes(n, m) = cols[1][static_cast<std::size_t>(n * sim::kNumNodeMetrics + m)][i];
      for (int s = 0; s < V; ++s)
        for (int m = 0; m < sim::kNumServiceMetrics; ++m)
          t.services(s, m) = cols[2][static_cast<std::size_t>(s * sim::kNumServiceMetrics + m)][i];
      for (int r = 0; r < R; ++r)
        for (int m = 0; m < sim::kNumReplicaMetrics; ++m)
          t.replicas(r, m) = cols[3][static_cast<std::size_t>(r * sim::kNumReplicaMetrics + m)][i];
      for (const auto& [key, firing] : alerts)
        if (firing[i]) {
          const auto rule = static_cast<sim::AlertRule>(key.first);
          t.alerts.push_back({rule, {prom::alert_entity_kind(rule), key.second}, 0});
        }
      t.slo_ok = slo[i] >= 0.5;
    }
    alert_series_ = static_cast<int>(alerts.size());
  }

  // ---- the env whose observations the episodes imitate -------------------------------------

  void build_env() {
    // The longest episode sets the time limit, so that episode_progress stays within 0..1.
    double longest = step_s_;
    for (const prom::Incident& in : labels_.incidents) longest = std::max(longest, in.end - in.start);
    envs::EnvConfig c;
    c.scenario = scenario_;
    c.history = o_.history;
    c.day_phases = 1;
    c.incident.time_limit = std::max(sim::kMinute, (sim::from_seconds(longest) + sim::kMinute - 1) / sim::kMinute * sim::kMinute);
    c.incident.onset_max = std::min(c.incident.onset_max, c.incident.time_limit / 2);
    config_ = envs::make_config(c);
    auto env = envs::make_env("incident", config_);
    spec_ = env->spec();
    tokens_ = env->tokens();
    // The diagnosis part of the mask is the env's own; remediations: only noop (nothing can be
    // applied to a recording).
    envs::ObservationBatch b = envs::ObservationBatch::for_spec(spec_);
    env->reset(0, b.view(0));
    mask_.assign(b.action_mask().begin(), b.action_mask().end());
    const envs::incident::MaskLayout ml{spec_.max_tokens};
    std::fill(mask_.begin(), mask_.begin() + ml.diag_type(), 0);
    mask_[static_cast<std::size_t>(ml.verb() + static_cast<int>(sim::Verb::kNoop))] = 1;
    mask_[static_cast<std::size_t>(ml.target(static_cast<int>(sim::Verb::kNoop)))] = 1;
    for (std::size_t k = 0; k < spec_.reward_components.size(); ++k)
      if (spec_.reward_components[k] == "slo_penalty") slo_component_ = static_cast<int>(k);
    if (slo_component_ < 0) throw std::logic_error("the spec names no slo_penalty reward component");
  }

  // ---- episodes -----------------------------------------------------------------------

  // The snapshot a grid time reads: the latest at or before it; before the first, the first.
  std::size_t snapshot_at(double t) const {
    const auto it = std::upper_bound(times_.begin(), times_.end(), t + kClockEps);
    return it == times_.begin() ? 0 : static_cast<std::size_t>(it - times_.begin()) - 1;
  }

  std::string clock_text(double t) const { return labels_.unix_clock() ? prom::format_rfc3339(t) : fmt::format("{}s", t); }

  void time_of_day(float* g, double t) const {
    double angle = 0;
    if (labels_.unix_clock()) {
      angle = 2 * std::numbers::pi * std::fmod(t, 86400.0) / 86400.0;  // UTC time of day
    } else {  // the scenario's clock: the env's own formula (angle 0 at the traffic trough)
      const sim::Scenario& sc = *scenario_;
      angle =
          2 * std::numbers::pi *
          std::fmod(static_cast<double>(sim::from_seconds(t) - sc.traffic.phase) / static_cast<double>(sc.traffic.period), 1.0);
    }
    const f::Layout cols(o_.history);
    g[cols.global.cur(f::kTimeOfDaySin)] = static_cast<float>(std::sin(angle));
    g[cols.global.cur(f::kTimeOfDayCos)] = static_cast<float>(std::cos(angle));
  }

  void episode(std::size_t i, Episode& ep) {
    const prom::Incident& in = labels_.incidents[i];
    const double first = times_.front(), last = times_.back();
    const double end = std::min(in.end, last + kClockEps);
    const int T = static_cast<int>(std::floor((end - in.start) / step_s_ + kClockEps));
    if (T < 1 || in.start + T * step_s_ < first - kClockEps)
      fail(in.where,
           fmt::format("the window {} .. {} holds no step of data (the samples cover {} .. {})", clock_text(in.start),
                       clock_text(in.end), clock_text(first), clock_text(last)),
           fmt::format("a window overlapping the samples by at least one step ({} s)", step_s_));
    if (in.start + (T + 0.0) * step_s_ < in.end - step_s_ + kClockEps)
      report_.notes.push_back(fmt::format("incident {}: the samples end at {}, before the window's end {}: cut to {} steps", i,
                                          clock_text(last), clock_text(in.end), T));
    if (in.start - (o_.history - 1) * step_s_ < first - kClockEps)
      report_.notes.push_back(
          fmt::format("incident {}: the window (with its history of {} steps before {}) starts before the "
                      "first sample ({}): the first sample stands in for the rows before it",
                      i, o_.history - 1, clock_text(in.start), clock_text(first)));
    const f::Layout cols(o_.history);
    TelemetryTokens tok(*scenario_, tokens_, cols);
    tok.clear();
    ep.clear(T);
    std::size_t prev = 0;
    for (int k = -(o_.history - 1); k <= T; ++k) {
      const double t = in.start + k * step_s_;
      const std::size_t s = snapshot_at(t);
      tok.push(snaps_[s]);
      if (k < 0) {
        prev = s;
        continue;
      }
      if (k > 0 && s != prev) ++report_.fresh_steps;
      used_.push_back(s);
      prev = s;
      float* g = tok.global_row();
      time_of_day(g, t);
      g[cols.global.cur(f::kEpisodeProgress)] = static_cast<float>(static_cast<double>(k) / spec_.max_episode_steps);
      g[cols.global.cur(f::kTaskIncident)] = 1;
      g[cols.global.cur(f::kTaskAutoscale)] = 0;
      g[cols.global.cur(f::kEscalationPending)] = 0;
      g[cols.global.cur(f::kDiagnosisClaimed)] = 0;
      tok.emit(ep);
      ep.task_id.push_back(static_cast<std::int32_t>(envs::TaskId::kIncident));
      ep.action_mask.insert(ep.action_mask.end(), mask_.begin(), mask_.end());
      ep.time_s.push_back(k * step_s_);
    }
    const auto C = spec_.reward_components.size();
    double violated = 0;
    for (int k = 0; k < T; ++k) {
      for (int a = 0; a < spec_.action_width; ++a) ep.actions.push_back(0);
      // The one reward term the data supports: time outside the SLO, judged at the next scrape.
      const bool ok = snaps_[snapshot_at(in.start + (k + 1) * step_s_)].slo_ok;
      const double minutes = ok ? 0.0 : step_s_ / 60.0;
      violated += minutes;
      const double penalty = -config_->reward.slo_per_minute * minutes;
      for (std::size_t c = 0; c < C; ++c) ep.reward_components.push_back(static_cast<int>(c) == slo_component_ ? penalty : 0.0);
      ep.rewards.push_back(penalty);
      ep.terminations.push_back(0);
      ep.truncations.push_back(k + 1 == T);
      for (int a = 0; a < kActionOutcomeWidth; ++a) ep.action_outcome.push_back(0);
    }
    EpisodeMeta& meta = ep.meta;
    if (in.type) {
      std::string root = in.root;
      if (const auto a = labels_.entities.find(root); a != labels_.entities.end()) root = a->second;
      const sim::EntityRef e = names_->find_entity(root);
      const sim::EntityKind want = sim::fault_info(*in.type).root_kind;
      if (e.kind != want)
        fail(in.where + ".root",
             fmt::format("\"{}\" is {} of scenario {}", in.root,
                         e.kind == sim::EntityKind::kNone
                             ? "not an entity"
                             : fmt::format("a {}, not a {}", sim::entity_kind_name(e.kind), sim::entity_kind_name(want)),
                         scenario_->name),
             fmt::format("a {} (the root kind of {}): one of {}", sim::entity_kind_name(want), in.fault,
                         join(entity_names(want))));
      FaultRow row;
      row.type = static_cast<int>(*in.type);
      row.root_token = tokens_.token_of(e);
      row.onset_s = in.onset - in.start;
      row.mitigated_s = in.mitigated >= 0 ? in.mitigated - in.start : -1;
      row.source_type = in.fault;
      row.source_root = in.root;
      ep.faults.push_back(row);
      meta.first_onset_s = row.onset_s;
    }
    meta.control = !in.type.has_value();
    meta.seed = i;
    meta.task = spec_.task;
    meta.scenario_hash = scenario_hash(toml_);
    for (double r : ep.rewards) meta.return_ += r;
    meta.truncated = true;
    meta.slo_violation_minutes = violated;
    meta.elapsed_s = T * step_s_;
    meta.source_window = clock_text(in.start) + "/" + clock_text(in.start + T * step_s_);
  }

  void notes() {
    auto& n = report_.notes;
    std::vector<std::string> files;
    for (const auto& q : files_) files.push_back(q.file);
    n.insert(
        n.begin(),
        {fmt::format(
             "source: {} query_range answer(s) ({}): {} series mapped, {} samples; {} snapshots (distinct times) from {} to {}",
             files_.size(), join(files, 4), report_.series, report_.samples, times_.size(), clock_text(times_.front()),
             clock_text(times_.back())),
         labels_.unix_clock()
             ? std::string("clock: the samples' own timestamps (Unix seconds); time of day = UTC")
             : fmt::format("clock: the series {} (each sample's time on the scenario's clock); time of day from the scenario's "
                           "traffic curve, as the env computes it",
                           labels_.clock),
         fmt::format("tokens: scenario {} ({} nodes, {} services, {} replica slots): T = {}; labels {} / {} / {}",
                     scenario_->name, names_->num_nodes(), names_->num_services(), names_->num_replica_slots(), spec_.max_tokens,
                     labels_.labels.node, labels_.labels.service, labels_.labels.replica),
         fmt::format("resampling: one step per {} s (the env's step interval); a step reads the latest snapshot at or before "
                     "it (zero-order hold, as Prometheus' lookback); {} of {} steps read a newer snapshot than the step before",
                     step_s_, report_.fresh_steps,
                     std::max<std::int64_t>(
                         1, static_cast<std::int64_t>(used_.size()) - static_cast<std::int64_t>(labels_.incidents.size())))});
    if (held_)
      n.push_back(fmt::format("gaps: {} values absent at a snapshot (or NaN/Inf: {}) held from the previous snapshot", held_,
                              non_finite_));
    if (!missing_.empty())
      n.push_back("filled with healthy values (metric absent for some entities, count): " + join(missing_, 40));
    if (from_info_)
      n.push_back(fmt::format("replica placement of {} slots from {} (no replica_node series)", from_info_, prom::kReplicaInfo));
    n.push_back(fmt::format("alerts: {} series of {} onto the tokens' alert flags", alert_series_, prom::kAlertFiring));
    n.push_back(
        "lost: values between the snapshots the scraper kept (each step holds the latest one); float64 samples become "
        "float32 features; the operators' actions (every action row is noop, the mask allows only noop "
        "remediations); reward terms other than slo_penalty (0), judged at the scrape rather than integrated; "
        "fault severity (NaN); alert 'since' times");
  }

  PrometheusOptions o_;
  sim::ScenarioPtr scenario_;
  std::string toml_;
  prom::LabelsFile labels_;
  std::vector<prom::QueryRange> files_;
  std::unique_ptr<sim::Cluster> names_;
  double step_s_ = 15;
  std::map<double, double> clock_of_;
  std::vector<Target> targets_;
  std::vector<double> times_;  // snapshot times on the clock, increasing
  std::vector<sim::Telemetry> snaps_;
  std::vector<std::size_t> used_;  // snapshot of every observation row written
  std::int64_t held_ = 0, non_finite_ = 0;
  int from_info_ = 0, alert_series_ = 0;
  std::vector<std::string> missing_;
  envs::EnvConfigPtr config_;
  envs::EnvSpec spec_;
  envs::TokenLayout tokens_;
  std::vector<std::uint8_t> mask_;
  int slo_component_ = -1;
  PrometheusReport report_;
};

}  // namespace

PrometheusReport import_prometheus(const PrometheusOptions& o, const std::filesystem::path& out, const std::string& command) {
  if (o.query_range.empty()) throw std::invalid_argument("import-prometheus: at least one --query-range file is needed");
  if (o.history < 1) throw std::invalid_argument(fmt::format("import-prometheus: history must be >= 1, got {}", o.history));
  return Importer(o).run(out, command);
}

}  // namespace opsrl::datasets
