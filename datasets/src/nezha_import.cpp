// Nezha -> incident dataset. The loaded minute grid (nezha_tables) becomes, per fault, an
// episode of entity-token observations laid out exactly as the incident env lays them out
// (docs/observation.md), over a scenario with Nezha's topology (its nodes, services and call
// graph, one replica slot per pod), so that a policy reads them as it reads the simulator's.
//
//   minute m of the grid --> token rows (global, nodes, services, replicas), history = m-H+1..m
//   fault j at tau_j     --> episode: minutes [tau_j - before, min(tau_j + after, tau_{j+1}))
#include <opsrl/datasets/nezha.hpp>

#include <algorithm>
#include <cmath>
#include <map>
#include <numbers>

#include <fmt/format.h>

#include <opsrl/datasets/format.hpp>
#include <opsrl/datasets/spec_json.hpp>
#include <opsrl/datasets/writer.hpp>
#include <opsrl/envs/actions.hpp>
#include <opsrl/envs/env.hpp>
#include <opsrl/envs/features.hpp>
#include <opsrl/sim/faults.hpp>
#include <opsrl/sim/scenario.hpp>

#include "nezha_tables.hpp"

namespace opsrl::datasets {

namespace {

namespace f = envs::feature;
using nezha::Data;
using nezha::Pod;

// Values for what Nezha does not measure: those of a healthy, long-running simulated cluster, so
// that the gap reads as "nothing unusual" rather than as a symptom.
constexpr double kDiskHealthy = 0.35;        // the scenarios' disk_baseline
constexpr double kNetDelayHealthy = 0.005;   // 0.5 ms extra cross-node delay, / 100 ms
constexpr double kLongAgoSeconds = 7 * 86400.0;  // deploy age and uptime: services deployed days ago
constexpr double kNodeCores = 8, kNodeMemoryGiB = 32;  // the simulator's default node
constexpr double kErrorSlo = 0.01;

struct FaultMapping {
  const char* nezha;
  sim::FaultType type;
};
constexpr FaultMapping kMappings[] = {
    {"cpu_consumed", sim::FaultType::kRunawayProcess},
    {"cpu_contention", sim::FaultType::kNoisyNeighbour},
    {"network_delay", sim::FaultType::kNetworkDegradation},
    {"return", sim::FaultType::kBadDeploy},
    {"exception", sim::FaultType::kBadDeploy},
};

sim::FaultType mapped_type(const std::string& nezha_type) {
  for (const FaultMapping& m : kMappings)
    if (nezha_type == m.nezha) return m.type;
  throw std::logic_error("unmapped Nezha fault type " + nezha_type);
}

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

double saturate(double x, double half) { return x / (x + half); }

// Per-pod constants derived from the whole trace.
struct PodStatic {
  double cores = 0.1;        // CPU limit: CpuUsage(m) / CpuUsageRate
  double memory_gib = 0.25;  // memory limit: MemoryUsage(Mi) / MemoryUsageRate
  double workload = 1;       // median requests/s: "normal load" for the rate features
  int service = 0, node = 0;
};

double ratio_median(const Pod& p, nezha::PodMetric amount, nezha::PodMetric rate, double scale, double fallback) {
  std::vector<double> r;
  for (std::size_t m = 0; m < p.series[amount].size(); ++m)
    if (p.series[rate][m] > 0.5) r.push_back(p.series[amount][m] / (p.series[rate][m] / 100.0) * scale);
  return r.empty() ? fallback : median(r);
}

class Importer {
 public:
  Importer(const NezhaOptions& o, Data data) : o_(o), d_(std::move(data)), cols_(o.history) {}

