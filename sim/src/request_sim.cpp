// Per-request mode (request_sim.hpp): every call is a job that queues at one replica of its
// service, is served, then makes its downstream calls one after another.
//
// Time: the event queue is used with nanosecond ticks instead of SimTime milliseconds. Service
// times here are a few milliseconds, so millisecond rounding would distort both the queues and
// the latencies being validated; int64 nanoseconds still cover 290 years.
//
// State, allocation-light: jobs live in a pool (vector + free list) and are referred to by
// index; each replica holds the job in service and a FIFO ring of waiting job ids; a job
// records which of its service's calls it is making (next_call) and how many calls of that kind
// are left (remaining), so that the next call starts when a child completes. Latency samples
// are kept per service (float seconds, reserved from the expected arrival rates) and reduced to
// nearest-rank percentiles with nth_element, which selects the same elements a full sort would.
#include <opsrl/sim/request_sim.hpp>

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include <fmt/format.h>

#include <opsrl/sim/event_queue.hpp>
#include <opsrl/sim/rng.hpp>

namespace opsrl::sim {

namespace {

using Ticks = std::int64_t;  // nanoseconds
constexpr Ticks kTicksPerMs = 1'000'000;
constexpr double kTicksPerSecond = 1e9;
constexpr Ticks kNetworkTicks = 500'000;  // 0.5 ms round trip per call, as in the fluid mode

enum Kind : std::uint16_t { kExternalArrival, kCallArrival, kServiceDone };

// Free jobs have service == kFree.
constexpr std::int32_t kFree = -1;
constexpr std::int32_t kNoParent = -1;

struct Job {
  Ticks arrival = 0;                 // when it reached its service
  std::int32_t parent = kNoParent;   // calling job, kNoParent for an external request
  std::int32_t service = kFree;
  std::int32_t next_call = 0;        // index into the service's calls of the call in progress
  std::int32_t remaining = 0;        // calls of that kind still to make
};

// FIFO of job ids in a power-of-two ring that grows when full.
class JobRing {
 public:
  bool empty() const { return count_ == 0; }
  void push(std::int32_t job) {
    if (count_ == buf_.size()) grow();
    buf_[(head_ + count_) & (buf_.size() - 1)] = job;
    ++count_;
  }
  std::int32_t pop() {
    const std::int32_t job = buf_[head_];
    head_ = (head_ + 1) & (buf_.size() - 1);
    --count_;
    return job;
  }

 private:
  void grow() {
    std::vector<std::int32_t> bigger(buf_.empty() ? 16 : 2 * buf_.size());
    for (std::size_t i = 0; i < count_; ++i) bigger[i] = buf_[(head_ + i) & (buf_.size() - 1)];
    buf_.swap(bigger);
    head_ = 0;
  }
  std::vector<std::int32_t> buf_;
  std::size_t head_ = 0, count_ = 0;
};

struct Replica {
  std::int32_t in_service = -1;  // job being served, -1 when idle
  JobRing waiting;
};

struct Call {
  std::int32_t target;
  std::int32_t whole;  // floor(calls_per_request)
  double frac;         // probability of one more call
};

struct Service {
  double service_rate;  // 1 / mean service time, per second
  std::int32_t first_replica, replicas;
  std::int32_t first_call, num_calls;
};

class RequestSim {
 public:
  RequestSim(const Scenario& sc, std::uint64_t seed, const RequestSimOptions& options);
  RequestSimResult run();

 private:
  std::int32_t new_job(std::int32_t service, std::int32_t parent);
  void arrive(std::int32_t job);
  void start(std::int32_t replica, std::int32_t job);
  void service_done(std::int32_t replica);
  void draw_calls(Job& j);
  void continue_calls(std::int32_t job);
  std::int32_t pick_entry();

