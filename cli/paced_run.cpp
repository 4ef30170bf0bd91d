// run_paced: sleep until the wall time of the next scrape (in ticks of at most 50 ms, so a
// signal is noticed promptly), then run the cluster to it.
#include "paced_run.hpp"

#include <algorithm>
#include <chrono>
#include <csignal>
#include <thread>

namespace opsrl::cli {

namespace {

volatile std::sig_atomic_t g_signal = 0;

extern "C" void on_signal(int sig) { g_signal = sig; }

// Installs the handler for SIGINT and SIGTERM; restores the previous ones when destroyed.
class SignalScope {
 public:
  SignalScope() {
    g_signal = 0;
    struct sigaction sa {};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;  // no SA_RESTART: a sleep ends early
    sigaction(SIGINT, &sa, &old_int_);
    sigaction(SIGTERM, &sa, &old_term_);
  }
  ~SignalScope() {
    sigaction(SIGINT, &old_int_, nullptr);
    sigaction(SIGTERM, &old_term_, nullptr);
  }
  SignalScope(const SignalScope&) = delete;
  SignalScope& operator=(const SignalScope&) = delete;

 private:
  struct sigaction old_int_ {
  }, old_term_{};
};

}  // namespace

PacedRun run_paced(sim::Cluster& cluster, sim::SimTime until, double pace) {
  using Clock = std::chrono::steady_clock;
  const SignalScope signals;
  const sim::SimTime step = std::max<sim::SimTime>(1, cluster.scenario().telemetry.scrape_interval);
  const Clock::time_point start = Clock::now();
  PacedRun r;
  cluster.run_until(cluster.now());  // the scrape at the current time, served at once
  sim::SimTime t = cluster.now();
  while (t < until) {
    const sim::SimTime next = std::min(until, (t / step + 1) * step);
    const auto due =
        start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(sim::to_seconds(next) / pace));
    while (!g_signal && Clock::now() < due)
      std::this_thread::sleep_for(std::min<Clock::duration>(due - Clock::now(), std::chrono::milliseconds(50)));
    if (g_signal) break;
    cluster.run_until(next);
    t = next;
  }
  r.reached = cluster.now();
  r.signal = g_signal;
  return r;
}

}  // namespace opsrl::cli