  ImportReport run(const std::filesystem::path& out, const std::string& command) {
    derive_statics();
    build_env();
    DatasetHeader h;
    h.source = std::string(kSourceNezha);
    h.spec = spec_;
    h.env_config_json = config_to_json(*config_);
    h.scenario = config_->scenario->name;
    h.scenario_toml = toml_;
    h.scenario_hash = scenario_hash(toml_);
    h.command = command;
    ImportReport report;
    report.faults = static_cast<int>(d_.faults.size());
    report.tokens = spec_.max_tokens;
    notes_before(report);
    std::vector<Episode> episodes;
    for (std::size_t j = 0; j < d_.faults.size(); ++j) {
      Episode ep(EpisodeShape::of(spec_));
      if (episode(j, ep)) episodes.push_back(std::move(ep));
    }
    notes_after(report, episodes);
    std::string notes;
    for (const std::string& n : report.notes) notes += n + "\n";
    h.notes = notes;
    Writer w(out, h);
    for (const Episode& ep : episodes) {
      w.append(ep);
      ++report.episodes;
      report.steps += ep.steps();
    }
    w.close();
    return report;
  }

 private:
  void derive_statics() {
    std::map<std::string, int> node_index;
    for (std::size_t n = 0; n < d_.nodes.size(); ++n) node_index[d_.nodes[n]] = static_cast<int>(n);
    pod_success_usable_ = false;
    for (std::size_t i = 0; i < d_.pods.size(); ++i) {
      const Pod& p = d_.pods[i];
      PodStatic s;
      s.cores = std::max(0.01, ratio_median(p, nezha::kCpuMilli, nezha::kCpuRate, 1e-3, 0.1));
      s.memory_gib = std::max(1.0 / 64, ratio_median(p, nezha::kMemMi, nezha::kMemRate, 1.0 / 1024, 0.25));
      s.workload = median(p.series[nezha::kWorkload]);
      if (!(s.workload > 0)) s.workload = 1;
      s.service = static_cast<int>(i);
      s.node = node_index.at(d_.node_of.at(p.service));
      statics_.push_back(s);
      for (double v : p.series[nezha::kSuccess]) pod_success_usable_ = pod_success_usable_ || v != 0;
      if (p.service == "frontend") frontend_ = static_cast<int>(i);
    }
    if (frontend_ < 0) throw std::invalid_argument(fmt::format("{}: no frontend pod: the entry service is unknown", o_.dir.string()));
    // The SLO: twice the frontend's usual p99, rounded up to half a second (the shop has no
    // published SLO; this makes a normal minute meet it and a slow one break it).
    const double p99 = median(d_.front[nezha::kFrontP99]);
    slo_p99_s_ = std::max(0.5, std::ceil(2 * p99 / 0.5) * 0.5);
    frontend_p99_ = p99;
  }