  const Scenario& sc_;
  Rng rng_;
  EventQueue queue_;
  Ticks now_ = 0, warmup_end_ = 0, end_ = 0;
  double external_rate_ = 0;  // requests/s over all entry services
  std::vector<std::int32_t> entries_;
  std::vector<double> entry_cumulative_;  // cumulative traffic shares of entries_
  std::vector<Service> services_;
  std::vector<Call> calls_;
  std::vector<Replica> replicas_;
  std::vector<Job> jobs_;
  std::vector<std::int32_t> free_jobs_;
  std::vector<std::vector<float>> samples_;  // latency, s, per service
  std::vector<double> latency_sum_;
  std::int64_t external_in_ = 0, external_done_ = 0, events_ = 0;
};

RequestSim::RequestSim(const Scenario& sc, std::uint64_t seed, const RequestSimOptions& options)
    : sc_(sc), rng_(seed, Stream::kRequests) {
  if (options.duration <= 0) throw std::invalid_argument("run_request_level: duration must be > 0");
  if (options.warmup < 0) throw std::invalid_argument("run_request_level: warmup must be >= 0");
  const double rps = options.external_rps > 0 ? options.external_rps : sc.traffic.base_rps;
  if (!(rps >= 0) || !std::isfinite(rps))
    throw std::invalid_argument(fmt::format("run_request_level: external rate must be finite and >= 0, got {}", rps));
  warmup_end_ = options.warmup * kTicksPerMs;
  end_ = (options.warmup + options.duration) * kTicksPerMs;

  const int n = static_cast<int>(sc.services.size());
  services_.resize(n);
  std::int32_t replica = 0;
  for (int s = 0; s < n; ++s) {
    const ServiceSpec& spec = sc.services[s];
    if (!(spec.cpu_seconds_per_request > 0) || !(spec.cpu_request > 0))
      throw std::invalid_argument(fmt::format("run_request_level: service {} needs cpu_seconds_per_request > 0 and cpu_request > 0", spec.name));
    Service& svc = services_[s];
    svc.service_rate = spec.cpu_request / spec.cpu_seconds_per_request;
    svc.first_replica = replica;
    svc.replicas = std::max(0, spec.replicas);
    replica += svc.replicas;
    svc.first_call = static_cast<std::int32_t>(calls_.size());
    for (const CallSpec& c : spec.calls) {
      if (c.target < 0 || c.target >= n)
        throw std::invalid_argument(fmt::format("run_request_level: service {} calls an unresolved service {}", spec.name, c.service));
      const double whole = std::floor(c.calls_per_request);
      calls_.push_back({c.target, static_cast<std::int32_t>(whole), c.calls_per_request - whole});
    }
    svc.num_calls = static_cast<std::int32_t>(calls_.size()) - svc.first_call;
    if (spec.traffic_share > 0) {
      entries_.push_back(s);
      entry_cumulative_.push_back((entry_cumulative_.empty() ? 0.0 : entry_cumulative_.back()) + spec.traffic_share);
    }
  }
  replicas_.resize(static_cast<std::size_t>(replica));
  external_rate_ = entry_cumulative_.empty() ? 0.0 : rps * entry_cumulative_.back();

  // Expected calls/s per service (callers before callees), to size the sample buffers.
  std::vector<double> arrival(n, 0.0);
  for (int s = 0; s < n; ++s) arrival[s] = rps * std::max(0.0, sc.services[s].traffic_share);
  for (int s : sc.topological_order())
    if (services_[s].replicas > 0)
      for (const CallSpec& c : sc.services[s].calls) arrival[c.target] += arrival[s] * c.calls_per_request;
  samples_.resize(n);
  latency_sum_.assign(n, 0.0);
  const double seconds = to_seconds(options.duration);
  for (int s = 0; s < n; ++s) {
    const double expected = arrival[s] * seconds;
    // Headroom for Poisson fluctuation; capped so a mistaken huge run does not reserve it all up front.
    samples_[s].reserve(static_cast<std::size_t>(std::min(1.02 * expected + 1000.0, 1e8)));
  }
  jobs_.reserve(1024);
  free_jobs_.reserve(1024);
  queue_.reserve(1024);
}

std::int32_t RequestSim::new_job(std::int32_t service, std::int32_t parent) {
  std::int32_t id;
  if (!free_jobs_.empty()) {
    id = free_jobs_.back();
    free_jobs_.pop_back();
  } else {
    id = static_cast<std::int32_t>(jobs_.size());
    jobs_.emplace_back();
  }
  Job& j = jobs_[id];
  j.arrival = now_;
  j.parent = parent;
  j.service = service;
  j.next_call = 0;
  j.remaining = 0;
  return id;
}

std::int32_t RequestSim::pick_entry() {
  if (entries_.size() == 1) return entries_[0];
  const double u = rng_.uniform() * entry_cumulative_.back();
  const auto it = std::upper_bound(entry_cumulative_.begin(), entry_cumulative_.end(), u);
  const auto i = std::min<std::size_t>(static_cast<std::size_t>(it - entry_cumulative_.begin()), entries_.size() - 1);
  return entries_[i];
}

void RequestSim::arrive(std::int32_t job) {
  Job& j = jobs_[job];
  j.arrival = now_;
  const Service& svc = services_[j.service];
  if (svc.replicas == 0) {
    // No replica to take it: the call fails at once (not a completed call into the service) and
    // the caller carries on, as the fluid mode's connection-refused case.
    j.next_call = svc.num_calls;
    j.arrival = -1;  // never measured
    continue_calls(job);
    return;
  }
  const auto r = svc.first_replica +
                 (svc.replicas == 1 ? 0 : static_cast<std::int32_t>(rng_.below(static_cast<std::uint64_t>(svc.replicas))));
  if (replicas_[r].in_service < 0) start(r, job);
  else replicas_[r].waiting.push(job);
}

void RequestSim::start(std::int32_t replica, std::int32_t job) {
  replicas_[replica].in_service = job;
  const double seconds = rng_.exponential(services_[jobs_[job].service].service_rate);
  queue_.push(now_ + static_cast<Ticks>(std::llround(seconds * kTicksPerSecond)), Event{kServiceDone, replica, 0});
}

void RequestSim::draw_calls(Job& j) {
  const Call& c = calls_[services_[j.service].first_call + j.next_call];
  j.remaining = c.whole + (c.frac > 0 && rng_.bernoulli(c.frac) ? 1 : 0);
}

void RequestSim::service_done(std::int32_t replica) {
  Replica& rep = replicas_[replica];
  const std::int32_t job = rep.in_service;
  rep.in_service = -1;
  if (!rep.waiting.empty()) start(replica, rep.waiting.pop());
  Job& j = jobs_[job];
  j.next_call = 0;
  if (services_[j.service].num_calls > 0) draw_calls(j);
  continue_calls(job);
}

// Makes the job's next downstream call, or, when none is left, completes it and carries on
// with its parent (iteratively, up the chain of callers that are done as well).
void RequestSim::continue_calls(std::int32_t job) {
  for (;;) {
    Job& j = jobs_[job];
    const Service& svc = services_[j.service];
    while (j.next_call < svc.num_calls && j.remaining == 0) {
      if (++j.next_call < svc.num_calls) draw_calls(j);
    }
    if (j.next_call < svc.num_calls) {
      --j.remaining;
      const std::int32_t target = calls_[svc.first_call + j.next_call].target;
      const std::int32_t child = new_job(target, job);  // may reallocate jobs_: j is not used after this
      queue_.push(now_ + kNetworkTicks, Event{kCallArrival, -1, child});
      return;
    }
    // Done: its own service and every downstream call.
    const std::int32_t service = j.service;
    const std::int32_t parent = j.parent;
    if (j.arrival >= warmup_end_ && now_ < end_) {
      const double latency = static_cast<double>(now_ - j.arrival) / kTicksPerSecond;
      samples_[service].push_back(static_cast<float>(latency));
      latency_sum_[service] += latency;
    }
    j.service = kFree;
    free_jobs_.push_back(job);
    if (parent == kNoParent) {
      ++external_done_;
      return;
    }
    job = parent;
  }
}

RequestSimResult RequestSim::run() {
  auto next_external = [&] {
    queue_.push(now_ + static_cast<Ticks>(std::llround(rng_.exponential(external_rate_) * kTicksPerSecond)),
                Event{kExternalArrival, -1, 0});
  };
  if (external_rate_ > 0) next_external();
  while (!queue_.empty() && queue_.next_time() < end_) {
    const ScheduledEvent e = *queue_.pop();
    now_ = e.time;
    ++events_;
    switch (e.event.kind) {
      case kExternalArrival: {
        ++external_in_;
        const std::int32_t job = new_job(pick_entry(), kNoParent);
        next_external();
        arrive(job);
        break;
      }
      case kCallArrival: arrive(static_cast<std::int32_t>(e.event.arg)); break;
      case kServiceDone: service_done(e.event.target); break;
      default: break;
    }
  }

  RequestSimResult out;
  out.external_in = external_in_;
  out.external_done = external_done_;
  for (const Job& j : jobs_) out.external_in_flight += j.service != kFree && j.parent == kNoParent;
  out.events = events_;
  const double seconds = static_cast<double>(end_ - warmup_end_) / kTicksPerSecond;
  out.services.resize(services_.size());
  for (std::size_t s = 0; s < services_.size(); ++s) {
    std::vector<float>& v = samples_[s];
    ServiceSample& o = out.services[s];
    o.completed = static_cast<std::int64_t>(v.size());
    o.throughput = static_cast<double>(v.size()) / seconds;
    if (v.empty()) continue;
    o.mean = latency_sum_[s] / static_cast<double>(v.size());
    // Nearest rank: the ceil(q n)-th smallest. Select the largest quantile first, then the
    // smaller ones within the part below it.
    auto rank = [&](double q) {
      const auto k = static_cast<std::size_t>(std::ceil(q * static_cast<double>(v.size()) - 1e-9));
      return std::clamp<std::size_t>(k, 1, v.size()) - 1;
    };
    const std::size_t i99 = rank(0.99), i95 = rank(0.95), i50 = rank(0.50);
    std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(i99), v.end());
    std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(i95), v.begin() + static_cast<std::ptrdiff_t>(i99));
    std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(i50), v.begin() + static_cast<std::ptrdiff_t>(i95));
    o.p99 = v[i99];
    o.p95 = v[i95];
    o.p50 = v[i50];
  }
  return out;
}

}  // namespace

RequestSimResult run_request_level(const Scenario& scenario, std::uint64_t seed, const RequestSimOptions& options) {
  RequestSim sim(scenario, seed, options);
  return sim.run();
}

}  // namespace opsrl::sim
