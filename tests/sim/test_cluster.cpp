#include <cstring>
#include <thread>
#include <vector>

#include <doctest/doctest.h>

#include <opsrl/sim/cluster.hpp>

using namespace opsrl::sim;

namespace {

// FNV-1a over the raw bytes of every scraped matrix and the firing alerts.
std::uint64_t hash_bytes(std::uint64_t h, const void* data, std::size_t n) {
  const auto* p = static_cast<const unsigned char*>(data);
  for (std::size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 0x100000001B3ULL;
  return h;
}

std::uint64_t telemetry_hash(const ScenarioPtr& scenario, std::uint64_t seed, SimTime duration) {
  Cluster c(scenario, seed);
  Rng rng(seed, Stream::kScenarioGen);
  for (int k = 0; k < 3; ++k) c.inject(sample_fault(c, rng, (k + 1) * duration / 4));
  std::uint64_t h = 0xCBF29CE484222325ULL;
  c.set_scrape_hook([&](const Telemetry& t) {
    h = hash_bytes(h, &t.time, sizeof t.time);
    h = hash_bytes(h, t.nodes.data(), sizeof(double) * t.nodes.size());
    h = hash_bytes(h, t.services.data(), sizeof(double) * t.services.size());
    h = hash_bytes(h, t.replicas.data(), sizeof(double) * t.replicas.size());
    for (const Alert& a : t.alerts) {  // field by field: the struct has padding
      const std::int64_t fields[] = {static_cast<std::int64_t>(a.rule), static_cast<std::int64_t>(a.entity.kind),
                                     a.entity.index, a.since};
      h = hash_bytes(h, fields, sizeof fields);
    }
  });
  c.run_until(duration);
  const Counters& k = c.counters();
  h = hash_bytes(h, &k.requests_served, sizeof k.requests_served);
  return h;
}

}  // namespace

TEST_CASE("same seed gives bit-identical telemetry; another seed differs") {
  const ScenarioPtr sc = load_scenario("default");
  const auto a = telemetry_hash(sc, 7, 3 * kHour);
  CHECK(a == telemetry_hash(sc, 7, 3 * kHour));
  CHECK(a != telemetry_hash(sc, 8, 3 * kHour));
}

TEST_CASE("runs on several threads at once are identical to a run alone") {
  const ScenarioPtr sc = load_scenario("default");
  const auto alone = telemetry_hash(sc, 3, kHour);
  std::vector<std::uint64_t> got(4);
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) threads.emplace_back([&, i] { got[i] = telemetry_hash(sc, 3, kHour); });
  for (auto& t : threads) t.join();
  for (auto g : got) CHECK(g == alone);
}

TEST_CASE("requests are conserved: in = served + failed + in flight") {
  for (const std::string name : {"small", "default", "large"}) {
    CAPTURE(name);
    const ScenarioPtr sc = load_scenario(name);
    Cluster c(sc, 11);
    Rng rng(11, Stream::kScenarioGen);
    for (int k = 0; k < 6; ++k) c.inject(sample_fault(c, rng, (k + 1) * 20 * kMinute));
    for (SimTime t = 0; t <= 3 * kHour; t += 7 * kMinute + 13) {
      c.run_until(t);
      const Counters& k = c.counters();
      const double total = k.requests_served + k.requests_failed + k.requests_in_flight;
      REQUIRE(k.requests_in == doctest::Approx(total).epsilon(1e-9));
      REQUIRE(k.requests_in_flight >= -1e-6);
    }
    CHECK(c.counters().requests_in > 0);
  }
}

TEST_CASE("a healthy cluster meets its SLO and telemetry is sane") {
  for (const std::string name : {"small", "default", "large"}) {
    CAPTURE(name);
    auto quiet = std::make_shared<Scenario>(*load_scenario(name));
    quiet->traffic.surges_per_hour = 0;  // random surges are incidents too
    const ScenarioPtr sc = quiet;
    Cluster c(sc, 1);
    c.run_until(12 * kHour);  // through the diurnal peak
    const Counters& k = c.counters();
    CHECK(k.slo_violation_seconds == 0);
    CHECK(k.requests_failed / k.requests_in < 1e-3);
    const Telemetry& t = c.telemetry();
    CHECK(t.nodes.rows() == c.num_nodes());
    CHECK(t.services.rows() == c.num_services());
    CHECK(t.replicas.rows() == c.num_replica_slots());
    CHECK(t.alerts.empty());
    for (int s = 0; s < c.num_services(); ++s) {
      CHECK(t.services(s, kSvcReadyReplicas) == sc->services[s].replicas);
      CHECK(t.services(s, kSvcLatencyP50) <= t.services(s, kSvcLatencyP99) * 1.2);
      CHECK(t.services(s, kSvcCpuUtil) < 0.85);
    }
    for (int n = 0; n < c.num_nodes(); ++n) CHECK(t.nodes(n, kNodeReady) == 1);
    // Cost accrues: every initial replica for the whole run.
    double per_hour = 0;
    for (const ServiceSpec& s : sc->services) per_hour += s.replicas * s.cost_per_replica_hour;
    CHECK(k.replica_cost_usd == doctest::Approx(12 * per_hour).epsilon(1e-6));
  }
}

