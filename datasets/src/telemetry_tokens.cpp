// TelemetryTokens: the env tokenizer's arithmetic (envs/src/tokenizer.cpp, docs/observation.md)
// over a sim::Telemetry instead of a live cluster. Keep the two in step: the parity test in
// tests/datasets/test_prometheus.cpp fails on any column that differs.
#include "telemetry_tokens.hpp"

#include <algorithm>
#include <cstring>

#include <opsrl/datasets/episode.hpp>

namespace opsrl::datasets {

namespace {

using namespace envs::feature;

inline float saturate(double x, double half) { return static_cast<float>(x / (x + half)); }

int tier_index(const std::string& tier) {
  if (tier == "frontend") return 0;
  if (tier == "cache") return 2;
  if (tier == "database") return 3;
  return 1;
}

inline void age(float* row, const KindColumns& k) {
  const int n = k.num_history * k.history;
  if (n > 1) std::memmove(row + kTypeColumns, row + kTypeColumns + 1, sizeof(float) * static_cast<std::size_t>(n - 1));
}

}  // namespace

TelemetryTokens::TelemetryTokens(const sim::Scenario& sc, const envs::TokenLayout& tokens, const envs::feature::Layout& columns)
    : scenario_(&sc), tokens_(tokens), columns_(columns), width_(columns.feature_width) {
  const int S = tokens.num_services;
  expected_rps_.assign(static_cast<std::size_t>(S), 0.0);
  expected_rep_rps_.assign(static_cast<std::size_t>(S), 1.0);
  entry_.assign(static_cast<std::size_t>(S), 0);
  entry_expected_rps_ = 0;
  for (int s = 0; s < S; ++s) {
    expected_rps_[static_cast<std::size_t>(s)] = sc.traffic.base_rps * sc.services[static_cast<std::size_t>(s)].traffic_share;
    entry_[static_cast<std::size_t>(s)] = sc.services[static_cast<std::size_t>(s)].traffic_share > 0;
  }
  for (int s : sc.topological_order())
    for (const sim::CallSpec& call : sc.services[static_cast<std::size_t>(s)].calls)
      expected_rps_[static_cast<std::size_t>(call.target)] += expected_rps_[static_cast<std::size_t>(s)] * call.calls_per_request;
  for (std::size_t s = 0; s < static_cast<std::size_t>(S); ++s) {
    if (entry_[s]) entry_expected_rps_ += expected_rps_[s];
    expected_rps_[s] = std::max(expected_rps_[s], 1.0);
    expected_rep_rps_[s] = expected_rps_[s] / std::max(1, sc.services[s].replicas);
  }
  entry_expected_rps_ = std::max(entry_expected_rps_, 1.0);
  slo_p99_ms_ = sc.slo.p99_latency_ms;
  for (int s = 0; s < S; ++s)
    for (int k = 0; k < sc.services[static_cast<std::size_t>(s)].max_replicas; ++k) replica_service_.push_back(s);
  prev_service_restarts_.assign(static_cast<std::size_t>(S), 0.0);
  prev_replica_restarts_.assign(static_cast<std::size_t>(tokens.num_replica_slots), 0.0);

  const int T = tokens.max_tokens;
  feat_.assign(static_cast<std::size_t>(T) * static_cast<std::size_t>(width_), 0.0f);
  token_type_.assign(static_cast<std::size_t>(T), static_cast<std::int32_t>(envs::TokenType::kPadding));
  valid_.assign(static_cast<std::size_t>(T), 0);
  links_.assign(static_cast<std::size_t>(T) * 2, -1);
  for (int t = 0; t < tokens.num_real(); ++t) {
    token_type_[static_cast<std::size_t>(t)] = static_cast<std::int32_t>(tokens.type_of(t));
    valid_[static_cast<std::size_t>(t)] = 1;
  }
  for (int r = 0; r < tokens.num_replica_slots; ++r)
    links_[2 * static_cast<std::size_t>(tokens.replica_token(r))] =
        tokens.service_token(replica_service_[static_cast<std::size_t>(r)]);

  // Static columns, as the env writes them once.
  auto row = [&](int token) { return feat_.data() + static_cast<std::size_t>(token) * static_cast<std::size_t>(width_); };
  row(0)[0] = 1.0f;
  for (int n = 0; n < tokens_.num_nodes; ++n) {
    float* f = row(tokens_.node_token(n));
    f[1] = 1.0f;
    f[columns_.node.cur(kNodeCores)] = static_cast<float>(sc.nodes[static_cast<std::size_t>(n)].cpu_cores / 16.0);
    f[columns_.node.cur(kNodeMemory)] = static_cast<float>(sc.nodes[static_cast<std::size_t>(n)].memory_gib / 64.0);
  }
  for (int s = 0; s < tokens_.num_services; ++s) {
    const sim::ServiceSpec& spec = sc.services[static_cast<std::size_t>(s)];
    float* f = row(tokens_.service_token(s));
    f[2] = 1.0f;
    f[columns_.service.cur(kSvcTierFrontend + tier_index(spec.tier))] = 1.0f;
    f[columns_.service.cur(kSvcEntry)] = entry_[static_cast<std::size_t>(s)];
    f[columns_.service.cur(kSvcMinFrac)] = static_cast<float>(static_cast<double>(spec.min_replicas) / spec.max_replicas);
    f[columns_.service.cur(kSvcCpuRequest)] = static_cast<float>(spec.cpu_request);
  }
  for (int r = 0; r < tokens_.num_replica_slots; ++r) {
    const sim::ServiceSpec& spec = sc.services[static_cast<std::size_t>(replica_service_[static_cast<std::size_t>(r)])];
    float* f = row(tokens_.replica_token(r));
    f[3] = 1.0f;
    f[columns_.replica.cur(kRepTierFrontend + tier_index(spec.tier))] = 1.0f;
    f[columns_.replica.cur(kRepEntry)] = entry_[static_cast<std::size_t>(replica_service_[static_cast<std::size_t>(r)])];
    f[columns_.replica.cur(kRepCpuRequest)] = static_cast<float>(spec.cpu_request);
    f[columns_.replica.cur(kRepMemoryLimit)] = static_cast<float>(spec.memory_limit_gib);
  }
}

void TelemetryTokens::clear() {
  auto wipe = [&](int token, const KindColumns& k) {
    float* f = feat_.data() + static_cast<std::size_t>(token) * static_cast<std::size_t>(width_);
    std::fill(f + kTypeColumns, f + k.cur(0), 0.0f);
  };
  wipe(0, columns_.global);
  for (int n = 0; n < tokens_.num_nodes; ++n) wipe(tokens_.node_token(n), columns_.node);
  for (int s = 0; s < tokens_.num_services; ++s) wipe(tokens_.service_token(s), columns_.service);
  for (int r = 0; r < tokens_.num_replica_slots; ++r) wipe(tokens_.replica_token(r), columns_.replica);
  std::fill(prev_service_restarts_.begin(), prev_service_restarts_.end(), 0.0);
  std::fill(prev_replica_restarts_.begin(), prev_replica_restarts_.end(), 0.0);
}

void TelemetryTokens::push(const sim::Telemetry& t) {
  const sim::Scenario& sc = *scenario_;
  const double slo = slo_p99_ms_;
  auto row = [&](int token) { return feat_.data() + static_cast<std::size_t>(token) * static_cast<std::size_t>(width_); };

  const KindColumns& nc = columns_.node;
  int nodes_ready = 0;
  for (int n = 0; n < tokens_.num_nodes; ++n) {
    const double* m = t.nodes.data() + static_cast<std::ptrdiff_t>(n) * sim::kNumNodeMetrics;
    float* f = row(tokens_.node_token(n));
    age(f, nc);
    f[nc.newest(kNodeCpu)] = static_cast<float>(m[sim::kNodeCpuUtil]);
    f[nc.newest(kNodeMem)] = static_cast<float>(m[sim::kNodeMemUtil]);
    f[nc.newest(kNodeDisk)] = static_cast<float>(m[sim::kNodeDiskUtil]);
    f[nc.newest(kNodeNetDelay)] = static_cast<float>(m[sim::kNodeNetDelayMs] * 0.01);
    f[nc.newest(kNodeNetLoss)] = static_cast<float>(m[sim::kNodeNetLoss] * 10.0);
    f[nc.newest(kNodeReady)] = static_cast<float>(m[sim::kNodeReady]);
    nodes_ready += m[sim::kNodeReady] > 0.5;
    f[nc.cur(kNodeCordoned)] = static_cast<float>(m[sim::kNodeCordoned]);
    f[nc.cur(kNodeReplicas)] = static_cast<float>(m[sim::kNodeReplicas] * 0.1);
    f[nc.cur(kNodeCpuAllocated)] = 0.0f;
    f[nc.cur(kNodeMemAllocated)] = 0.0f;
    f[nc.cur(kNodeAlertNotReady)] = 0.0f;
    f[nc.cur(kNodeAlertDiskPressure)] = 0.0f;
  }

  const KindColumns& sc_cols = columns_.service;
  double entry_rps = 0;
  for (int s = 0; s < tokens_.num_services; ++s) {
    const auto si = static_cast<std::size_t>(s);
    const double* m = t.services.data() + static_cast<std::ptrdiff_t>(s) * sim::kNumServiceMetrics;
    const sim::ServiceSpec& spec = sc.services[si];
    float* f = row(tokens_.service_token(s));
    age(f, sc_cols);
    const double desired = std::max(1.0, m[sim::kSvcDesiredReplicas]);
    const double age_s = m[sim::kSvcDeployAge];
    if (entry_[si]) entry_rps += m[sim::kSvcRequestRate];
    f[sc_cols.newest(kSvcRate)] = static_cast<float>(m[sim::kSvcRequestRate] / expected_rps_[si]);
    f[sc_cols.newest(kSvcError)] = static_cast<float>(m[sim::kSvcErrorRate]);
    f[sc_cols.newest(kSvcP99)] = static_cast<float>(m[sim::kSvcLatencyP99] / slo);
    f[sc_cols.newest(kSvcReadyRatio)] = static_cast<float>(m[sim::kSvcReadyReplicas] / desired);
    f[sc_cols.newest(kSvcCpu)] = static_cast<float>(m[sim::kSvcCpuUtil]);
    f[sc_cols.newest(kSvcMem)] = static_cast<float>(m[sim::kSvcMemUtilMax]);
    f[sc_cols.newest(kSvcDeployAge)] = saturate(std::max(0.0, age_s), 600.0);
    const double max_r = spec.max_replicas;
    f[sc_cols.cur(kSvcDesiredFrac)] = static_cast<float>(m[sim::kSvcDesiredReplicas] / max_r);
    f[sc_cols.cur(kSvcReadyFrac)] = static_cast<float>(m[sim::kSvcReadyReplicas] / max_r);
    set_replica_features(f, sc_cols, m[sim::kSvcDesiredReplicas], m[sim::kSvcReadyReplicas], m[sim::kSvcCpuUtil]);
    const double restarted = m[sim::kSvcRestarts] - prev_service_restarts_[si];
    prev_service_restarts_[si] = m[sim::kSvcRestarts];
    f[sc_cols.cur(kSvcRestarted)] = static_cast<float>(std::clamp(restarted, 0.0, 3.0) / 3.0);
    f[sc_cols.cur(kSvcP50)] = static_cast<float>(m[sim::kSvcLatencyP50] / slo);
    f[sc_cols.cur(kSvcP95)] = static_cast<float>(m[sim::kSvcLatencyP95] / slo);
    f[sc_cols.cur(kSvcAlertHighError)] = 0.0f;
    f[sc_cols.cur(kSvcAlertHighLatency)] = 0.0f;
  }

  const KindColumns& rc = columns_.replica;
  for (int r = 0; r < tokens_.num_replica_slots; ++r) {
    const auto ri = static_cast<std::size_t>(r);
    const double* m = t.replicas.data() + static_cast<std::ptrdiff_t>(r) * sim::kNumReplicaMetrics;
    const auto s = static_cast<std::size_t>(replica_service_[ri]);
    const sim::ServiceSpec& spec = sc.services[s];
    const int token = tokens_.replica_token(r);
    float* f = row(token);
    age(f, rc);
    const double present = m[sim::kRepPresent];
    const double ready = m[sim::kRepReady];
    f[rc.newest(kRepCpu)] = static_cast<float>(m[sim::kRepCpuUtil]);
    f[rc.newest(kRepMem)] = static_cast<float>(m[sim::kRepMemUtil]);
    f[rc.newest(kRepError)] = static_cast<float>(m[sim::kRepErrorRate]);
    f[rc.newest(kRepP99)] = static_cast<float>(m[sim::kRepLatencyP99] / slo);
    f[rc.newest(kRepReady)] = static_cast<float>(ready);
    f[rc.cur(kRepPresent)] = static_cast<float>(present);
    f[rc.cur(kRepStarting)] = present > 0.5 && ready < 0.5;
    f[rc.cur(kRepRate)] = static_cast<float>(m[sim::kRepRequestRate] / expected_rep_rps_[s]);
    const double restarts = m[sim::kRepRestarts];
    f[rc.cur(kRepRestarts)] = saturate(restarts, 3.0);
    f[rc.cur(kRepRestarted)] = restarts > prev_replica_restarts_[ri];
    prev_replica_restarts_[ri] = restarts;
    f[rc.cur(kRepUptime)] = saturate(m[sim::kRepUptime], 600.0);
    f[rc.cur(kRepAlertHighCpu)] = 0.0f;
    f[rc.cur(kRepAlertOomKilled)] = 0.0f;
    f[rc.cur(kRepAlertCrashLooping)] = 0.0f;
    const int node = static_cast<int>(m[sim::kRepNode]);
    links_[2 * static_cast<std::size_t>(token) + 1] = node >= 0 && node < tokens_.num_nodes ? tokens_.node_token(node) : -1;
    if (node >= 0 && node < tokens_.num_nodes) {
      const sim::NodeSpec& ns = sc.nodes[static_cast<std::size_t>(node)];
      float* nf = row(tokens_.node_token(node));
      nf[nc.cur(kNodeCpuAllocated)] += static_cast<float>(spec.cpu_request / ns.cpu_cores);
      nf[nc.cur(kNodeMemAllocated)] += static_cast<float>(spec.memory_request_gib / ns.memory_gib);
    }
  }

  for (const sim::Alert& a : t.alerts) {
    const int i = a.entity.index;
    switch (a.rule) {
      case sim::AlertRule::kHighErrorRate:
        row(tokens_.service_token(i))[sc_cols.cur(kSvcAlertHighError)] = 1.0f;
        break;
      case sim::AlertRule::kHighLatency:
        row(tokens_.service_token(i))[sc_cols.cur(kSvcAlertHighLatency)] = 1.0f;
        break;
      case sim::AlertRule::kHighCpu:
        row(tokens_.replica_token(i))[rc.cur(kRepAlertHighCpu)] = 1.0f;
        break;
      case sim::AlertRule::kOomKilled:
        row(tokens_.replica_token(i))[rc.cur(kRepAlertOomKilled)] = 1.0f;
        break;
      case sim::AlertRule::kCrashLooping:
        row(tokens_.replica_token(i))[rc.cur(kRepAlertCrashLooping)] = 1.0f;
        break;
      case sim::AlertRule::kNodeNotReady:
        row(tokens_.node_token(i))[nc.cur(kNodeAlertNotReady)] = 1.0f;
        break;
      case sim::AlertRule::kDiskPressure:
        row(tokens_.node_token(i))[nc.cur(kNodeAlertDiskPressure)] = 1.0f;
        break;
      case sim::AlertRule::kCount:
        break;
    }
  }

  const KindColumns& gc = columns_.global;
  float* g = row(0);
  age(g, gc);
  g[gc.newest(kExternalRate)] = static_cast<float>(entry_rps / entry_expected_rps_);
  g[gc.newest(kSloOk)] = t.slo_ok ? 1.0f : 0.0f;
  g[gc.cur(kAlertsFiring)] = static_cast<float>(static_cast<double>(t.alerts.size()) * 0.1);
  g[gc.cur(kNodesReady)] = static_cast<float>(tokens_.num_nodes ? static_cast<double>(nodes_ready) / tokens_.num_nodes : 1.0);
}

void TelemetryTokens::emit(Episode& ep) const {
  ep.features.insert(ep.features.end(), feat_.begin(), feat_.end());
  ep.token_type.insert(ep.token_type.end(), token_type_.begin(), token_type_.end());
  ep.valid.insert(ep.valid.end(), valid_.begin(), valid_.end());
  ep.links.insert(ep.links.end(), links_.begin(), links_.end());
}

}  // namespace opsrl::datasets
