// Cluster::recompute(): derives every rate from the discrete state. Called after each event;
// the rates then hold until the next one (see Cluster::advance).
//
// Per replica: an M/M/1 queue whose service rate is the CPU it gets divided by the CPU one
// request needs. CPU on a node goes first to foreign workloads (a noisy neighbour), the rest
// is shared by the replicas in proportion to their requests (CFS shares), water-filled so
// that a replica never gets more than it asks for. Per service: the latency moments of its
// replicas mixed, plus its downstream calls; errors compose along the call graph.
#include <opsrl/sim/cluster.hpp>

#include <algorithm>
#include <array>
#include <cmath>

namespace opsrl::sim {

namespace {
constexpr double kStartupCpu = 0.3;       // of the limit, used while a container starts
constexpr double kHungCpu = 0.03;         // a hung process barely uses CPU
constexpr double kMaxStableRho = 0.98;    // above this the queue is treated as overloaded
constexpr double kBaseNetDelayS = 0.0005; // one cross-node call's network round trip
constexpr double kRetransmitS = 0.2;      // TCP retransmission time-out per lost packet
constexpr double kDiskFullError = 0.5;    // share of requests failing on writes when disk is full
constexpr double kGcPressureStart = 0.85; // memory fraction of the limit where GC starts to bite
constexpr double kGcSlowdown = 10.0;      // CPU per request grows by this per unit of memory above

// A service's latency is a mixture over which of its fractional calls a request makes (a page
// that checks out 10% of the time is bimodal), and one gamma fitted to the whole underestimates
// the tail. Up to kMaxMixtureCalls fractional calls per service (the heaviest callees) become
// branches of a mixture, each branch a gamma by its moments; the rest are folded into the
// moments as before. A service without fractional calls keeps the single gamma.
// Relative tolerance of cbrt(latency) in the quantile search: 1e-5 there is 3e-5 in latency,
// far below what telemetry noise or the approximation itself contribute.
constexpr double kQuantileTolerance = 1e-5;

struct FractionalCall {
  double f;                // probability the call is made
  queueing::Moments l;     // its latency as the caller sees it
};

// Under the Wilson-Hilferty approximation a gamma's tail is a normal tail in y = cbrt(x):
// P(X > x) = Q(alpha * y - beta), so a mixture's quantile is a root in y of a sum of normal
// tails, which safeguarded Newton finds in a few steps.
queueing::CubeRootNormal cube_root_normal(double p, const queueing::Moments& m) {
  const double a = m.var / (9.0 * m.mean * m.mean);  // 1 / (9 k)
  const double sa = std::sqrt(a);
  return {p, 1.0 / (std::cbrt(m.mean) * sa), (1.0 - a) / sa};
}

// Normal upper tail Q(u) and density phi(u) from one exp: Abramowitz & Stegun 7.1.26 for erfc
// (absolute error below 1.5e-7, far inside the quantile tolerance).
struct TailAndDensity {
  double tail, density;
};
TailAndDensity normal_tail(double u) {
  const double x = std::abs(u) * 0.7071067811865476;
  const double t = 1.0 / (1.0 + 0.3275911 * x);
  const double e = std::exp(-x * x);
  const double erfc = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429)))) * e;
  return {u >= 0 ? 0.5 * erfc : 1.0 - 0.5 * erfc, 0.3989422804014327 * e};
}

double mixture_tail(const queueing::CubeRootNormal* c, int n, double x) {
  const double y = std::cbrt(std::max(x, 0.0));
  double t = 0;
  for (int i = 0; i < n; ++i) t += c[i].p * normal_tail(c[i].alpha * y - c[i].beta).tail;
  return t;
}

