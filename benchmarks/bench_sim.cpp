// Simulated seconds per wall second for the built-in scenarios, with faults injected so that
// the event mix is realistic. Prints the median of several runs.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include <opsrl/sim/cluster.hpp>

using namespace opsrl::sim;

int main(int argc, char** argv) {
  const int runs = argc > 1 ? std::atoi(argv[1]) : 5;
  std::printf("simulated time per wall time, one core, median of %d runs (6 h simulated, 4 faults)\n", runs);
  for (const char* name : {"small", "default", "large"}) {
    const ScenarioPtr scenario = load_scenario(name);
    std::vector<double> speed;
    long events = 0;
    for (int i = 0; i < runs; ++i) {
      Cluster cluster(scenario, 100 + i);
      Rng rng(i, Stream::kScenarioGen);
      for (int k = 0; k < 4; ++k) cluster.inject(sample_fault(cluster, rng, (k + 1) * kHour));
      const SimTime duration = 6 * kHour;
      const auto start = std::chrono::steady_clock::now();
      cluster.run_until(duration);
      const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      speed.push_back(to_seconds(duration) / s);
      events = cluster.counters().events_processed;
    }
    std::sort(speed.begin(), speed.end());
    std::printf("  %-8s %10.0fx real time (min %.0fx, max %.0fx), %ld events per run\n", name, speed[speed.size() / 2],
                speed.front(), speed.back(), events);
  }
  return 0;
}
