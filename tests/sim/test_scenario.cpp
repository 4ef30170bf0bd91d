// Scenario loading: the built-in scenarios, and one precise message for each kind of mistake.
#include <doctest/doctest.h>

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

#include <opsrl/sim/scenario.hpp>
#include <opsrl/sim/time.hpp>

namespace {

using namespace opsrl::sim;

// The message of the ScenarioError that parsing `text` throws, or "(no error)".
std::string error_of(std::string_view text) {
  try {
    parse_scenario(text, "inline.toml");
  } catch (const ScenarioError& e) {
    return e.what();
  }
  return "(no error)";
}

bool contains(const std::string& haystack, std::string_view needle) {
  return haystack.find(needle) != std::string::npos;
}

// Checks that a message names the place, the key path and the expected form.
void check_error(std::string_view text, std::string_view position, std::string_view key_path,
                 std::string_view expected) {
  const std::string message = error_of(text);
  INFO("message: " << message);
  CHECK(message.starts_with("inline.toml:" + std::string(position) + ": "));
  CHECK(contains(message, std::string(key_path) + ": "));
  CHECK(contains(message, expected));
}

// Arrival rate at every service at base traffic: external share plus callers' calls.
std::vector<double> arrival_rates(const Scenario& s) {
  std::vector<double> rps(s.services.size(), 0.0);
  for (int i : s.topological_order()) {
    rps[i] += s.traffic.base_rps * s.services[i].traffic_share;
    for (const CallSpec& c : s.services[i].calls) rps[c.target] += rps[i] * c.calls_per_request;
  }
  return rps;
}

constexpr std::string_view kMinimal = R"(name = "t"
[[nodes]]
name = "n1"
[[services]]
name = "a"
traffic_share = 1.0
)";

}  // namespace

TEST_CASE("builtin scenarios load with their expected sizes") {
  CHECK(builtin_scenario_names() == std::vector<std::string>{"small", "default", "large"});
  CHECK(builtin_scenario_text("nope").empty());

  const ScenarioPtr small = load_scenario("small");
  CHECK(small->name == "small");
  CHECK(small->source == "builtin:small");
  CHECK(small->nodes.size() == 2);
  CHECK(small->services.size() == 3);

  const ScenarioPtr def = load_scenario("default");
  CHECK(def->nodes.size() == 8);
  CHECK(def->services.size() == 8);
  CHECK(def->total_replica_slots() >= 30);
  CHECK(def->total_replica_slots() <= 36);
  CHECK(def->node_index("node-a-1") == 0);
  CHECK(def->node_index("node-b-4") == 7);
  CHECK(def->node_index("node-c-1") == -1);
  CHECK(def->service_index("frontend") == 0);
  CHECK(def->service_index("nope") == -1);
  CHECK(def->telemetry.scrape_interval == 15 * kSecond);
  CHECK(def->traffic.period == kDay);

  const ScenarioPtr large = load_scenario("large");
  CHECK(large->nodes.size() >= 64);
  CHECK(large->services.size() == 40);
}

TEST_CASE("builtin scenarios: topological order puts callers before callees") {
  for (const std::string& name : builtin_scenario_names()) {
    CAPTURE(name);
    const ScenarioPtr s = load_scenario(name);
    const std::vector<int> order = s->topological_order();
    REQUIRE(order.size() == s->services.size());
    std::vector<int> position(order.size());
    for (std::size_t k = 0; k < order.size(); ++k) position[order[k]] = static_cast<int>(k);
    for (std::size_t i = 0; i < s->services.size(); ++i) {
      for (const CallSpec& c : s->services[i].calls) {
        REQUIRE(c.target >= 0);
        CHECK(s->services[c.target].name == c.service);
        CHECK(position[i] < position[c.target]);
      }
    }
  }
}

TEST_CASE("builtin scenarios are sized for moderate utilisation") {
  // Replica CPU utilisation = (arrivals / replicas) * cpu_seconds_per_request / cpu_request:
  // 0.3-0.6 at base traffic leaves room for faults to show, and the diurnal peak stays < 0.75.
  for (const std::string& name : builtin_scenario_names()) {
    const ScenarioPtr s = load_scenario(name);
    const std::vector<double> rps = arrival_rates(*s);
    const double peak = 1.0 + s->traffic.diurnal_amplitude;
    for (std::size_t i = 0; i < s->services.size(); ++i) {
      const ServiceSpec& svc = s->services[i];
      const double util = rps[i] / svc.replicas * svc.cpu_seconds_per_request / svc.cpu_request;
      CAPTURE(name);
      CAPTURE(svc.name);
      CHECK(util >= 0.3);
      CHECK(util <= 0.6);
      CHECK(util * peak < 0.75);
    }
  }
}

