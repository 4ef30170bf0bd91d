// Observation layout: token order and types, padding, links, the history window (a memory
// leak shows as a rising window), alerts as features, scaling.
#include <cmath>
#include <cstdlib>
#include <set>

#include <doctest/doctest.h>

#include <opsrl/envs/actions.hpp>
#include <opsrl/sim/traffic.hpp>

#include "helpers.hpp"

using namespace opsrl::envs;
using namespace opsrl::envs::test;
namespace sim = opsrl::sim;
namespace f = opsrl::envs::feature;

namespace {

EnvConfigPtr one_fault(sim::FaultType type, bool noise = false) {
  EnvConfig c;
  c.telemetry_noise = noise;
  c.incident.fault_types = {type};
  c.incident.control_fraction = 0;
  c.incident.severity_min = 1.0;
  c.incident.onset_min = 15 * sim::kSecond;
  c.incident.onset_max = 30 * sim::kSecond;
  return make_config(c);
}

}  // namespace

TEST_CASE("tokens: global, nodes, services, replica slots, then padding") {
  EnvConfig c;
  c.max_tokens = 64;
  Harness h("incident", make_config(c));
  h.reset(3);
  const EnvSpec& s = h.env->spec();
  const TokenLayout& L = h.env->tokens();
  REQUIRE(s.max_tokens == 64);
  const ObservationView v = h.view();
  const int F = s.feature_width;
  for (int t = 0; t < s.max_tokens; ++t) {
    CAPTURE(t);
    const TokenType type = L.type_of(t);
    CHECK(v.token_type[t] == static_cast<int>(type));
    CHECK(v.valid[t] == (type != TokenType::kPadding));
    const float* row = v.features + t * F;
    if (type == TokenType::kPadding) {
      for (int j = 0; j < F; ++j) CHECK(row[j] == 0.0f);
      CHECK(v.links[2 * t] == -1);
      CHECK(v.links[2 * t + 1] == -1);
      continue;
    }
    for (int k = 0; k < f::kTypeColumns; ++k) CHECK(row[k] == (k == static_cast<int>(type) ? 1.0f : 0.0f));
    if (t > 0) CHECK(L.token_of(L.entity_of(t)) == t);
  }
  CHECK(L.type_of(0) == TokenType::kGlobal);
  CHECK(L.type_of(1) == TokenType::kNode);
  CHECK(L.type_of(1 + s.num_nodes) == TokenType::kService);
  CHECK(L.type_of(1 + s.num_nodes + s.num_services) == TokenType::kReplica);
  CHECK(L.type_of(s.num_real_tokens()) == TokenType::kPadding);
  // Padding tokens are never valid targets.
  const incident::MaskLayout m{s.max_tokens};
  for (int verb = 0; verb < incident::kNumVerbs; ++verb)
    for (int t = s.num_real_tokens(); t < s.max_tokens; ++t) CHECK(v.action_mask[m.target(verb) + t] == 0);
}

TEST_CASE("links: a replica points at its service and at the node the scrape reports") {
  Harness h("incident", make_config());
  h.reset(4);
  for (int i = 0; i < 10; ++i) h.step_random(0.3);
  const ObservationView v = h.view();
  const TokenLayout& L = h.env->tokens();
  const sim::Cluster& c = h.env->cluster();
  for (int r = 0; r < L.num_replica_slots; ++r) {
    const int t = L.replica_token(r);
    CHECK(v.links[2 * t] == L.service_token(c.replica_service(r)));
    const int node = static_cast<int>(c.telemetry().replicas(r, sim::kRepNode));
    CHECK(v.links[2 * t + 1] == (node >= 0 ? L.node_token(node) : -1));
  }
  for (int s = 0; s < L.num_services; ++s) CHECK(v.links[2 * L.service_token(s)] == -1);
}

