// Throughput of the per-request simulation (run_request_level) on the small scenario: external
// requests simulated per wall-clock second and events processed per second.
//
//   bench_request_level [HOURS [RPS [REPEATS]]]   defaults: 1 simulated hour, base_rps, 3 runs
//
// Each run uses its own seed; the median run is reported.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <vector>

#include <opsrl/sim/request_sim.hpp>
#include <opsrl/sim/scenario.hpp>

int main(int argc, char** argv) {
  using namespace opsrl::sim;
  try {
    const double hours = argc > 1 ? std::atof(argv[1]) : 1.0;
    const double rps = argc > 2 ? std::atof(argv[2]) : 0.0;
    const int repeats = argc > 3 ? std::max(1, std::atoi(argv[3])) : 3;
    if (!(hours > 0)) {
      std::fprintf(stderr, "usage: %s [HOURS [RPS [REPEATS]]]  (HOURS > 0)\n", argv[0]);
      return 2;
    }
    const ScenarioPtr scenario = load_scenario("small");
    RequestSimOptions options;
    options.external_rps = rps;
    options.duration = from_seconds(hours * 3600.0);
    options.warmup = 5 * kMinute;

    struct Run {
      double wall;
      RequestSimResult result;
    };
    std::vector<Run> runs;
    for (int i = 0; i < repeats; ++i) {
      const auto start = std::chrono::steady_clock::now();
      RequestSimResult r = run_request_level(*scenario, 1000 + static_cast<std::uint64_t>(i), options);
      const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      runs.push_back({wall, std::move(r)});
    }
    std::sort(runs.begin(), runs.end(), [](const Run& a, const Run& b) { return a.wall < b.wall; });
    const Run& median = runs[runs.size() / 2];
    const RequestSimResult& r = median.result;
    std::int64_t calls = 0;
    for (const ServiceSample& s : r.services) calls += s.completed;
    const double simulated = to_seconds(options.warmup + options.duration);

    std::printf("bench_request_level: scenario small, %.0f external rps, %.2f h simulated (+5 min warm-up), %d run(s)\n",
                rps > 0 ? rps : scenario->traffic.base_rps, hours, repeats);
    std::printf("  median wall time       %10.3f s\n", median.wall);
    std::printf("  external requests      %10lld  (%.3g requests/s simulated)\n", static_cast<long long>(r.external_in),
                static_cast<double>(r.external_in) / median.wall);
    std::printf("  calls measured         %10lld  (%.3g calls/s simulated)\n", static_cast<long long>(calls),
                static_cast<double>(calls) / median.wall);
    std::printf("  events                 %10lld  (%.3g events/s)\n", static_cast<long long>(r.events),
                static_cast<double>(r.events) / median.wall);
    std::printf("  speed-up               %10.0fx real time\n", simulated / median.wall);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_request_level: %s\n", e.what());
    return 1;
  }
}