TEST_CASE("defaults apply and count expands nodes") {
  const ScenarioPtr s = parse_scenario(R"(name = "t"
[[nodes]]
name = "pool"
count = 3
cpu_cores = 16
[[services]]
name = "a"
traffic_share = 1.0
calls = [{ service = "b" }]
[[services]]
name = "b"
)",
                                       "inline.toml");
  REQUIRE(s->nodes.size() == 3);
  CHECK(s->nodes[0].name == "pool-1");
  CHECK(s->nodes[2].name == "pool-3");
  CHECK(s->nodes[1].cpu_cores == 16.0);
  CHECK(s->nodes[1].zone == "zone-a");
  const ServiceSpec& b = s->services[1];
  CHECK(b.tier == "backend");
  CHECK(b.replicas == 2);
  CHECK(b.max_replicas == 6);
  CHECK(b.traffic_share == 0.0);
  CHECK(s->services[0].calls[0].target == 1);
  CHECK(s->services[0].calls[0].calls_per_request == 1.0);
  CHECK(s->slo.p99_latency_ms == 500.0);
  CHECK(s->traffic.noise_correlation == 5 * kMinute);
}

TEST_CASE("durations are read from strings") {
  const ScenarioPtr s = parse_scenario(R"(name = "t"
[traffic]
period = "1h30m"
phase = "250ms"
surge_duration = 90
[telemetry]
scrape_interval = "30s"
[[nodes]]
name = "n1"
[[services]]
name = "a"
traffic_share = 1.0
)",
                                       "inline.toml");
  CHECK(s->traffic.period == 90 * kMinute);
  CHECK(s->traffic.phase == 250);
  CHECK(s->traffic.surge_duration == 90 * kSecond);
  CHECK(s->telemetry.scrape_interval == 30 * kSecond);
}

TEST_CASE("parse_duration and format_time") {
  CHECK(parse_duration("250ms") == 250);
  CHECK(parse_duration("90s") == 90 * kSecond);
  CHECK(parse_duration("15m") == 15 * kMinute);
  CHECK(parse_duration("2h") == 2 * kHour);
  CHECK(parse_duration("1d") == kDay);
  CHECK(parse_duration("1h30m") == 90 * kMinute);
  CHECK(parse_duration("1.5h") == 90 * kMinute);
  CHECK(parse_duration("45") == 45 * kSecond);
  CHECK_THROWS_AS(parse_duration(""), std::invalid_argument);
  CHECK_THROWS_AS(parse_duration("1h30"), std::invalid_argument);
  CHECK_THROWS_AS(parse_duration("-5s"), std::invalid_argument);
  try {
    parse_duration("15x");
    FAIL("no exception");
  } catch (const std::invalid_argument& e) {
    CHECK(std::string(e.what()) ==
          "invalid duration \"15x\": expected a number with unit ms, s, m, h or d, "
          "e.g. 90s, 15m, 2h");
  }
  CHECK(format_time(0) == "00:00:00");
  CHECK(format_time(kHour + 2 * kMinute + 3 * kSecond) == "01:02:03");
  CHECK(format_time(61 * kSecond + 5) == "00:01:01.005");
  CHECK(format_time(2 * kDay + 3 * kHour) == "2d 03:00:00");
}

TEST_CASE("trace paths resolve against the scenario file's directory") {
  const std::string text = R"(name = "t"
[traffic]
trace_csv = "traces/day.csv"
[[nodes]]
name = "n1"
[[services]]
name = "a"
traffic_share = 1.0
)";
  CHECK(parse_scenario(text, "configs/lab/x.toml")->traffic.trace_csv ==
        "configs/lab/traces/day.csv");
  CHECK(parse_scenario(text, "x.toml")->traffic.trace_csv == "traces/day.csv");
  CHECK(parse_scenario(text, "builtin:x")->traffic.trace_csv == "traces/day.csv");
}

TEST_CASE("a missing scenario file lists the built-in ones") {
  try {
    load_scenario("no-such-scenario.toml");
    FAIL("no exception");
  } catch (const ScenarioError& e) {
    CHECK(std::string(e.what()) ==
          "cannot open scenario \"no-such-scenario.toml\": no such file; built-in scenarios are: "
          "small, default, large");
  }
}

TEST_CASE("minimal scenario parses") { CHECK(error_of(kMinimal) == "(no error)"); }

TEST_CASE("error: value of the wrong type") {
  check_error(R"(name = "t"
[[nodes]]
name = "n1"
[[services]]
name = "a"
traffic_share = 1.0
replicas = "three"
)",
              "7:12", "services[0].replicas", "expected an integer >= 1, got \"three\"");
}

TEST_CASE("error: unknown key, with a suggestion and the known keys") {
  const std::string text = R"(name = "t"
[[nodes]]
name = "n1"
[[services]]
name = "cart"
traffic_share = 1.0
replcias = 3
)";
  check_error(text, "7:1", "services[0].replcias",
              "unknown key \"replcias\" in [[services]] \"cart\" (did you mean \"replicas\"?); "
              "known keys: name, tier, ");
  CHECK(contains(error_of(text), "max_replicas"));
}