TEST_CASE("history: each step shifts every window by one scrape, for any window length") {
  for (int H : {1, 3, 4, 8}) {
    CAPTURE(H);
    EnvConfig c;
    c.history = H;
    Harness h("incident", make_config(c));
    h.reset(5);
    CHECK(h.env->spec().feature_width == (feature::Layout(H).service.width() + 7) / 8 * 8);
    const EnvSpec& s = h.env->spec();
    const f::Layout cols(s.history);
    const TokenLayout& L = h.env->tokens();
    const int F = s.feature_width;
    std::vector<float> before(h.view().features, h.view().features + s.max_tokens * F);
    h.step_random(0.3);
    const float* after = h.view().features;
    auto check_kind = [&](int token, const f::KindColumns& k) {
      for (int m = 0; m < k.num_history; ++m)
        for (int age = 1; age < k.history; ++age)
          CHECK(after[token * F + k.hist(m, age)] == before[token * F + k.hist(m, age - 1)]);
    };
    check_kind(0, cols.global);
    for (int n = 0; n < L.num_nodes; ++n) check_kind(L.node_token(n), cols.node);
    for (int i = 0; i < L.num_services; ++i) check_kind(L.service_token(i), cols.service);
    for (int r = 0; r < L.num_replica_slots; ++r) check_kind(L.replica_token(r), cols.replica);
  }
}

TEST_CASE("history: a memory leak makes the replica's memory window rise") {
  Harness h("incident", one_fault(sim::FaultType::kMemoryLeak));
  h.reset(21);
  const EpisodeStats& ep = h.env->info().episode;
  REQUIRE(ep.num_faults == 1);
  const int service = h.env->tokens().entity_of(ep.faults[0].root_token).index;
  const sim::Cluster& c = h.env->cluster();
  const f::Layout cols(h.env->spec().history);
  const auto& rc = cols.replica;
  // Step until a replica of the leaky version has run for a whole window.
  bool rising = false, flat_elsewhere = true;
  for (int i = 0; i < 60 && !rising; ++i) {
    h.noop();
    for (int k = 0; k < c.scenario().services[service].max_replicas; ++k) {
      const float* row = h.token_row(h.env->tokens().replica_token(c.replica_offset(service) + k));
      if (row[rc.cur(f::kRepPresent)] < 0.5f || row[rc.newest(f::kRepReady)] < 0.5f) continue;
      bool up = true;
      for (int age = 0; age + 1 < rc.history; ++age) up = up && row[rc.hist(f::kRepMem, age)] > row[rc.hist(f::kRepMem, age + 1)];
      rising = rising || up;
    }
  }
  CHECK(rising);
  // Without measurement noise a healthy, steady replica's memory window is flat.
  for (int r = 0; r < c.num_replica_slots(); ++r) {
    if (c.replica_service(r) == service) continue;
    const float* row = h.token_row(h.env->tokens().replica_token(r));
    if (row[rc.cur(f::kRepPresent)] < 0.5f) continue;
    for (int age = 0; age + 1 < rc.history; ++age)
      flat_elsewhere = flat_elsewhere && row[rc.hist(f::kRepMem, age)] == row[rc.hist(f::kRepMem, age + 1)];
  }
  CHECK(flat_elsewhere);
}

TEST_CASE("alerts and readiness of a failed node show on its token") {
  Harness h("incident", one_fault(sim::FaultType::kNodeFailure));
  h.reset(8);
  const EpisodeStats& ep = h.env->info().episode;
  const int token = ep.faults[0].root_token;
  REQUIRE(h.env->tokens().type_of(token) == TokenType::kNode);
  const f::Layout cols(h.env->spec().history);
  CHECK(h.token_row(token)[cols.node.cur(f::kNodeAlertNotReady)] == 0.0f);
  for (int i = 0; i < 8; ++i) h.noop();  // NodeNotReady fires after 1 minute
  const float* row = h.token_row(token);
  CHECK(row[cols.node.newest(f::kNodeReady)] == 0.0f);
  CHECK(row[cols.node.cur(f::kNodeAlertNotReady)] == 1.0f);
  // The global token counts firing alerts and ready nodes.
  const float* g = h.token_row(0);
  CHECK(g[cols.global.cur(f::kAlertsFiring)] > 0.0f);
  CHECK(g[cols.global.cur(f::kNodesReady)] == doctest::Approx(7.0 / 8.0));
}

TEST_CASE("global token: task one-hot, progress, time of day on the unit circle") {
  for (const std::string& task : registered_tasks()) {
    CAPTURE(task);
    Harness h(task, make_config());
    h.reset(2);
    const f::Layout cols(h.env->spec().history);
    const auto& gc = cols.global;
    const float* g = h.token_row(0);
    CHECK(g[gc.cur(f::kTaskIncident)] == (task == "incident" ? 1.0f : 0.0f));
    CHECK(g[gc.cur(f::kTaskAutoscale)] == (task == "autoscale" ? 1.0f : 0.0f));
    CHECK(g[gc.cur(f::kEpisodeProgress)] == 0.0f);
    const double s = g[gc.cur(f::kTimeOfDaySin)], co = g[gc.cur(f::kTimeOfDayCos)];
    CHECK(s * s + co * co == doctest::Approx(1.0).epsilon(1e-5));
    h.noop();
    CHECK(g[gc.cur(f::kEpisodeProgress)] == doctest::Approx(1.0 / h.env->spec().max_episode_steps));
  }
}