// Quantile where the upper tail equals `target` (the normal tail at score z). It lies between
// the branches' own quantiles (the bracket). `hint` holds the cube-root quantile found last
// time: rates change little between events, so starting there usually converges in one or two
// Newton steps. It is updated.
double mixture_quantile(const queueing::CubeRootNormal* c, int n, double z, double target, double& hint) {
  double lo = 1e300, hi = -1e300;
  for (int i = 0; i < n; ++i) {
    const double y = (z + c[i].beta) / c[i].alpha;
    lo = std::min(lo, y);
    hi = std::max(hi, y);
  }
  double y = hint > lo && hint < hi ? hint : 0.5 * (lo + hi);
  for (int it = 0; it < 40 && hi - lo > kQuantileTolerance * std::abs(hi); ++it) {
    double tail = 0, slope = 0;  // mixture tail at y and its derivative (negative)
    for (int i = 0; i < n; ++i) {
      const TailAndDensity q = normal_tail(c[i].alpha * y - c[i].beta);
      tail += c[i].p * q.tail;
      slope -= c[i].p * c[i].alpha * q.density;
    }
    const double f = tail - target;
    if (f == 0) break;
    (f > 0 ? lo : hi) = y;
    double next = slope < 0 ? y - f / slope : 0.5 * (lo + hi);
    if (!(next > lo && next < hi)) next = 0.5 * (lo + hi);
    const bool done = std::abs(next - y) <= kQuantileTolerance * std::abs(next);
    y = next;
    if (done) break;
  }
  hint = y;
  return y <= 0 ? 0.0 : y * y * y;
}
}  // namespace

double Cluster::per_request_cpu(const ReplicaState& r) const {
  const ServiceSpec& spec = scenario_->services[r.service];
  double cpu = spec.cpu_seconds_per_request;
  if (r.bad_version) cpu *= services_[r.service].bad_slowdown;
  // Memory pressure: near its limit a process spends more and more time collecting garbage.
  const double mem = r.mem_gib / spec.memory_limit_gib;
  if (mem > kGcPressureStart) cpu *= 1.0 + kGcSlowdown * (mem - kGcPressureStart);
  return cpu;
}

bool Cluster::routable(const ReplicaState& r) const {
  if (r.phase == Phase::kRunning) return nodes_[r.node].ready;
  return r.phase == Phase::kLost && now_ < r.routed_until;
}