TEST_CASE("error: a misspelt required key is reported as unknown, not missing") {
  check_error(R"(name = "t"
[[nodes]]
name = "n1"
[[services]]
name = "a"
traffic_share = 1.0
calls = [{ servce = "a" }]
)",
              "7:12", "services[0].calls[0].servce", "(did you mean \"service\"?)");
}

TEST_CASE("error: call to an unknown service") {
  check_error(R"(name = "t"
[[nodes]]
name = "n1"
[[services]]
name = "a"
traffic_share = 1.0
calls = [{ service = "b" }]
)",
              "7:22", "services[0].calls[0].service",
              "expected the name of a service in this scenario (\"a\"), got \"b\"");
}

TEST_CASE("error: dependency cycle names the cycle") {
  check_error(R"(name = "t"
[[nodes]]
name = "n1"
[[services]]
name = "a"
traffic_share = 1.0
calls = [{ service = "b" }]
[[services]]
name = "b"
calls = [{ service = "c" }]
[[services]]
name = "c"
calls = [{ service = "a" }]
)",
              "13:22", "services[2].calls[0].service", "dependency cycle a -> b -> c -> a");
}

TEST_CASE("error: missing name") {
  check_error(R"(name = "t"
[[nodes]]
name = "n1"
[[services]]
traffic_share = 1.0
)",
              "4:1", "services[0].name", "but the key is missing");
}

TEST_CASE("error: negative cpu") {
  check_error(R"(name = "t"
[[nodes]]
name = "n1"
cpu_cores = -2
[[services]]
name = "a"
traffic_share = 1.0
)",
              "4:13", "nodes[0].cpu_cores", "expected a number > 0, got -2");
  check_error(R"(name = "t"
[[nodes]]
name = "n1"
[[services]]
name = "a"
traffic_share = 1.0
cpu_seconds_per_request = 0
)",
              "7:27", "services[0].cpu_seconds_per_request", "expected a number > 0, got 0");
}

TEST_CASE("error: bad duration") {
  check_error(R"(name = "t"
[traffic]
period = "15x"
[[nodes]]
name = "n1"
[[services]]
name = "a"
traffic_share = 1.0
)",
              "3:10", "traffic.period", "expected a duration such as \"250ms\", \"90s\"");
}

TEST_CASE("error: TOML syntax") {
  const std::string message = error_of(R"(name = "t"
[[nodes]]
name = "n1
)");
  INFO("message: " << message);
  CHECK(message.starts_with("inline.toml:3:"));
  CHECK(contains(message, "TOML syntax: "));
}

TEST_CASE("error: ranges and cross-field checks") {
  check_error(R"(name = "t"
[[nodes]]
name = "n1"
disk_baseline = 1.5
[[services]]
name = "a"
traffic_share = 1.0
)",
              "4:17", "nodes[0].disk_baseline", "expected a number between 0 and 1, got 1.5");
  check_error(R"(name = "t"
[[nodes]]
name = "n1"
[[services]]
name = "a"
traffic_share = 1.0
replicas = 8
)",
              "7:12", "services[0].replicas",
              "expected an integer between min_replicas (1) and max_replicas (6), got 8");
  check_error(R"(name = "t"
[[nodes]]
name = "n1"
[[services]]
name = "a"
traffic_share = 1.0
tier = "db"
)",
              "7:8", "services[0].tier",
              "expected one of \"frontend\", \"backend\", \"cache\" or \"database\", got \"db\"");
}

TEST_CASE("error: structure of the whole file") {
  check_error(R"(name = "t"
[[services]]
name = "a"
traffic_share = 1.0
)",
              "1:1", "nodes", "expected at least one [[nodes]] entry");
  check_error(R"(name = "t"
[[nodes]]
name = "n1"
[[services]]
name = "a"
traffic_share = 0.5
)",
              "4:1", "services", "expected traffic_share values summing to 1, got 0.5");
  check_error(R"(name = "t"
[[nodes]]
name = "n1"
[[services]]
name = "a"
)",
              "4:1", "services", "expected at least one service with traffic_share > 0");
  check_error(R"(name = "t"
[[nodes]]
name = "n"
count = 2
[[nodes]]
name = "n-2"
[[services]]
name = "a"
traffic_share = 1.0
)",
              "6:8", "nodes[1].name",
              "expected a unique node name, but \"n-2\" is already defined");
  check_error(R"(name = "t"
slo = 5
[[nodes]]
name = "n1"
[[services]]
name = "a"
traffic_share = 1.0
)",
              "2:7", "slo", "expected a table ([slo]), got 5");
}