TEST_CASE("start times of day differ between seeds and the traffic follows them") {
  std::set<float> cosines;
  for (std::uint64_t seed = 1; seed <= 12; ++seed) {
    Harness h("autoscale", make_config());
    h.reset(seed);
    cosines.insert(h.token_row(0)[f::Layout(4).global.cur(f::kTimeOfDayCos)]);
  }
  CHECK(cosines.size() >= 6);
}

TEST_CASE("features stay O(1) on a healthy cluster and under random play") {
  for (const std::string& task : registered_tasks()) {
    CAPTURE(task);
    Harness h(task, make_config());
    h.reset(9);
    float largest = 0;
    for (int i = 0; i < 100 && !h.env->episode_over(); ++i) {
      h.step_random(0.7);
      const ObservationView v = h.view();
      for (int j = 0; j < h.env->spec().max_tokens * h.env->spec().feature_width; ++j)
        largest = std::max(largest, std::abs(v.features[j]));
    }
    CHECK(largest <= 20.0f);
  }
}

TEST_CASE("service tokens show the replica count and the utilisation one replica fewer would run at") {
  Harness h("autoscale", make_config());
  h.reset(5);
  const f::Layout L(h.env->spec().history);
  const TokenLayout& tokens = h.env->tokens();
  int seen_two = 0;
  for (int i = 0; i < 120 && !h.env->episode_over(); ++i) {
    h.step_random(0.6);  // random scaling visits 1, 2 and more replicas
    const sim::Telemetry& tm = h.env->cluster().telemetry();
    for (int s = 0; s < tokens.num_services; ++s) {
      const float* row = h.token_row(tokens.service_token(s));
      const double desired = tm.services(s, sim::kSvcDesiredReplicas), ready = tm.services(s, sim::kSvcReadyReplicas);
      CHECK(row[L.service.cur(f::kSvcReplicas)] == doctest::Approx(desired / 10));
      const float one_fewer = row[L.service.cur(f::kSvcCpuOneFewer)];
      if (desired <= 1) {
        CHECK(one_fewer == 0.0f);
      } else if (desired == 2 && ready == 2) {
        ++seen_two;  // a scale-in halves the capacity: the utilisation doubles
        CHECK(one_fewer == doctest::Approx(std::min(4.0, 2 * static_cast<double>(row[L.service.newest(f::kSvcCpu)]))));
      }
    }
  }
  CHECK(seen_two > 0);
}

TEST_CASE("autoscale replays a CSV trace: the external-rate feature follows it") {
  const char* dir = std::getenv("OPSRL_SHARED_DATA");
  const std::string path = std::string(dir ? dir : OPSRL_SOURCE_DIR "/../shared/data") + "/nab/elb_request_count_8c0756.csv";
  // No traffic noise, so the feature is the trace itself (scaled to a peak of 1.5 x base_rps).
  auto sc = std::make_shared<sim::Scenario>(*sim::load_scenario("default"));
  sc->traffic.noise_sigma = 0;
  EnvConfig c;
  c.scenario = sc;
  c.telemetry_noise = false;
  c.autoscale.trace_csv = path;
  c.autoscale.trace_step = 15 * sim::kSecond;  // one row per step
  Harness h("autoscale", make_config(c));
  h.reset(1);
  const sim::TrafficTrace trace = sim::load_traffic_trace(path);
  const f::Layout cols(h.env->spec().history);
  double lo = 1e9, hi = 0;
  for (int i = 0; i < 40; ++i) {
    h.noop();
    // The scrape at t reports the rate set at the previous scrape (t - 15 s): row t/15s - 1.
    const auto row = static_cast<std::size_t>(h.env->cluster().now() / (15 * sim::kSecond)) - 1;
    const double expected = 1.5 * trace.values[row] / trace.peak();
    const double got = h.token_row(0)[cols.global.newest(f::kExternalRate)];
    CHECK(got == doctest::Approx(expected).epsilon(1e-4));
    lo = std::min(lo, got);
    hi = std::max(hi, got);
  }
  CHECK(hi > lo * 1.2);  // the trace moves
}
