// Prometheus both ways: the exposition of the simulator's scrape (every value, by name and
// labels, read back exactly), the import of query_range answers (observations equal to the
// incident env's own, column by column, on a simulated run), and a clear error for every kind
// of bad input (file, JSON path or key, expected form).
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include <doctest/doctest.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <opsrl/datasets/check.hpp>
#include <opsrl/datasets/prometheus_exposition.hpp>
#include <opsrl/datasets/prometheus_import.hpp>
#include <opsrl/datasets/reader.hpp>
#include <opsrl/envs/actions.hpp>
#include <opsrl/envs/env.hpp>
#include <opsrl/envs/features.hpp>
#include <opsrl/sim/cluster.hpp>

#include "helpers.hpp"
#include "prometheus_json.hpp"
#include "prometheus_labels.hpp"

namespace opsrl::datasets {
namespace {

using json = nlohmann::json;

// One sample line of the exposition format: name{k="v",...} value.
struct Sample {
  std::string name;
  std::map<std::string, std::string> labels;
  std::string value;
};

std::vector<Sample> parse_exposition(const std::string& text, std::map<std::string, std::string>* types = nullptr) {
  std::vector<Sample> out;
  std::istringstream in(text);
  std::string line;
  std::set<std::string> helped;
  while (std::getline(in, line)) {
    if (line.rfind("# HELP ", 0) == 0) {
      helped.insert(line.substr(7, line.find(' ', 7) - 7));
      continue;
    }
    if (line.rfind("# TYPE ", 0) == 0) {
      const auto sp = line.find(' ', 7);
      if (types) (*types)[line.substr(7, sp - 7)] = line.substr(sp + 1);
      continue;
    }
    REQUIRE_FALSE(line.empty());
    Sample s;
    const auto brace = line.find('{');
    const auto space = line.rfind(' ');
    s.name = line.substr(0, std::min(brace, space));
    REQUIRE_MESSAGE(helped.contains(s.name), "no # HELP before ", s.name);
    if (brace != std::string::npos) {
      const std::string body = line.substr(brace + 1, line.rfind('}') - brace - 1);
      std::size_t i = 0;
      while (i < body.size()) {
        const auto eq = body.find('=', i);
        const auto close = body.find('"', eq + 2);
        s.labels[body.substr(i, eq - i)] = body.substr(eq + 2, close - eq - 2);
        i = close + 2;  // past '",'
      }
    }
    s.value = line.substr(space + 1);
    out.push_back(std::move(s));
  }
  return out;
}

// What Prometheus' query_range answers after scraping these expositions, one per wall second
// from `t0`: every series with its labels (plus job and instance) and its samples.
json query_range(const std::vector<std::string>& scrapes, double t0, const std::set<std::string>& only = {}) {
  std::map<std::string, json> series;
  for (std::size_t i = 0; i < scrapes.size(); ++i)
    for (const Sample& s : parse_exposition(scrapes[i])) {
      if (!only.empty() && !only.contains(s.name)) continue;
      json labels = {{"__name__", s.name}, {"job", "opsrl"}, {"instance", "127.0.0.1:9464"}};
      for (const auto& [k, v] : s.labels) labels[k] = v;
      json& j = series[labels.dump()];
      if (j.is_null()) j = {{"metric", labels}, {"values", json::array()}};
      j["values"].push_back({t0 + static_cast<double>(i), s.value});
    }
  json result = json::array();
  for (auto& [k, v] : series) result.push_back(v);
  return {{"status", "success"}, {"data", {{"resultType", "matrix"}, {"result", result}}}};
}

void write(const std::filesystem::path& p, const std::string& text) { std::ofstream(p) << text; }

// Runs `fn` and returns the std::invalid_argument's message ("" if none was thrown).
template <class F>
std::string error_of(F&& fn) {
  try {
    fn();
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "";
}

TEST_CASE("prometheus exposition: every value of the simulator's scrape, by name and labels, reads back exactly") {
  auto sc = sim::load_scenario("default");
  sim::Cluster c(sc, 11);
  c.inject({sim::FaultType::kMemoryLeak, 2 * sim::kMinute, c.find_entity("cart"), 1.0});
  c.inject({sim::FaultType::kNodeFailure, 3 * sim::kMinute, c.find_entity("node-b-1"), 1.0});
  c.run_until(12 * sim::kMinute);
  const sim::Telemetry& t = c.telemetry();
  REQUIRE_FALSE(t.alerts.empty());
  std::map<std::string, std::string> types;
  const std::vector<Sample> samples = parse_exposition(prom::format_exposition(c), &types);

  std::map<std::string, const prom::MetricName*> by_name;
  for (const prom::MetricName& m : prom::metric_names()) by_name[m.name] = &m;
  CHECK(by_name.size() ==
        static_cast<std::size_t>(int{sim::kNumNodeMetrics} + int{sim::kNumServiceMetrics} + int{sim::kNumReplicaMetrics}));
  CHECK(by_name.contains("opsrl_service_latency_p99_seconds"));
  CHECK(by_name.contains("opsrl_node_network_delay_seconds"));
  CHECK(types.at("opsrl_service_restarts_total") == "counter");
  CHECK(types.at("opsrl_node_cpu_utilisation") == "gauge");

  int metric_rows = 0, info_rows = 0, alert_rows = 0;
  std::set<std::pair<std::string, std::string>> alerts;
  for (const Sample& s : samples) {
    const double v = std::strtod(s.value.c_str(), nullptr);
    if (const auto m = by_name.find(s.name); m != by_name.end()) {
      ++metric_rows;
      const prom::MetricName& mn = *m->second;
      const std::string& entity = s.labels.at(std::string(sim::entity_kind_name(mn.kind)));
      const sim::EntityRef e = c.find_entity(entity);
      REQUIRE(e.kind == mn.kind);
      const sim::MetricMatrix& rows = mn.kind == sim::EntityKind::kNode      ? t.nodes
                                      : mn.kind == sim::EntityKind::kService ? t.services
                                                                             : t.replicas;
      CHECK_MESSAGE(v == rows(e.index, mn.column) * mn.scale, s.name, " ", entity);  // shortest round-trip form: exact
      if (mn.kind == sim::EntityKind::kReplica)
        CHECK(s.labels.at("service") == c.entity_name({sim::EntityKind::kService, c.replica_service(e.index)}));
    } else if (s.name == prom::kReplicaInfo) {
      ++info_rows;
      const sim::EntityRef r = c.find_entity(s.labels.at("replica"));
      CHECK(c.find_entity(s.labels.at("node")).index == static_cast<int>(t.replicas(r.index, sim::kRepNode)));
    } else if (s.name == prom::kAlertFiring) {
      ++alert_rows;
      const std::string entity = s.labels.contains("replica")   ? s.labels.at("replica")
                                 : s.labels.contains("service") ? s.labels.at("service")
                                                                : s.labels.at("node");
      alerts.insert({s.labels.at("alertname"), entity});
    } else if (s.name == prom::kSloOk) {
      CHECK(v == (t.slo_ok ? 1 : 0));
    } else {
      REQUIRE(s.name == prom::kSimTime);
      CHECK(v == 720.0);
    }
  }
  CHECK(metric_rows == c.num_nodes() * sim::kNumNodeMetrics + c.num_services() * sim::kNumServiceMetrics +
                           c.num_replica_slots() * sim::kNumReplicaMetrics);
  int placed = 0;
  for (int r = 0; r < c.num_replica_slots(); ++r) placed += t.replicas(r, sim::kRepNode) >= 0;
  CHECK(info_rows == placed);
  CHECK(alert_rows == static_cast<int>(t.alerts.size()));
  for (const sim::Alert& a : t.alerts) CHECK(alerts.contains({std::string(sim::alert_name(a.rule)), c.entity_name(a.entity)}));

  CHECK(prom::format_value(std::nan("")) == "NaN");
  CHECK(prom::format_value(INFINITY) == "+Inf");
  CHECK(prom::format_value(-INFINITY) == "-Inf");
  CHECK(prom::format_value(0.1) == "0.1");
  CHECK(prom::escape_label_value("a\"b\\c\nd") == "a\\\"b\\\\c\\nd");
}

// A control episode of the incident env (no fault, noop actions) and the same run's scrapes
// through exposition -> query_range -> import: the observations must be the env's.
TEST_CASE("prometheus import: the observations equal the incident env's, column by column") {
  constexpr std::uint64_t kSeed = 5;
  constexpr int kSteps = 24;
  envs::EnvConfig cfg;
  cfg.scenario = sim::load_scenario("small");
  cfg.day_phases = 1;
  cfg.incident.control_fraction = 1.0;
  cfg.incident.time_limit = 10 * sim::kMinute;
  const auto config = envs::make_config(cfg);
  auto env = envs::make_env("incident", config);
  const envs::EnvSpec spec = env->spec();
  envs::ObservationBatch b = envs::ObservationBatch::for_spec(spec);
  env->reset(kSeed, b.view(0));
  std::vector<float> env_features(b.features().begin(), b.features().end());
  std::vector<std::int32_t> env_links(b.links().begin(), b.links().end());
  std::vector<std::int32_t> noop(static_cast<std::size_t>(spec.action_width), 0);
  noop[envs::incident::kVerb] = static_cast<int>(sim::Verb::kNoop);
  for (int k = 0; k < kSteps; ++k) {
    env->step(noop, b.view(0));
    env_features.insert(env_features.end(), b.features().begin(), b.features().end());
    env_links.insert(env_links.end(), b.links().begin(), b.links().end());
  }

  // The same cluster, scraped into the exposition format at every scrape.
  sim::Cluster c(config->scenario, kSeed);
  std::vector<std::string> scrapes;
  c.set_scrape_hook([&](const sim::Telemetry&) { scrapes.push_back(prom::format_exposition(c)); });
  const int H = spec.history;
  c.run_until((H - 1 + kSteps) * spec.step_interval);
  REQUIRE(scrapes.size() == static_cast<std::size_t>(H + kSteps));

  // Two files (node + global series; services + replicas), as two queries would give.
  test::TempFile q1("prom-q1.json"), q2("prom-q2.json"), labels("prom-labels.toml"), out("prom-parity.h5");
  std::set<std::string> first{std::string(prom::kSimTime), std::string(prom::kSloOk), std::string(prom::kAlertFiring)};
  std::set<std::string> second{std::string(prom::kReplicaInfo)};
  for (const prom::MetricName& m : prom::metric_names()) (m.kind == sim::EntityKind::kNode ? first : second).insert(m.name);
  json j1 = query_range(scrapes, 1.7e9, first), j2 = query_range(scrapes, 1.7e9, second);
  j2["data"]["result"].push_back({{"metric", {{"__name__", "up"}, {"job", "opsrl"}}}, {"values", {{1.7e9, "1"}}}});
  write(q1.path(), j1.dump());
  write(q2.path(), j2.dump());
  const double start = sim::to_seconds((H - 1) * spec.step_interval), end = start + kSteps * sim::to_seconds(spec.step_interval);
  write(labels.path(),
        fmt::format("clock = \"opsrl_sim_time_seconds\"\n[[incidents]]\nstart = {}\nend = \"{}s\"\nfault = \"none\"\n", start,
                    end));
  PrometheusOptions o;
  o.query_range = {q1.path(), q2.path()};
  o.labels = labels.path();
  o.scenario = "small";
  const PrometheusReport rep = import_prometheus(o, out.path(), "test");
  CHECK(rep.episodes == 1);
  CHECK(rep.steps == kSteps);
  CHECK(rep.snapshots == H + kSteps);
  CHECK(rep.fresh_steps == kSteps);
  CHECK(rep.ignored_series == 1);
  CHECK(check_dataset(out.path()).ok());

  const Reader r(out.path());
  CHECK(r.header().source == "prometheus");
  const Episode ep = r.read(0);
  REQUIRE(ep.features.size() == env_features.size());
  CHECK(ep.links == env_links);
  CHECK(ep.faults.empty());
  CHECK(ep.meta.control);
  const envs::feature::Layout cols(H);
  const int T = spec.max_tokens, F = spec.feature_width;
  int compared = 0;
  for (int row = 0; row <= kSteps; ++row)
    for (int tok = 0; tok < T; ++tok)
      for (int col = 0; col < F; ++col) {
        const std::size_t i = (static_cast<std::size_t>(row) * T + tok) * F + col;
        if (tok == 0 && col == cols.global.cur(envs::feature::kEpisodeProgress)) {
          CHECK(ep.features[i] == doctest::Approx(static_cast<double>(row) / r.spec().max_episode_steps));
          continue;
        }
        ++compared;
        if (std::abs(ep.features[i] - env_features[i]) > 1e-6f * std::max(1.0f, std::abs(env_features[i])))
          FAIL_CHECK(
              fmt::format("row {} token {} column {}: imported {} vs env {}", row, tok, col, ep.features[i], env_features[i]));
      }
  CHECK(compared > 10000);
  // Times and the one reward term the data holds.
  CHECK(ep.time_s.back() == doctest::Approx(kSteps * 15.0));
  CHECK(ep.truncations.back() == 1);
}

void expect_in(const std::string& err, const std::string& expected) {
  CHECK_MESSAGE(err.find(expected) != std::string::npos, "error:    ", err, "\nexpected: ", expected);
}

struct ImportFixture {
  test::TempFile q{"prom-fx.json"}, labels{"prom-fx.toml"}, out{"prom-fx.h5"};
  std::vector<std::string> scrapes;
  ImportFixture() {
    sim::Cluster c(sim::load_scenario("small"), 3);
    c.set_scrape_hook([&](const sim::Telemetry&) { scrapes.push_back(prom::format_exposition(c)); });
    c.run_until(5 * sim::kMinute);
    write(q.path(), query_range(scrapes, 1.7e9).dump());
  }
  std::string import(const std::string& labels_text, const std::string& json_text = "") {
    write(labels.path(), labels_text);
    if (!json_text.empty()) write(q.path(), json_text);
    PrometheusOptions o;
    o.query_range = {q.path()};
    o.labels = labels.path();
    o.scenario = "small";
    return error_of([&] { import_prometheus(o, out.path(), "test"); });
  }
};

TEST_CASE("prometheus import: on the samples' own clock, windows in RFC 3339, ground truth on the root token") {
  ImportFixture fx;
  // Wall seconds 1.7e9 + i hold scrape i: 2023-11-14T22:13:20Z + i s.
  const std::string err = fx.import(
      "[[incidents]]\nstart = \"2023-11-14T22:13:20Z\"\nend = 1700000015\nonset = \"2023-11-14T22:13:23+00:00\"\n"
      "root = \"api\"\nfault = \"bad_deploy\"\n");
  REQUIRE(err == "");
  const Reader r(fx.out.path());
  const Episode ep = r.read(0);
  CHECK(ep.steps() == 1);  // 15 s of wall time = one 15 s step
  REQUIRE(ep.faults.size() == 1);
  CHECK(ep.faults[0].type == static_cast<int>(sim::FaultType::kBadDeploy));
  CHECK(ep.faults[0].onset_s == doctest::Approx(3));
  CHECK(ep.faults[0].source_root == "api");
  sim::Cluster names(sim::load_scenario("small"), 0);
  CHECK(ep.faults[0].root_token == 1 + names.num_nodes() + names.find_entity("api").index);
  CHECK(ep.meta.source_window == "2023-11-14T22:13:20Z/2023-11-14T22:13:35Z");
  CHECK(r.header().notes.find("time of day = UTC") != std::string::npos);
}

TEST_CASE("prometheus import: one query split into consecutive time ranges, one file each, reads as one") {
  ImportFixture fx;
  test::TempFile q2("prom-fx-2.json"), whole("prom-fx-whole.h5");
  const std::string labels =
      "clock = \"opsrl_sim_time_seconds\"\n[[incidents]]\nstart = \"1m\"\nend = \"5m\"\nfault = \"none\"\n";
  REQUIRE(fx.import(labels) == "");
  std::filesystem::rename(fx.out.path(), whole.path());
  const std::vector<std::string> early(fx.scrapes.begin(), fx.scrapes.begin() + 10),
      late(fx.scrapes.begin() + 10, fx.scrapes.end());
  write(q2.path(), query_range(late, 1.7e9 + 10).dump());
  write(fx.q.path(), query_range(early, 1.7e9).dump());
  write(fx.labels.path(), labels);
  PrometheusOptions o;
  o.query_range = {fx.q.path(), q2.path()};
  o.labels = fx.labels.path();
  o.scenario = "small";
  const PrometheusReport rep = import_prometheus(o, fx.out.path(), "test");
  CHECK(rep.snapshots == static_cast<int>(fx.scrapes.size()));
  CHECK(first_difference(Reader(whole.path()).read(0), Reader(fx.out.path()).read(0)) == "");
}

TEST_CASE("prometheus import: bad query_range JSON names the file, the JSON path and the expected form") {
  const std::string ok_series =
      R"({"metric": {"__name__": "opsrl_node_ready", "node": "node-1"}, "values": [[1, "1"], [2, "1"]]})";
  auto with = [](const std::string& series) {
    return R"({"status": "success", "data": {"resultType": "matrix", "result": [)" + series + "]}}";
  };
  const std::vector<std::pair<std::string, std::string>> cases{
      {"{\"status\": ", "q.json: $: not JSON"},
      {"[1, 2]", "q.json: $: is an array (expected an object {\"status\": \"success\""},
      {R"({"data": {}})", "q.json: $.status: missing (expected \"success\")"},
      {R"({"status": "error", "errorType": "bad_data", "error": "parse error at char 3"})",
       "q.json: $.status: \"error\": Prometheus answered with an error bad_data: parse error at char 3 (expected \"success\")"},
      {R"({"status": "success"})", "q.json: $.data: missing"},
      {R"({"status": "success", "data": {"resultType": "vector", "result": []}})",
       "q.json: $.data.resultType: \"vector\" is not a range of samples (expected \"matrix\": the answer of /api/v1/query_range"},
      {R"({"status": "success", "data": {"resultType": "matrix", "result": {}}})",
       "q.json: $.data.result: is an object (expected an array"},
      {with(ok_series + R"(, {"values": []})"), "q.json: $.data.result[1].metric: missing"},
      {with(R"({"metric": {"node": "node-1"}, "values": []})"),
       "q.json: $.data.result[0].metric.__name__: missing (expected the metric name"},
      {with(R"({"metric": {"__name__": "x", "node": 3}, "values": []})"),
       "q.json: $.data.result[0].metric.node: is a number (expected a label value, a string)"},
      {with(R"({"metric": {"__name__": "x"}})"), "q.json: $.data.result[0].values: missing (expected the samples"},
      {with(R"({"metric": {"__name__": "x"}, "histograms": []})"),
       "q.json: $.data.result[0].histograms: a native histogram series"},
      {with(R"({"metric": {"__name__": "x"}, "values": [[1, "1"], [2, "abc"]]})"),
       "q.json: $.data.result[0].values[1][1]: \"abc\" is not a number (expected a decimal value as a string"},
      {with(R"({"metric": {"__name__": "x"}, "values": [[1, 0.5]]})"),
       "q.json: $.data.result[0].values[0][1]: 0.5 is a number (expected the sample's value as a string"},
      {with(R"({"metric": {"__name__": "x"}, "values": [["1", "1"]]})"),
       "q.json: $.data.result[0].values[0][0]: \"1\" is a string (expected the sample's Unix time in seconds, a number)"},
      {with(R"({"metric": {"__name__": "x"}, "values": [[2, "1"], [1, "1"]]})"),
       "q.json: $.data.result[0].values[1][0]: 1 is not after the previous sample's 2 (expected increasing sample times)"},
      {with(R"({"metric": {"__name__": "x"}, "values": [[1, "1", 3]]})"),
       "q.json: $.data.result[0].values[0]: [1,\"1\",3] is not a pair"},
  };
  for (const auto& [text, expected] : cases) {
    const std::string err = error_of([&] { prom::parse_query_range(text, "q.json"); });
    CHECK_MESSAGE(err.find(expected) != std::string::npos, "input: ", text, "\nerror:    ", err, "\nexpected: ", expected);
  }
  const prom::QueryRange q = prom::parse_query_range(
      with(R"({"metric": {"__name__": "x"}, "values": [[1, "NaN"], [2, "+Inf"], [3, "2.5"]]})"), "q.json");
  CHECK(q.samples == 3);
  CHECK(q.non_finite == 2);
  CHECK(q.series[0].values[2] == 2.5);
  CHECK(error_of([] { prom::read_query_range("/nonexistent/q.json"); }).find("/nonexistent/q.json: cannot read the file") == 0);
}

TEST_CASE("prometheus import: a bad labels file names the file, the key and the expected form") {
  const std::string w = "[[incidents]]\nstart = 0\nend = 60\nroot = \"api\"\nfault = \"bad_deploy\"\n";
  const std::vector<std::pair<std::string, std::string>> cases{
      {"clok = \"x\"\n" + w, "l.toml: $.clok: unknown key (expected clock, labels, metrics, entities or incidents)"},
      {"clock = \"c\"\n", "l.toml: $.incidents: missing"},
      {"[[incidents]]\nstart = 0\nend = 60\nroot = \"api\"\nfault = \"memroy_leak\"\n",
       "l.toml: $.incidents[0].fault: \"memroy_leak\" is not a fault type (expected one of runaway_process, memory_leak"},
      {"[[incidents]]\nstart = 60\nend = 0\nroot = \"api\"\nfault = \"bad_deploy\"\n",
       "l.toml: $.incidents[0].end: 0 is not after start 60 (expected end > start)"},
      {"[[incidents]]\nstart = 0\nend = 60\nonset = 90\nroot = \"api\"\nfault = \"bad_deploy\"\n",
       "l.toml: $.incidents[0].onset: 90 is outside the window (expected start <= onset < end)"},
      {"[[incidents]]\nstart = \"10m\"\nend = 60\nroot = \"api\"\nfault = \"bad_deploy\"\n",
       "l.toml: $.incidents[0].start: \"10m\" is not an RFC 3339 time (expected a time on the samples' clock: Unix seconds"},
      {"clock = \"c\"\n[[incidents]]\nstart = \"2023-11-14T22:13:20Z\"\nend = 60\nfault = \"none\"\n",
       "l.toml: $.incidents[0].start: \"2023-11-14T22:13:20Z\" is not a duration (expected a time on the clock c"},
      {"[[incidents]]\nstart = 0\nend = 60\nfault = \"bad_deploy\"\n", "l.toml: $.incidents[0].root: missing"},
      {"[metrics]\nservice_p99 = \"x\"\n" + w,
       "l.toml: $.metrics.service_p99: not a simulator metric (expected one of node_cpu_utilisation"},
      {"[labels]\npod = \"pod\"\n" + w, "l.toml: $.labels.pod: unknown key (expected node, service or replica)"},
      {"[[incidents]]\nstart = 0\nend = = 60\n", "l.toml:3:"},
  };
  for (const auto& [text, expected] : cases) {
    const std::string err = error_of([&] { prom::parse_labels(text, true, "l.toml"); });
    CHECK_MESSAGE(err.find(expected) != std::string::npos, "input: ", text, "\nerror:    ", err, "\nexpected: ", expected);
  }
  // JSON labels: the same keys.
  const prom::LabelsFile f = prom::parse_labels(
      R"({"clock": "opsrl_sim_time_seconds", "labels": {"service": "app"}, "incidents": [{"start": "1m", "end": "5m", "onset": 90, "root": "api", "fault": "bad_deploy"}]})",
      false, "l.json");
  CHECK(f.labels.service == "app");
  CHECK(f.incidents[0].start == 60);
  CHECK(f.incidents[0].onset == 90);
  CHECK(error_of([] { prom::parse_labels("{\"incidents\": ", false, "l.json"); }).find("l.json: $: not JSON") == 0);
  CHECK(prom::parse_rfc3339("2023-11-14T22:13:20.5Z").value() == 1700000000.5);
  CHECK_FALSE(prom::parse_rfc3339("2023-11-14T22:13:20").has_value());
}

TEST_CASE("prometheus import: series that do not fit the scenario or the labels are clear errors") {
  ImportFixture fx;
  const std::string window = "[[incidents]]\nstart = 1700000000\nend = 1700000100\nroot = \"api\"\nfault = \"bad_deploy\"\n";
  std::string text = query_range(fx.scrapes, 1.7e9).dump();
  SUBCASE("an entity the scenario does not have") {
    json j = json::parse(text);
    j["data"]["result"][0]["metric"]["node"] = "node-9";
    const std::string err = fx.import(window, j.dump());
    expect_in(err,
              "$.data.result[0].metric.node: \"node-9\" is not a node of scenario small (expected one of node-1, node-2; "
              "or map the label value onto one in the labels file's [entities])");
    expect_in(err, "prom-fx.json");
    // ... unless the labels file maps it (onto node-1, whose series it replaces here).
    CHECK(fx.import("[entities]\n\"node-9\" = \"node-1\"\n" + window, j.dump()) == "");
    j["data"]["result"][1]["metric"]["node"] = "node-9";  // node-2's: now two series for node-1
    expect_in(fx.import("[entities]\n\"node-9\" = \"node-1\"\n" + window, j.dump()),
              "a second series for opsrl_node_cordoned node=node-1 (the first at ");
  }
  SUBCASE("a series without its entity label") {
    json j = json::parse(text);
    j["data"]["result"][0]["metric"].erase("node");
    const std::string err = fx.import(window, j.dump());
    expect_in(err, "$.data.result[0].metric: opsrl_node_");
    expect_in(err, " has no \"node\" label (expected the node's name in label \"node\"");
  }
  SUBCASE("a replica series whose service label names another service") {
    json j = json::parse(text);
    for (json& series : j["data"]["result"])
      if (series["metric"].value("replica", "") == "api-1") series["metric"]["service"] = "db";
    expect_in(fx.import(window, j.dump()),
              ".metric.service: \"db\" is not the service of replica api-1 (expected \"api\" (or no service label))");
  }
  SUBCASE("the clock series is missing") {
    expect_in(fx.import("clock = \"my_clock\"\n[[incidents]]\nstart = 0\nend = 60\nfault = \"none\"\n"),
              "prom-fx.toml: $.clock: no series named my_clock in");
  }
  SUBCASE("a window outside the data") {
    expect_in(fx.import("[[incidents]]\nstart = 1600000000\nend = 1600000100\nfault = \"none\"\n"),
              "$.incidents[0]: the window 2020-09-13T12:26:40Z .. 2020-09-13T12:28:20Z holds no step of data (the samples "
              "cover 2023-11-14T22:13:20Z .. 2023-11-14T22:13:40Z)");
  }
  SUBCASE("a root of the wrong kind") {
    expect_in(fx.import("[[incidents]]\nstart = 1700000000\nend = 1700000020\nroot = \"api\"\nfault = \"node_failure\"\n"),
              "$.incidents[0].root: \"api\" is a service, not a node of scenario small (expected a node (the root kind of "
              "node_failure): one of node-1, node-2)");
  }
  SUBCASE("no mapped series at all") {
    const std::string only_up =
        R"({"status": "success", "data": {"resultType": "matrix", "result": [{"metric": {"__name__": "up"}, "values": [[1, "1"]]}]}})";
    expect_in(fx.import(window, only_up), "no series of the mapped metrics");
  }
}

}  // namespace
}  // namespace opsrl::datasets
