// Event-kernel throughput on the classic hold model: keep N events pending; repeatedly pop
// the earliest and push one new event at its time plus an exponential increment.
// Prints events/s (one pop + one push per event) as the median of several runs.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <vector>

#include <opsrl/sim/event_queue.hpp>
#include <opsrl/sim/rng.hpp>

using namespace opsrl::sim;

static double run_hold(int pending, long operations, std::uint64_t seed) {
  EventQueue q;
  q.reserve(static_cast<std::size_t>(pending) * 2);
  Rng rng(seed, Stream::kScenarioGen);
  for (int i = 0; i < pending; ++i) q.push(static_cast<SimTime>(rng.exponential(1.0 / 1000.0)), Event{0, i, 0});
  // Precomputed increments keep the RNG's cost out of the kernel's figure.
  std::vector<SimTime> inc(4096);
  for (auto& x : inc) x = 1 + static_cast<SimTime>(rng.exponential(1.0 / 1000.0));
  const auto start = std::chrono::steady_clock::now();
  std::int64_t checksum = 0;
  for (long k = 0; k < operations; ++k) {
    const ScheduledEvent e = *q.pop();
    checksum += e.event.target;
    q.push(e.time + inc[k & 4095], e.event);
  }
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (checksum == 42) std::puts("");  // keep the loop observable
  return static_cast<double>(operations) / s;
}

int main(int argc, char** argv) {
  const int runs = argc > 1 ? std::atoi(argv[1]) : 5;
  std::printf("hold model, one core: events/s (pop + push), median of %d runs\n", runs);
  for (int pending : {100, 10000, 1000000}) {
    std::vector<double> r;
    for (int i = 0; i < runs; ++i) r.push_back(run_hold(pending, 20'000'000, 1 + i));
    std::sort(r.begin(), r.end());
    std::printf("  pending %8d: %6.1f M events/s (min %.1f, max %.1f)\n", pending, r[r.size() / 2] / 1e6,
                r.front() / 1e6, r.back() / 1e6);
  }
  // Cancellation: push, cancel half, pop the rest.
  EventQueue q;
  std::vector<EventHandle> handles;
  const int n = 2'000'000;
  handles.reserve(n);
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < n; ++i) handles.push_back(q.push((static_cast<SimTime>(i) * 7919) % 100000, Event{0, i, 0}));
  for (int i = 0; i < n; i += 2) q.cancel(handles[i]);
  while (q.pop()) {
  }
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("push %d, cancel half, drain: %.1f M ops/s\n", n, 2.5 * n / s / 1e6);
  return 0;
}