void Cluster::recompute() {
  const Scenario& sc = *scenario_;

  // 1. Readiness and arrivals per service, callers before callees.
  for (int s = 0; s < num_services(); ++s) {
    ServiceState& svc = services_[s];
    svc.ready = 0;
    for (int k = 0; k < sc.services[s].max_replicas; ++k) {
      const ReplicaState& r = replicas_[svc.first_slot + k];
      svc.ready += routable(r);
    }
    svc.external_rps = external_rps_ * sc.services[s].traffic_share * svc.surge_factor;
    svc.arrival = svc.external_rps;
  }
  for (int s : topo_) {
    const ServiceState& caller = services_[s];
    if (caller.ready == 0) continue;  // a caller with no replica makes no calls
    for (const CallSpec& call : sc.services[s].calls) services_[call.target].arrival += caller.arrival * call.calls_per_request;
  }

  // 2. CPU demand per replica (cores), grouped by node.
  for (NodeState& n : nodes_) {
    n.cpu_used = n.foreign_cores;
    n.mem_used_gib = 0;
    n.replicas = 0;
  }
  node_members_start_.assign(nodes_.size() + 1, 0);
  for (ReplicaState& r : replicas_) {
    r.arrival = 0;
    r.capacity = 0;
    r.cpu_used = 0;
    r.cpu_potential = 0;
    if (r.phase == Phase::kEmpty || r.node < 0) continue;
    ++node_members_start_[r.node + 1];
    NodeState& node = nodes_[r.node];
    const ServiceSpec& spec = sc.services[r.service];
    ++node.replicas;
    if (r.phase != Phase::kBackoff && r.phase != Phase::kLost) node.mem_used_gib += r.mem_gib;
    if (routable(r)) r.arrival = services_[r.service].arrival / services_[r.service].ready;
    if (!node.ready) continue;
    if (r.phase == Phase::kStarting) r.demand = kStartupCpu * spec.cpu_request;
    else if (r.phase == Phase::kRunning) {
      r.demand = r.hung ? kHungCpu * spec.cpu_request
                        : r.arrival * per_request_cpu(r) + r.runaway * spec.cpu_request;
    } else {
      r.demand = 0;
    }
    r.demand = std::min(r.demand, spec.cpu_request);
  }
  for (int n = 0; n < num_nodes(); ++n) node_members_start_[n + 1] += node_members_start_[n];
  node_members_.resize(replicas_.size());
  node_fill_.assign(node_members_start_.begin(), node_members_start_.end() - 1);
  for (int i = 0; i < num_replica_slots(); ++i)
    if (replicas_[i].phase != Phase::kEmpty && replicas_[i].node >= 0) node_members_[node_fill_[replicas_[i].node]++] = i;

  // 3. CPU shares per node. Foreign workloads take theirs first; replicas asking less than a
  // fair share (by requests, as CFS shares do) keep their demand, the rest split what is left
  // (water-filling). A replica's potential is what it could use if it wanted: its limit on a
  // node with room, its fair share on a contended one. Its service rate follows from that.
  for (int n = 0; n < num_nodes(); ++n) {
    if (!nodes_[n].ready) continue;
    const int* first = node_members_.data() + node_members_start_[n];
    const int* last = node_members_.data() + node_members_start_[n + 1];
    double available = std::max(0.0, sc.nodes[n].cpu_cores - nodes_[n].foreign_cores);
    double total_demand = 0, weight = 0;
    for (const int* i = first; i != last; ++i) {
      total_demand += replicas_[*i].demand;
      weight += sc.services[replicas_[*i].service].cpu_request;
      replicas_[*i].settled = false;
    }
    if (total_demand <= available) {
      const double spare = available - total_demand;
      for (const int* i = first; i != last; ++i) {
        ReplicaState& r = replicas_[*i];
        r.cpu_potential = std::min(sc.services[r.service].cpu_request, r.demand + spare);
      }
    } else {
      for (bool changed = true; changed && weight > 0;) {
        changed = false;
        for (const int* i = first; i != last; ++i) {
          ReplicaState& r = replicas_[*i];
          const double req = sc.services[r.service].cpu_request;
          if (r.settled || r.demand > available * req / weight) continue;
          r.settled = true;
          available -= r.demand;
          weight -= req;
          changed = true;
        }
      }
      const double level = weight > 0 ? available / weight : 0.0;  // cores per requested core
      for (const int* i = first; i != last; ++i) {
        ReplicaState& r = replicas_[*i];
        const double req = sc.services[r.service].cpu_request;
        r.cpu_potential = std::min(req, std::max(r.settled ? r.demand : 0.0, level * req));
      }
    }
  }

  // 4. Service rates, CPU use, local errors and own latency per replica.
  for (ReplicaState& r : replicas_) {
    if (r.phase == Phase::kLost && routable(r)) {
      // The node died but the load balancer has not noticed yet: calls to it time out.
      r.local_error = 1.0;
      r.sojourn_mean = sc.services[r.service].timeout_ms / 1000.0;
      continue;
    }
    if (r.phase == Phase::kEmpty || r.node < 0 || !nodes_[r.node].ready) continue;
    if (r.phase != Phase::kRunning) {
      r.cpu_used = r.phase == Phase::kStarting ? std::min(r.demand, r.cpu_potential) : 0.0;
      nodes_[r.node].cpu_used += r.cpu_used;
      r.local_error = 0;
      r.sojourn_mean = 0;
      continue;
    }
    const ServiceSpec& spec = sc.services[r.service];
    const double per_request = per_request_cpu(r);
    const double runaway = std::min(r.cpu_potential, r.runaway * spec.cpu_request);
    const double for_requests = r.hung ? 0.0 : r.cpu_potential - runaway;
    r.capacity = for_requests / per_request;
    r.cpu_used = r.hung ? r.demand : runaway + std::min(r.arrival, r.capacity) * per_request;
    nodes_[r.node].cpu_used += r.cpu_used;

    r.local_error = r.bad_version ? services_[r.service].bad_error : 0.0;
    if (nodes_[r.node].disk_used >= 0.999) r.local_error = 1 - (1 - r.local_error) * (1 - kDiskFullError);
    if (r.hung || r.capacity <= 0) {
      r.local_error = r.hung ? 1.0 : r.local_error;
      r.sojourn_mean = spec.timeout_ms / 1000.0;
    } else {
      const double rho = std::min(r.arrival / r.capacity, kMaxStableRho);
      r.sojourn_mean = 1.0 / (r.capacity * (1.0 - rho)) + r.backlog / r.capacity;
    }
  }

  // Network degradation anywhere: calls that touch a degraded node pay its delay and loss.
  double net_delay_ms = 0, net_loss = 0;
  for (const NodeState& nd : nodes_) {
    net_delay_ms = std::max(net_delay_ms, nd.net_delay_ms);
    net_loss = std::max(net_loss, nd.net_loss);
  }

  // 5. Services, callees before callers: own latency mixed over replicas, plus calls.
  for (auto it = topo_.rbegin(); it != topo_.rend(); ++it) {
    const int s = *it;
    ServiceState& svc = services_[s];
    const ServiceSpec& spec = sc.services[s];
    double mean = 0, second = 0, error = 0, rejected = 0, capacity = 0, cpu = 0, mem_max = 0;
    int present = 0;
    double on_degraded = 0;
    for (int k = 0; k < spec.max_replicas; ++k) {
      const ReplicaState& r = replicas_[svc.first_slot + k];
      if (r.phase != Phase::kEmpty && r.phase != Phase::kLost) {
        ++present;
        cpu += r.cpu_used / spec.cpu_request;
        if (r.phase != Phase::kBackoff) mem_max = std::max(mem_max, r.mem_gib / spec.memory_limit_gib);
      }
      if (!routable(r)) continue;
      // Own sojourn: exponential part a plus a deterministic wait b for an existing backlog.
      const double b = r.capacity > 0 ? r.backlog / r.capacity : 0.0;
      const double a = r.sojourn_mean - b;
      mean += r.sojourn_mean;
      second += a * a + r.sojourn_mean * r.sojourn_mean;  // E[X^2] = Var + mean^2, Var = a^2
      error += r.local_error;
      capacity += r.capacity;
      if (r.backlog >= spec.queue_limit - 1e-9 && r.arrival > r.capacity) rejected += 1.0 - r.capacity / r.arrival;
      if (nodes_[r.node].net_delay_ms > 0 || nodes_[r.node].net_loss > 0) on_degraded += 1;
    }
    svc.cpu_util = present ? cpu / present : 0.0;
    svc.mem_util_max = mem_max;
    if (svc.ready == 0) {
      // Connection refused: callers fail fast.
      svc.e2e = {0.001, 0.0};
      svc.own_error = 1.0;
      svc.served_error = 1.0;
      svc.reject_frac = 1.0;
      svc.call_error = 1.0;
      svc.utilisation = svc.arrival > 0 ? 1e9 : 0.0;
      svc.p50 = svc.p95 = svc.p99 = 0.001;
      continue;
    }
    const double n = svc.ready;
    mean /= n;
    queueing::Moments e2e{mean, std::max(0.0, second / n - mean * mean)};
    svc.own_error = error / n;
    svc.reject_frac = rejected / n;
    svc.utilisation = capacity > 0 ? svc.arrival / capacity : 1e9;
    const double degraded_share = on_degraded / n;
    double ok = 1.0 - svc.own_error;
    std::array<FractionalCall, kMaxMixtureCalls> split{};
    int num_split = 0;
    for (const CallSpec& call : spec.calls) {
      const ServiceState& callee = services_[call.target];
      const ServiceSpec& callee_spec = sc.services[call.target];
      // Callee latency as the caller sees it: capped by the caller's time-out on it.
      const double cap = callee_spec.timeout_ms / 1000.0;
      queueing::Moments l{std::min(callee.e2e.mean, cap), std::min(callee.e2e.var, cap * cap)};
      // Share of calls crossing a degraded node, and what those add.
      double callee_degraded = 0;
      int callee_ready = 0;
      for (int k = 0; k < callee_spec.max_replicas; ++k) {
        const ReplicaState& r = replicas_[callee.first_slot + k];
        if (!routable(r)) continue;
        ++callee_ready;
        callee_degraded += nodes_[r.node].net_delay_ms > 0 || nodes_[r.node].net_loss > 0;
      }
      const double f = 1.0 - (1.0 - degraded_share) * (1.0 - (callee_ready ? callee_degraded / callee_ready : 0.0));
      l.mean += kBaseNetDelayS + f * (net_delay_ms / 1000.0 + net_loss * kRetransmitS);
      const double c = call.calls_per_request;
      const double whole = std::floor(c);
      e2e.mean += whole * l.mean;  // calls always made
      e2e.var += whole * l.var;
      if (c > whole) {
        FractionalCall x{c - whole, l};
        if (num_split < kMaxMixtureCalls) {
          split[num_split++] = x;
        } else {
          // Keep the heaviest callees as branches; fold the lightest into the moments.
          auto lightest = std::min_element(split.begin(), split.end(), [](const FractionalCall& p, const FractionalCall& q) {
            return p.l.mean < q.l.mean;
          });
          if (lightest->l.mean < x.l.mean) std::swap(*lightest, x);
          e2e.mean += x.f * x.l.mean;
          e2e.var += x.f * x.l.var + x.f * (1.0 - x.f) * x.l.mean * x.l.mean;
        }
      }
      const double call_fail = 1.0 - (1.0 - callee.call_error) * (1.0 - f * net_loss);
      ok *= std::pow(1.0 - std::min(call_fail, 1.0), c);
    }
    // Branches: every combination of the split calls made or not (needs e2e without them).
    auto& branches = svc.branches;
    const int num_branches = num_split > 0 && e2e.mean > 0 && e2e.var > 1e-12 * e2e.mean * e2e.mean ? 1 << num_split : 0;
    for (int b = 0; b < num_branches; ++b) {
      double p = 1.0;
      queueing::Moments m = e2e;
      for (int i = 0; i < num_split; ++i) {
        if (b & (1 << i)) {
          p *= split[i].f;
          m += split[i].l;
        } else {
          p *= 1.0 - split[i].f;
        }
      }
      branches[b] = cube_root_normal(p, m);
    }
    // The service's overall moments, which its callers use.
    for (int i = 0; i < num_split; ++i) {
      const FractionalCall& x = split[i];
      e2e.mean += x.f * x.l.mean;
      e2e.var += x.f * x.l.var + x.f * (1.0 - x.f) * x.l.mean * x.l.mean;
    }
    svc.e2e = e2e;
    svc.num_branches = num_branches;
    const double timeout_s = spec.timeout_ms / 1000.0;
    const double timed_out =
        num_branches ? mixture_tail(branches.data(), num_branches, timeout_s) : queueing::gamma_tail(e2e, timeout_s);
    svc.served_error = 1.0 - ok * (1.0 - timed_out);
    svc.call_error = 1.0 - (1.0 - svc.served_error) * (1.0 - svc.reject_frac);
    // The SLO (checked continuously) needs the entry services' p99 now; the other percentiles
    // are read only by a scrape, which computes them then.
    if (spec.traffic_share > 0) update_percentiles(s, /*all=*/false);
  }
}

void Cluster::update_percentiles(int s, bool all) {
  ServiceState& svc = services_[s];
  if (svc.ready == 0) return;  // recompute() set the fail-fast values
  const double timeout_s = scenario_->services[s].timeout_ms / 1000.0;
  auto quantile = [&](double z, double target, double& hint) {
    const double q = svc.num_branches ? mixture_quantile(svc.branches.data(), svc.num_branches, z, target, hint)
                                      : queueing::gamma_quantile(svc.e2e, z);
    return std::min(q, timeout_s);
  };
  svc.p99 = quantile(queueing::kZ99, 0.01, svc.quantile_hint[2]);
  if (!all) return;
  svc.p50 = quantile(queueing::kZ50, 0.5, svc.quantile_hint[0]);
  svc.p95 = quantile(queueing::kZ95, 0.05, svc.quantile_hint[1]);
}

}  // namespace opsrl::sim