TEST_CASE("invalid actions are refused with a reason and change nothing") {
  Cluster c(load_scenario("default"), 1);
  c.run_until(kMinute);
  const int frontend = c.find_entity("frontend").index;
  auto refused = [&](Action a, const char* needle) {
    const auto before = c.counters().actions_refused;
    const ActionResult r = c.apply(a);
    CHECK_FALSE(r.accepted);
    CHECK_MESSAGE(r.reason.find(needle) != std::string::npos, r.reason);
    CHECK(c.counters().actions_refused == before + 1);
  };
  refused({Verb::kRestartReplica, {EntityKind::kService, frontend}}, "needs a replica target");
  refused({Verb::kScaleIn, {EntityKind::kService, 99}}, "out of range");
  refused({Verb::kRestartReplica, c.find_entity("frontend-5")}, "no replica in this slot");
  refused({Verb::kScaleIn, c.find_entity("redis-cache")}, "min_replicas");
  CHECK(c.apply({Verb::kScaleOut, c.find_entity("postgres-db")}).accepted);  // 2 -> 3
  refused({Verb::kScaleOut, c.find_entity("postgres-db")}, "max_replicas");
  CHECK(c.apply({Verb::kRollback, {EntityKind::kService, frontend}}).accepted);
  refused({Verb::kRollback, {EntityKind::kService, frontend}}, "already in progress");
  CHECK(c.apply({Verb::kEscalate, {}}).accepted);
  refused({Verb::kEscalate, {}}, "already");
}

TEST_CASE("scale out adds a ready replica after its start-up; scale in removes one") {
  Cluster c(load_scenario("default"), 1);
  c.run_until(kMinute);
  const EntityRef cart = c.find_entity("cart");
  REQUIRE(c.apply({Verb::kScaleOut, cart}).accepted);
  c.run_until(kMinute + 15 * kSecond);  // the next scrape
  CHECK(c.telemetry().services(cart.index, kSvcDesiredReplicas) == 3);
  c.run_until(2 * kMinute);
  CHECK(c.telemetry().services(cart.index, kSvcReadyReplicas) == 3);
  const double cost_before = c.counters().action_cost_usd;
  REQUIRE(c.apply({Verb::kScaleIn, cart}).accepted);
  CHECK(c.counters().action_cost_usd == cost_before + verb_info(Verb::kScaleIn).cost_usd);
  c.run_until(3 * kMinute);
  CHECK(c.telemetry().services(cart.index, kSvcReadyReplicas) == 2);
}

TEST_CASE("entity names round-trip") {
  Cluster c(load_scenario("default"), 1);
  for (int n = 0; n < c.num_nodes(); ++n) CHECK(c.find_entity(c.entity_name({EntityKind::kNode, n})) == EntityRef{EntityKind::kNode, n});
  for (int s = 0; s < c.num_services(); ++s)
    CHECK(c.find_entity(c.entity_name({EntityKind::kService, s})) == EntityRef{EntityKind::kService, s});
  for (int r = 0; r < c.num_replica_slots(); ++r)
    CHECK(c.find_entity(c.entity_name({EntityKind::kReplica, r})) == EntityRef{EntityKind::kReplica, r});
  CHECK(c.find_entity("nope").kind == EntityKind::kNone);
  CHECK(c.find_entity("cart-17").kind == EntityKind::kNone);
}

TEST_CASE("durations parse and format") {
  CHECK(parse_duration("90s") == 90 * kSecond);
  CHECK(parse_duration("15m") == 15 * kMinute);
  CHECK(parse_duration("2h") == 2 * kHour);
  CHECK(parse_duration("1h30m") == 90 * kMinute);
  CHECK(parse_duration("250ms") == 250);
  CHECK(parse_duration("42") == 42 * kSecond);
  CHECK_THROWS_WITH_AS(parse_duration("15x"), doctest::Contains("expected"), std::invalid_argument);
  CHECK_THROWS_AS(parse_duration(""), std::invalid_argument);
  CHECK(format_time(3 * kHour + 4 * kMinute + 5 * kSecond) == "03:04:05");
  CHECK(format_time(kDay + kHour) == "1d 01:00:00");
}
