// Tokenizer: the per-scrape hot path of the observation. One pass per entity kind over the
// telemetry rows, no allocation; values are scaled to O(1) here (docs/observation.md).
#include "tokenizer.hpp"

#include <algorithm>
#include <cstring>

namespace opsrl::envs {

namespace {

using namespace feature;

// x / (x + half): 0 at 0, 1/2 at `half`, towards 1 beyond; monotone and cheap (no exp/log).
inline float saturate(double x, double half) { return static_cast<float>(x / (x + half)); }

int tier_index(const std::string& tier) {
  if (tier == "frontend") return 0;
  if (tier == "cache") return 2;
  if (tier == "database") return 3;
  return 1;  // backend (and anything else the loader accepted)
}

// Shifts every history window of a row one scrape older; the newest columns are then stale
// and must be written. One memmove per token: windows of consecutive metrics are adjacent,
// so moving the whole block left by one column ages each window and leaves its newest column
// holding the next metric's oldest value, which push() overwrites.
inline void age(float* row, const KindColumns& k) {
  const int n = k.num_history * k.history;
  if (n > 1) std::memmove(row + kTypeColumns, row + kTypeColumns + 1, sizeof(float) * static_cast<std::size_t>(n - 1));
}

}  // namespace

Tokenizer::Tokenizer(const sim::Scenario& sc, const TokenLayout& tokens, const feature::Layout& columns)
    : tokens_(tokens), columns_(columns), width_(columns.feature_width) {
  const int S = tokens.num_services;
  expected_rps_.assign(S, 0.0);
  expected_rep_rps_.assign(S, 1.0);
  entry_.assign(S, 0);
  entry_expected_rps_ = 0;
  for (int s = 0; s < S; ++s) {
    expected_rps_[s] = sc.traffic.base_rps * sc.services[s].traffic_share;
    entry_[s] = sc.services[s].traffic_share > 0;
  }
  for (int s : sc.topological_order())
    for (const sim::CallSpec& call : sc.services[s].calls) expected_rps_[call.target] += expected_rps_[s] * call.calls_per_request;
  for (int s = 0; s < S; ++s) {
    if (entry_[s]) entry_expected_rps_ += expected_rps_[s];
    // Unreached services (no caller) keep a scale of 1 req/s rather than dividing by zero.
    expected_rps_[s] = std::max(expected_rps_[s], 1.0);
    expected_rep_rps_[s] = expected_rps_[s] / std::max(1, sc.services[s].replicas);
  }
  entry_expected_rps_ = std::max(entry_expected_rps_, 1.0);
  slo_p99_ms_ = sc.slo.p99_latency_ms;
  for (int s = 0; s < S; ++s)
    for (int k = 0; k < sc.services[s].max_replicas; ++k) replica_service_.push_back(s);
  prev_service_restarts_.assign(S, 0.0);
  prev_replica_restarts_.assign(tokens.num_replica_slots, 0.0);

  const int T = tokens.max_tokens;
  feat_.assign(static_cast<std::size_t>(T) * width_, 0.0f);
  token_type_.assign(T, static_cast<std::int32_t>(TokenType::kPadding));
  valid_.assign(T, 0);
  links_.assign(static_cast<std::size_t>(T) * 2, -1);
  for (int t = 0; t < tokens.num_real(); ++t) {
    token_type_[t] = static_cast<std::int32_t>(tokens.type_of(t));
    valid_[t] = 1;
  }
  for (int r = 0; r < tokens.num_replica_slots; ++r) links_[2 * tokens.replica_token(r)] = tokens.service_token(replica_service_[r]);
  write_static_columns(sc);
}

void Tokenizer::write_static_columns(const sim::Scenario& sc) {
  // What the scenario fixes is written once; push() never touches these columns.
  auto row = [&](int token) { return feat_.data() + static_cast<std::size_t>(token) * width_; };
  row(0)[0] = 1.0f;
  for (int n = 0; n < tokens_.num_nodes; ++n) {
    float* f = row(tokens_.node_token(n));
    f[1] = 1.0f;
    f[columns_.node.cur(kNodeCores)] = static_cast<float>(sc.nodes[n].cpu_cores / 16.0);
    f[columns_.node.cur(kNodeMemory)] = static_cast<float>(sc.nodes[n].memory_gib / 64.0);
  }
  for (int s = 0; s < tokens_.num_services; ++s) {
    const sim::ServiceSpec& spec = sc.services[s];
    float* f = row(tokens_.service_token(s));
    f[2] = 1.0f;
    f[columns_.service.cur(kSvcTierFrontend + tier_index(spec.tier))] = 1.0f;
    f[columns_.service.cur(kSvcEntry)] = entry_[s];
    f[columns_.service.cur(kSvcMinFrac)] = static_cast<float>(static_cast<double>(spec.min_replicas) / spec.max_replicas);
    f[columns_.service.cur(kSvcCpuRequest)] = static_cast<float>(spec.cpu_request);
  }
  for (int r = 0; r < tokens_.num_replica_slots; ++r) {
    const sim::ServiceSpec& spec = sc.services[replica_service_[r]];
    float* f = row(tokens_.replica_token(r));
    f[3] = 1.0f;
    f[columns_.replica.cur(kRepTierFrontend + tier_index(spec.tier))] = 1.0f;
    f[columns_.replica.cur(kRepEntry)] = entry_[replica_service_[r]];
    f[columns_.replica.cur(kRepCpuRequest)] = static_cast<float>(spec.cpu_request);
    f[columns_.replica.cur(kRepMemoryLimit)] = static_cast<float>(spec.memory_limit_gib);
  }
}

void Tokenizer::clear() {
  // History and dynamic columns are overwritten by the H warm-up scrapes; zeroing them makes
  // a stale value from the last episode impossible even if the warm-up changes.
  auto wipe = [&](int token, const KindColumns& k) {
    float* f = feat_.data() + static_cast<std::size_t>(token) * width_;
    std::fill(f + kTypeColumns, f + k.cur(0), 0.0f);
  };
  wipe(0, columns_.global);
  for (int n = 0; n < tokens_.num_nodes; ++n) wipe(tokens_.node_token(n), columns_.node);
  for (int s = 0; s < tokens_.num_services; ++s) wipe(tokens_.service_token(s), columns_.service);
  for (int r = 0; r < tokens_.num_replica_slots; ++r) wipe(tokens_.replica_token(r), columns_.replica);
  std::fill(prev_service_restarts_.begin(), prev_service_restarts_.end(), 0.0);
  std::fill(prev_replica_restarts_.begin(), prev_replica_restarts_.end(), 0.0);
}

void Tokenizer::push(const sim::Cluster& cluster) {
  const sim::Telemetry& t = cluster.telemetry();
  const sim::Scenario& sc = cluster.scenario();
  const double slo = slo_p99_ms_;
  auto row = [&](int token) { return feat_.data() + static_cast<std::size_t>(token) * width_; };

  // Nodes.
  const KindColumns& nc = columns_.node;
  int nodes_ready = 0;
  for (int n = 0; n < tokens_.num_nodes; ++n) {
    const double* m = t.nodes.data() + static_cast<std::ptrdiff_t>(n) * sim::kNumNodeMetrics;
    float* f = row(tokens_.node_token(n));
    age(f, nc);
    f[nc.newest(kNodeCpu)] = static_cast<float>(m[sim::kNodeCpuUtil]);
    f[nc.newest(kNodeMem)] = static_cast<float>(m[sim::kNodeMemUtil]);
    f[nc.newest(kNodeDisk)] = static_cast<float>(m[sim::kNodeDiskUtil]);
    f[nc.newest(kNodeNetDelay)] = static_cast<float>(m[sim::kNodeNetDelayMs] * 0.01);  // per 100 ms
    f[nc.newest(kNodeNetLoss)] = static_cast<float>(m[sim::kNodeNetLoss] * 10.0);      // per 10 %
    f[nc.newest(kNodeReady)] = static_cast<float>(m[sim::kNodeReady]);
    nodes_ready += m[sim::kNodeReady] > 0.5;
    f[nc.cur(kNodeCordoned)] = static_cast<float>(m[sim::kNodeCordoned]);
    f[nc.cur(kNodeReplicas)] = static_cast<float>(m[sim::kNodeReplicas] * 0.1);
    f[nc.cur(kNodeCpuAllocated)] = 0.0f;
    f[nc.cur(kNodeMemAllocated)] = 0.0f;
    f[nc.cur(kNodeAlertNotReady)] = 0.0f;
    f[nc.cur(kNodeAlertDiskPressure)] = 0.0f;
  }

  // Services.
  const KindColumns& sc_cols = columns_.service;
  double entry_rps = 0;
  for (int s = 0; s < tokens_.num_services; ++s) {
    const double* m = t.services.data() + static_cast<std::ptrdiff_t>(s) * sim::kNumServiceMetrics;
    const sim::ServiceSpec& spec = sc.services[s];
    float* f = row(tokens_.service_token(s));
    age(f, sc_cols);
    const double desired = std::max(1.0, m[sim::kSvcDesiredReplicas]);
    const double age_s = m[sim::kSvcDeployAge];
    if (entry_[s]) entry_rps += m[sim::kSvcRequestRate];
    f[sc_cols.newest(kSvcRate)] = static_cast<float>(m[sim::kSvcRequestRate] / expected_rps_[s]);
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
    const double restarted = m[sim::kSvcRestarts] - prev_service_restarts_[s];
    prev_service_restarts_[s] = m[sim::kSvcRestarts];
    f[sc_cols.cur(kSvcRestarted)] = static_cast<float>(std::clamp(restarted, 0.0, 3.0) / 3.0);
    f[sc_cols.cur(kSvcP50)] = static_cast<float>(m[sim::kSvcLatencyP50] / slo);
    f[sc_cols.cur(kSvcP95)] = static_cast<float>(m[sim::kSvcLatencyP95] / slo);
    f[sc_cols.cur(kSvcAlertHighError)] = 0.0f;
    f[sc_cols.cur(kSvcAlertHighLatency)] = 0.0f;
  }

  // Replica slots, and the requests they place on each node.
  const KindColumns& rc = columns_.replica;
  for (int r = 0; r < tokens_.num_replica_slots; ++r) {
    const double* m = t.replicas.data() + static_cast<std::ptrdiff_t>(r) * sim::kNumReplicaMetrics;
    const int s = replica_service_[r];
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
    f[rc.cur(kRepRestarted)] = restarts > prev_replica_restarts_[r];
    prev_replica_restarts_[r] = restarts;
    f[rc.cur(kRepUptime)] = saturate(m[sim::kRepUptime], 600.0);
    f[rc.cur(kRepAlertHighCpu)] = 0.0f;
    f[rc.cur(kRepAlertOomKilled)] = 0.0f;
    f[rc.cur(kRepAlertCrashLooping)] = 0.0f;
    const int node = static_cast<int>(m[sim::kRepNode]);
    links_[2 * static_cast<std::size_t>(token) + 1] = node >= 0 ? tokens_.node_token(node) : -1;
    if (node >= 0) {
      float* nf = row(tokens_.node_token(node));
      nf[nc.cur(kNodeCpuAllocated)] += static_cast<float>(spec.cpu_request / sc.nodes[node].cpu_cores);
      nf[nc.cur(kNodeMemAllocated)] += static_cast<float>(spec.memory_request_gib / sc.nodes[node].memory_gib);
    }
  }

  // Alerts firing now, as flags on their entity's token.
  for (const sim::Alert& a : t.alerts) {
    const int i = a.entity.index;
    switch (a.rule) {
      case sim::AlertRule::kHighErrorRate: row(tokens_.service_token(i))[sc_cols.cur(kSvcAlertHighError)] = 1.0f; break;
      case sim::AlertRule::kHighLatency: row(tokens_.service_token(i))[sc_cols.cur(kSvcAlertHighLatency)] = 1.0f; break;
      case sim::AlertRule::kHighCpu: row(tokens_.replica_token(i))[rc.cur(kRepAlertHighCpu)] = 1.0f; break;
      case sim::AlertRule::kOomKilled: row(tokens_.replica_token(i))[rc.cur(kRepAlertOomKilled)] = 1.0f; break;
      case sim::AlertRule::kCrashLooping: row(tokens_.replica_token(i))[rc.cur(kRepAlertCrashLooping)] = 1.0f; break;
      case sim::AlertRule::kNodeNotReady: row(tokens_.node_token(i))[nc.cur(kNodeAlertNotReady)] = 1.0f; break;
      case sim::AlertRule::kDiskPressure: row(tokens_.node_token(i))[nc.cur(kNodeAlertDiskPressure)] = 1.0f; break;
      case sim::AlertRule::kCount: break;
    }
  }

  // The global token's cluster-wide values.
  const KindColumns& gc = columns_.global;
  float* g = row(0);
  age(g, gc);
  g[gc.newest(kExternalRate)] = static_cast<float>(entry_rps / entry_expected_rps_);
  g[gc.newest(kSloOk)] = t.slo_ok ? 1.0f : 0.0f;
  g[gc.cur(kAlertsFiring)] = static_cast<float>(static_cast<double>(t.alerts.size()) * 0.1);
  g[gc.cur(kNodesReady)] = static_cast<float>(tokens_.num_nodes ? static_cast<double>(nodes_ready) / tokens_.num_nodes : 1.0);
}

void Tokenizer::emit(const ObservationView& out) const {
  std::memcpy(out.features, feat_.data(), sizeof(float) * feat_.size());
  std::memcpy(out.token_type, token_type_.data(), sizeof(std::int32_t) * token_type_.size());
  std::memcpy(out.valid, valid_.data(), valid_.size());
  std::memcpy(out.links, links_.data(), sizeof(std::int32_t) * links_.size());
}

}  // namespace opsrl::envs
