// Golden trace: a deterministic run of the small scenario, its timeline stamped with
// simulated time, compared with tests/golden/small_timeline.txt. To accept an intended
// change, run the test with OPSRL_UPDATE_GOLDEN=1 and review the diff.
#include <cstdlib>
#include <fstream>
#include <sstream>

#include <doctest/doctest.h>
#include <fmt/format.h>

#include <opsrl/sim/cluster.hpp>

using namespace opsrl::sim;

TEST_CASE("golden timeline of the small scenario") {
  Cluster c(load_scenario("small"), 2024);
  std::ostringstream out;
  c.set_timeline([&](const TimelineEntry& e) {
    out << fmt::format("{} {} {} {}\n", format_time(e.time), e.what,
                       e.entity.kind == EntityKind::kNone ? "-" : c.entity_name(e.entity), e.detail);
  });
  c.inject({FaultType::kMemoryLeak, 5 * kMinute, c.find_entity("api"), 0.9});
  c.inject({FaultType::kNodeFailure, 40 * kMinute, c.find_entity("node-2"), 0.5});
  c.run_until(30 * kMinute);
  out << "# rollback api\n";
  c.apply({Verb::kRollback, c.find_entity("api")});
  c.run_until(90 * kMinute);
  const Counters& k = c.counters();
  out << fmt::format("# requests in {:.3f} served {:.3f} failed {:.3f}; slo violated {:.0f} s; oom kills {}\n",
                     k.requests_in, k.requests_served, k.requests_failed, k.slo_violation_seconds, k.oom_kills);

  const std::string path = std::string(OPSRL_SOURCE_DIR) + "/tests/golden/small_timeline.txt";
  if (std::getenv("OPSRL_UPDATE_GOLDEN")) {
    std::ofstream(path) << out.str();
    MESSAGE("golden file rewritten: " << path);
  }
  std::ifstream in(path);
  REQUIRE_MESSAGE(in.good(), "missing golden file " << path << " (run with OPSRL_UPDATE_GOLDEN=1)");
  std::stringstream expected;
  expected << in.rdbuf();
  CHECK(out.str() == expected.str());
}