  void build_env() {
    std::string t = fmt::format(
        "# Generated by opsrl dataset import-nezha from {}: the topology of the recorded system\n"
        "# (its nodes, services, call graph; one replica slot per pod). Not a performance model.\n"
        "name = \"nezha-online-boutique\"\n"
        "description = \"OnlineBoutique as recorded by Nezha: {} nodes, {} services, one pod each\"\n\n"
        "[slo]\np99_latency_ms = {}\nerror_rate = {}\n\n"
        "[telemetry]\nscrape_interval = \"60s\"\nnoise = 0.0\n\n"
        "[traffic]\nbase_rps = {:.3f}\ndiurnal_amplitude = 0.0\nnoise_sigma = 0.0\nsurges_per_hour = 0.0\n",
        o_.dir.filename().string(), d_.nodes.size(), d_.pods.size(), slo_p99_s_ * 1000, kErrorSlo,
        statics_[static_cast<std::size_t>(frontend_)].workload);
    for (const std::string& n : d_.nodes)
      t += fmt::format("\n[[nodes]]\nname = \"{}\"\ncpu_cores = {}\nmemory_gib = {}\n", n, kNodeCores, kNodeMemoryGiB);
    for (std::size_t i = 0; i < d_.pods.size(); ++i) {
      const Pod& p = d_.pods[i];
      const PodStatic& s = statics_[i];
      std::string calls;
      for (const auto& [a, b] : d_.calls)
        if (a == p.service) calls += fmt::format("{}{{ service = \"{}\", calls_per_request = 1.0 }}", calls.empty() ? "" : ", ", b);
      t += fmt::format(
          "\n[[services]]\nname = \"{}\"\ntier = \"{}\"\ncpu_seconds_per_request = 0.0001\ncpu_request = {:.4f}\n"
          "memory_request_gib = {:.4f}\nmemory_limit_gib = {:.4f}\nmemory_baseline = {:.3f}\nreplicas = 1\nmin_replicas = 1\n"
          "max_replicas = 1\ntraffic_share = {}\ncalls = [{}]\n",
          p.service, p.service == "frontend" ? "frontend" : "backend", s.cores, s.memory_gib / 2, s.memory_gib,
          std::clamp(median(p.series[nezha::kMemRate]) / 100, 0.05, 0.9), static_cast<int>(i) == frontend_ ? 1.0 : 0.0, calls);
    }
    toml_ = t;
    envs::EnvConfig c;
    try {
      c.scenario = sim::parse_scenario(toml_, "nezha-online-boutique");
    } catch (const std::exception& e) {
      throw std::logic_error(fmt::format("the generated scenario does not load: {}\n{}", e.what(), toml_));
    }
    c.history = o_.history;
    c.telemetry_noise = false;
    c.day_phases = 1;
    const sim::SimTime window = o_.before + o_.after + static_cast<sim::SimTime>(o_.history + 2) * sim::kMinute;
    c.incident.time_limit = (window + sim::kMinute - 1) / sim::kMinute * sim::kMinute;
    c.incident.onset_max = std::min(c.incident.onset_max, c.incident.time_limit / 2);
    config_ = envs::make_config(c);
    auto env = envs::make_env("incident", config_);
    spec_ = env->spec();
    tokens_ = env->tokens();
    // The diagnosis part of the mask is the env's own (every type, at the tokens of its root
    // kind); remediations: only noop, since nothing can be applied to a recording.
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

  double value(const Pod& p, nezha::PodMetric c, int m) const {
    return p.series[c][static_cast<std::size_t>(std::clamp(m, 0, d_.minutes - 1))];
  }
  double front(nezha::FrontMetric c, int m) const {
    return d_.front[c][static_cast<std::size_t>(std::clamp(m, 0, d_.minutes - 1))];
  }
  bool slo_ok(int m) const {
    return front(nezha::kFrontSuccess, m) >= 100 * (1 - kErrorSlo) && front(nezha::kFrontP99, m) <= slo_p99_s_;
  }
  double error_rate(std::size_t pod, int m) const {
    if (static_cast<int>(pod) == frontend_) return std::clamp(1 - front(nezha::kFrontSuccess, m) / 100, 0.0, 1.0);
    return pod_success_usable_ ? std::clamp(1 - value(d_.pods[pod], nezha::kSuccess, m) / 100, 0.0, 1.0) : 0.0;
  }

  // One observation: minute m of the grid, `step` steps into its episode.
  void observation(Episode& ep, int m, int step) const {
    const int T = spec_.max_tokens, F = spec_.feature_width, H = o_.history;
    const std::size_t base = ep.features.size();
    ep.features.resize(base + static_cast<std::size_t>(T) * static_cast<std::size_t>(F), 0.0f);
    auto row = [&](int token) { return ep.features.data() + base + static_cast<std::size_t>(token) * static_cast<std::size_t>(F); };
    auto hist = [&](float* r, const f::KindColumns& k, int metric, auto&& fn) {
      for (int a = 0; a < H; ++a) r[k.hist(metric, a)] = static_cast<float>(fn(m - a));
    };
    // global
    float* g = row(0);
    g[0] = 1;
    const Pod& fe = d_.pods[static_cast<std::size_t>(frontend_)];
    const double fe_load = statics_[static_cast<std::size_t>(frontend_)].workload;
    hist(g, cols_.global, f::kExternalRate, [&](int mm) { return value(fe, nezha::kWorkload, mm) / fe_load; });
    hist(g, cols_.global, f::kSloOk, [&](int mm) { return slo_ok(mm) ? 1.0 : 0.0; });
    const double angle = 2 * std::numbers::pi * static_cast<double>(d_.time_of(m) % 86400) / 86400.0;
    g[cols_.global.cur(f::kTimeOfDaySin)] = static_cast<float>(std::sin(angle));
    g[cols_.global.cur(f::kTimeOfDayCos)] = static_cast<float>(std::cos(angle));
    g[cols_.global.cur(f::kNodesReady)] = 1;
    g[cols_.global.cur(f::kEpisodeProgress)] = static_cast<float>(static_cast<double>(step) / spec_.max_episode_steps);
    g[cols_.global.cur(f::kTaskIncident)] = 1;
    // nodes
    for (std::size_t n = 0; n < d_.nodes.size(); ++n) {
      float* r = row(tokens_.node_token(static_cast<int>(n)));
      r[1] = 1;
      const Pod* host = nullptr;
      int pods = 0;
      double cpu_alloc = 0, mem_alloc = 0;
      for (std::size_t i = 0; i < d_.pods.size(); ++i)
        if (statics_[i].node == static_cast<int>(n)) {
          if (!host) host = &d_.pods[i];
          ++pods;
          cpu_alloc += statics_[i].cores;
          mem_alloc += statics_[i].memory_gib / 2;
        }
      hist(r, cols_.node, f::kNodeCpu, [&](int mm) { return value(*host, nezha::kNodeCpu, mm) / 100; });
      hist(r, cols_.node, f::kNodeMem, [&](int mm) { return value(*host, nezha::kNodeMem, mm) / 100; });
      hist(r, cols_.node, f::kNodeDisk, [](int) { return kDiskHealthy; });
      hist(r, cols_.node, f::kNodeNetDelay, [](int) { return kNetDelayHealthy; });
      hist(r, cols_.node, f::kNodeReady, [](int) { return 1.0; });
      r[cols_.node.cur(f::kNodeReplicas)] = static_cast<float>(pods / 10.0);
      r[cols_.node.cur(f::kNodeCpuAllocated)] = static_cast<float>(cpu_alloc / kNodeCores);
      r[cols_.node.cur(f::kNodeMemAllocated)] = static_cast<float>(mem_alloc / kNodeMemoryGiB);
      r[cols_.node.cur(f::kNodeCores)] = static_cast<float>(kNodeCores / 16);
      r[cols_.node.cur(f::kNodeMemory)] = static_cast<float>(kNodeMemoryGiB / 64);
    }
    // services and their single replica slot
    const double slo = slo_p99_s_;
    for (std::size_t i = 0; i < d_.pods.size(); ++i) {
      const Pod& p = d_.pods[i];
      const PodStatic& st = statics_[i];
      const bool fe_pod = static_cast<int>(i) == frontend_;
      const int tier = fe_pod ? 0 : 1;  // frontend, backend
      float* s = row(tokens_.service_token(static_cast<int>(i)));
      s[2] = 1;
      hist(s, cols_.service, f::kSvcRate, [&](int mm) { return value(p, nezha::kWorkload, mm) / st.workload; });
      hist(s, cols_.service, f::kSvcError, [&](int mm) { return error_rate(i, mm); });
      hist(s, cols_.service, f::kSvcP99, [&](int mm) {
        return (fe_pod ? front(nezha::kFrontP99, mm) : value(p, nezha::kP99, mm)) / slo;
      });
      hist(s, cols_.service, f::kSvcReadyRatio, [](int) { return 1.0; });
      hist(s, cols_.service, f::kSvcCpu, [&](int mm) { return value(p, nezha::kCpuRate, mm) / 100; });
      hist(s, cols_.service, f::kSvcMem, [&](int mm) { return value(p, nezha::kMemRate, mm) / 100; });
      hist(s, cols_.service, f::kSvcDeployAge, [](int) { return saturate(kLongAgoSeconds, 600); });
      s[cols_.service.cur(f::kSvcTierFrontend + tier)] = 1;
      s[cols_.service.cur(f::kSvcEntry)] = fe_pod ? 1.0f : 0.0f;
      s[cols_.service.cur(f::kSvcDesiredFrac)] = 1;
      s[cols_.service.cur(f::kSvcReadyFrac)] = 1;
      s[cols_.service.cur(f::kSvcMinFrac)] = 1;
      f::set_replica_features(s, cols_.service, 1, 1, 0);  // one pod per service: nothing to scale in
      s[cols_.service.cur(f::kSvcCpuRequest)] = static_cast<float>(st.cores);
      s[cols_.service.cur(f::kSvcP50)] =
          static_cast<float>((fe_pod ? front(nezha::kFrontP50, m) : value(p, nezha::kP90, m)) / slo);
      s[cols_.service.cur(f::kSvcP95)] = static_cast<float>((fe_pod ? front(nezha::kFrontP95, m) : value(p, nezha::kP95, m)) / slo);

      float* r = row(tokens_.replica_token(static_cast<int>(i)));
      r[3] = 1;
      hist(r, cols_.replica, f::kRepCpu, [&](int mm) { return value(p, nezha::kCpuRate, mm) / 100; });
      hist(r, cols_.replica, f::kRepMem, [&](int mm) { return value(p, nezha::kMemRate, mm) / 100; });
      hist(r, cols_.replica, f::kRepError, [&](int mm) { return error_rate(i, mm); });
      hist(r, cols_.replica, f::kRepP99, [&](int mm) { return value(p, nezha::kP99, mm) / slo; });
      hist(r, cols_.replica, f::kRepReady, [](int) { return 1.0; });
      r[cols_.replica.cur(f::kRepPresent)] = 1;
      r[cols_.replica.cur(f::kRepRate)] = static_cast<float>(value(p, nezha::kWorkload, m) / st.workload);
      r[cols_.replica.cur(f::kRepUptime)] = static_cast<float>(saturate(kLongAgoSeconds, 600));
      r[cols_.replica.cur(f::kRepCpuRequest)] = static_cast<float>(st.cores);
      r[cols_.replica.cur(f::kRepMemoryLimit)] = static_cast<float>(st.memory_gib);
      r[cols_.replica.cur(f::kRepTierFrontend + tier)] = 1;
      r[cols_.replica.cur(f::kRepEntry)] = fe_pod ? 1.0f : 0.0f;
    }
    // token types, validity, links, task id, mask
    for (int t = 0; t < T; ++t) {
      const envs::TokenType type = tokens_.type_of(t);
      ep.token_type.push_back(static_cast<std::int32_t>(type));
      ep.valid.push_back(type != envs::TokenType::kPadding);
      const sim::EntityRef e = tokens_.entity_of(t);
      if (e.kind == sim::EntityKind::kReplica) {
        ep.links.push_back(tokens_.service_token(e.index));  // one slot per service: slot i is service i's
        ep.links.push_back(tokens_.node_token(statics_[static_cast<std::size_t>(e.index)].node));
      } else {
        ep.links.push_back(-1);
        ep.links.push_back(-1);
      }
    }
    ep.task_id.push_back(static_cast<std::int32_t>(envs::TaskId::kIncident));
    ep.action_mask.insert(ep.action_mask.end(), mask_.begin(), mask_.end());
    ep.time_s.push_back(60.0 * step);
  }

  int root_token(const nezha::Fault& fault, sim::FaultType type) const {
    std::size_t i = 0;
    while (d_.pods[i].name != fault.pod) ++i;  // load() checked that the pod exists
    switch (sim::fault_info(type).root_kind) {
      case sim::EntityKind::kReplica: return tokens_.replica_token(static_cast<int>(i));
      case sim::EntityKind::kService: return tokens_.service_token(static_cast<int>(i));
      case sim::EntityKind::kNode: return tokens_.node_token(statics_[i].node);
      default: return 0;
    }
  }

  // The episode of fault j, or false when its window is empty (noted).
  bool episode(std::size_t j, Episode& ep) {
    const nezha::Fault& fault = d_.faults[j];
    const auto sec = [](sim::SimTime t) { return static_cast<std::int64_t>(t / sim::kSecond); };
    const std::int64_t tau = fault.inject_unix;
    // First observation: the last row at or before tau - before; last: the first row at or after
    // tau + after, but before the next injection.
    const auto floor_minute = [&](std::int64_t u) { return static_cast<int>(std::floor(static_cast<double>(u - d_.t0) / 60.0)); };
    const auto ceil_minute = [&](std::int64_t u) { return static_cast<int>(std::ceil(static_cast<double>(u - d_.t0) / 60.0)); };
    const int m0 = std::max(0, floor_minute(tau - sec(o_.before)));
    int m1 = std::min(d_.minutes - 1, ceil_minute(tau + sec(o_.after)));
    if (j + 1 < d_.faults.size()) m1 = std::min(m1, ceil_minute(d_.faults[j + 1].inject_unix) - 1);
    const int m_inject = ceil_minute(tau);
    if (m1 <= m0 || m1 < m_inject) {
      skipped_.push_back(fmt::format("fault {} ({} {} at {}): no minute row between the injection and the next one: skipped", j,
                                     fault.type, fault.pod, fault.inject_time));
      return false;
    }
    const int T = m1 - m0;
    ep.clear(T);
    for (int t = 0; t <= T; ++t) observation(ep, m0 + t, t);
    const auto C = static_cast<std::size_t>(spec_.reward_components.size());
    int violated = 0;
    for (int t = 0; t < T; ++t) {
      for (int a = 0; a < spec_.action_width; ++a) ep.actions.push_back(0);
      // The only reward term measured: minutes outside the SLO (as the env's slo_penalty).
      const bool ok = slo_ok(m0 + t + 1);
      violated += !ok;
      const double penalty = ok ? 0.0 : -config_->reward.slo_per_minute;
      for (std::size_t c = 0; c < C; ++c) ep.reward_components.push_back(static_cast<int>(c) == slo_component_ ? penalty : 0.0);
      ep.rewards.push_back(penalty);
      ep.terminations.push_back(0);
      ep.truncations.push_back(t + 1 == T);
      for (int k = 0; k < kActionOutcomeWidth; ++k) ep.action_outcome.push_back(0);
    }
    const sim::FaultType type = mapped_type(fault.type);
    FaultRow row;
    row.type = static_cast<int>(type);
    row.root_token = root_token(fault, type);
    row.onset_s = static_cast<double>(tau - d_.time_of(m0));
    row.source_type = fault.type;
    row.source_root = fault.pod;
    ep.faults.push_back(row);
    EpisodeMeta& meta = ep.meta;
    meta.seed = j;
    meta.task = spec_.task;
    meta.scenario_hash = scenario_hash(toml_);
    for (double r : ep.rewards) meta.return_ += r;
    meta.truncated = true;
    meta.first_onset_s = row.onset_s;
    meta.slo_violation_minutes = violated;
    meta.elapsed_s = 60.0 * T;
    meta.source_window = nezha::format_time(d_.time_of(m0)) + "/" + nezha::format_time(d_.time_of(m1));
    return true;
  }

  void notes_before(ImportReport& r) const {
    auto& n = r.notes;
    n.push_back(fmt::format("source: {} (Nezha's layout): {} pods x {} minutes, {} .. {}; one step per minute row", o_.dir.string(),
                            d_.pods.size(), d_.minutes, nezha::format_time(d_.time_of(0)), nezha::format_time(d_.time_of(d_.minutes - 1))));
    n.push_back(fmt::format("tokens: scenario nezha-online-boutique with {} nodes (the node IPs of dependency.csv), {} services "
                            "(one pod each, one replica slot each): T = {}",
                            d_.nodes.size(), d_.pods.size(), spec_.max_tokens));
    std::string mapping;
    for (const FaultMapping& m : kMappings)
      mapping += fmt::format("{}{} -> {} ({} token)", mapping.empty() ? "" : ", ", m.nezha, sim::fault_info(m.type).name,
                             sim::entity_kind_name(sim::fault_info(m.type).root_kind));
    n.push_back("fault types: " + mapping + "; root = the injected pod's replica, service or node token");
    n.push_back(fmt::format("SLO (for slo_ok, the p99 features and the slo_penalty reward): frontend p99 <= {:.1f} s (twice its "
                            "median {:.2f} s) and success >= {:.0f}%",
                            slo_p99_s_, frontend_p99_, 100 * (1 - kErrorSlo)));
    for (const Pod& p : d_.pods) {
      if (p.timestamps_ignored)
        n.push_back(fmt::format("{}: TimeStamp disagrees with Time on {} of {} rows: Time used", p.name, p.timestamps_ignored, p.rows));
      if (p.nan_filled) n.push_back(fmt::format("{}: {} NaN cells filled from the previous minute", p.name, p.nan_filled));
      if (p.gaps_filled) n.push_back(fmt::format("{}: {} minutes without a row filled from the previous minute", p.name, p.gaps_filled));
    }
    if (d_.front_nan_filled)
      n.push_back(fmt::format("front_service.csv: {} NaN cells or missing minutes filled from the previous minute", d_.front_nan_filled));
    if (!pod_success_usable_)
      n.push_back("lost: PodSuccessRate(%) is 0 on every row of every pod (not collected): per-pod and per-service error rates "
                  "are 0, except the frontend's, from front_service.csv");
    n.push_back("lost (no opsrl counterpart): SyscallRead, SyscallWrite, NetworkReceiveBytes, NetworkTransmitBytes, "
                "PodClientLatencyP90/P95/P99, NodeNetworkReceiveBytes, source_50.csv and destination_50.csv (per-call latency), "
                "root_cause_hipster.json, logs and traces");
    n.push_back("filled with a healthy simulated cluster's values (not measured by Nezha): node disk 0.35, network delay 0.005, "
                "packet loss 0, node ready; node size 8 cores / 32 GiB; every alert 0; restarts 0; deploy age and uptime "
                "as 7 days; p50 of non-frontend services: the pod's p90 stands in");
    n.push_back("not in the data: the operators' actions (every action row is noop, the mask allows only noop remediations); "
                "reward terms other than slo_penalty (0); fault severity (NaN) and mitigation time (-1)");
    for (const std::string& s : d_.ignored) n.push_back(s);
  }

  void notes_after(ImportReport& r, const std::vector<Episode>& episodes) const {
    r.notes.push_back(fmt::format("episodes: {} of {} faults, windows {} min before to {} min after the injection, cut before "
                                  "the next one",
                                  episodes.size(), d_.faults.size(), o_.before / sim::kMinute, o_.after / sim::kMinute));
    for (const std::string& s : skipped_) r.notes.push_back(s);
  }

  NezhaOptions o_;
  Data d_;
  f::Layout cols_;
  std::vector<PodStatic> statics_;
  int frontend_ = -1;
  bool pod_success_usable_ = false;
  double slo_p99_s_ = 1, frontend_p99_ = 0;
  std::string toml_;
  envs::EnvConfigPtr config_;
  envs::EnvSpec spec_;
  envs::TokenLayout tokens_;
  std::vector<std::uint8_t> mask_;
  int slo_component_ = -1;
  std::vector<std::string> skipped_;
};

}  // namespace

ImportReport import_nezha(const NezhaOptions& o, const std::filesystem::path& out, const std::string& command) {
  if (o.before < 0) throw std::invalid_argument(fmt::format("import-nezha: before must be >= 0, got {} ms", o.before));
  if (o.after < sim::kMinute) throw std::invalid_argument(fmt::format("import-nezha: after must be >= 1 min, got {} ms", o.after));
  if (o.history < 1) throw std::invalid_argument(fmt::format("import-nezha: history must be >= 1, got {}", o.history));
  return Importer(o, nezha::load(o.dir)).run(out, command);
}

}  // namespace opsrl::datasets
