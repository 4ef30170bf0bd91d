// The Nezha importer on the real data (../shared/data/nezha, found through OPSRL_SHARED_DATA):
// episodes per fault, the ground-truth mapping, values traced back to the CSV cells, the open-loop
// scoring on the recorded observations, and clear errors on bad input.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <map>

#include <opsrl/datasets/check.hpp>
#include <opsrl/datasets/format.hpp>
#include <opsrl/datasets/nezha.hpp>
#include <opsrl/datasets/reader.hpp>
#include <opsrl/datasets/replay.hpp>
#include <opsrl/envs/actions.hpp>
#include <opsrl/envs/features.hpp>

#include "helpers.hpp"

using namespace opsrl;
using namespace opsrl::datasets;
using namespace opsrl::datasets::test;

namespace {

std::filesystem::path nezha_dir() {
  const char* dir = std::getenv("OPSRL_SHARED_DATA");
  return std::filesystem::path(dir ? dir : OPSRL_SOURCE_DIR "/../shared/data") / "nezha" / "online-boutique-2022-08-22";
}

// One import shared by the test cases (0.5 s).
const std::filesystem::path& imported() {
  static TempFile file("nezha.h5");
  static const bool done = [] {
    NezhaOptions o;
    o.dir = nezha_dir();
    import_nezha(o, file.path(), "test");
    return true;
  }();
  (void)done;
  return file.path();
}

const char* expected_type(const std::string& nezha) {
  if (nezha == "cpu_consumed") return "runaway_process";
  if (nezha == "cpu_contention") return "noisy_neighbour";
  if (nezha == "network_delay") return "network_degradation";
  return "bad_deploy";  // return, exception
}

}  // namespace

TEST_CASE("dataset nezha: one episode per labelled fault, ground truth mapped onto the catalogue") {
  const Reader r(imported());
  CHECK(r.header().source == "nezha");
  CHECK_FALSE(r.simulated());
  REQUIRE(r.num_episodes() == 24);
  CHECK(r.spec().max_tokens == 1 + 8 + 10 + 10);
  CHECK(r.spec().step_interval == sim::kMinute);
  CHECK(r.header().notes.find("adservice-5f6585d649-fnmft: TimeStamp disagrees with Time on 1209 of 1209 rows") != std::string::npos);
  CHECK(r.header().notes.find("PodSuccessRate(%) is 0 on every row") != std::string::npos);
  std::map<std::string, int> labels;
  for (int k = 0; k < r.num_episodes(); ++k) {
    CAPTURE(k);
    const Episode ep = r.read(k);
    REQUIRE(ep.faults.size() == 1);
    const FaultRow& f = ep.faults[0];
    ++labels[f.source_type];
    CHECK(sim::fault_info(static_cast<sim::FaultType>(f.type)).name == expected_type(f.source_type));
    // The root token is of the catalogue's root kind, and it is the injected pod's.
    const auto kind = sim::fault_info(static_cast<sim::FaultType>(f.type)).root_kind;
    CHECK(ep.token_type[static_cast<std::size_t>(f.root_token)] == static_cast<int>(kind));
    const std::string service = f.source_root.substr(0, f.source_root.find('-'));
    const std::vector<std::string> names = token_names(r);
    if (kind == sim::EntityKind::kService) CHECK(names[static_cast<std::size_t>(f.root_token)] == "service:" + service);
    if (kind == sim::EntityKind::kReplica) CHECK(names[static_cast<std::size_t>(f.root_token)] == "replica:" + service + "#0");
    // The injection falls inside the window, 2 to 3 minutes after its first observation.
    CHECK(f.onset_s >= 120);
    CHECK(f.onset_s < 180 + 1);
    CHECK(ep.time_s.back() > f.onset_s);
    CHECK(ep.truncations.back() == 1);
    CHECK(std::all_of(ep.features.begin(), ep.features.end(), [](float x) { return std::isfinite(x); }));
  }
  CHECK(labels == std::map<std::string, int>{{"cpu_consumed", 3}, {"cpu_contention", 8}, {"exception", 3}, {"network_delay", 7}, {"return", 3}});
  const CheckReport report = check_dataset(imported());
  for (const Problem& p : report.problems) FAIL_CHECK(p.path << ": " << p.message);
}

TEST_CASE("dataset nezha: feature values trace back to the CSV cells") {
  const Reader r(imported());
  const Episode ep = r.read(0);  // frontend cpu_contention at 03:53:54; first row 03:51:19
  CHECK(ep.meta.source_window.rfind("2022-08-22T03:51:19Z/", 0) == 0);
  CHECK(ep.faults[0].onset_s == 155.0);
  const envs::feature::Layout L(r.spec().history);
  const int F = r.spec().feature_width;
  const std::vector<std::string> names = token_names(r);
  auto token = [&](const std::string& name) {
    for (std::size_t t = 0; t < names.size(); ++t)
      if (names[t] == name) return static_cast<int>(t);
    FAIL("no token " << name);
    return -1;
  };
  auto at = [&](int row, int tok, int col) { return ep.features[(static_cast<std::size_t>(row) * r.spec().max_tokens + tok) * F + col]; };
  // frontend-579b9bff58-t2dbm_metric.csv, first row: CpuUsageRate 26.709652473466033 %, MemoryUsageRate 12.0147705078125 %,
  // NodeCpuUsageRate 2.815721109529523 %; second row: CpuUsageRate 28.63884820532429 %.
  const int fe = token("replica:frontend#0");
  CHECK(at(0, fe, L.replica.newest(envs::feature::kRepCpu)) == static_cast<float>(0.26709652473466033));
  CHECK(at(0, fe, L.replica.newest(envs::feature::kRepMem)) == static_cast<float>(0.120147705078125));
  CHECK(at(1, fe, L.replica.newest(envs::feature::kRepCpu)) == static_cast<float>(0.2863884820532429));
  // Row 1's history window holds row 0's value one scrape back; before the first row, the first row repeats.
  CHECK(at(1, fe, L.replica.hist(envs::feature::kRepCpu, 1)) == static_cast<float>(0.26709652473466033));
  CHECK(at(0, fe, L.replica.hist(envs::feature::kRepCpu, 3)) == static_cast<float>(0.26709652473466033));
  CHECK(at(0, token("node:33.33.33.167"), L.node.newest(envs::feature::kNodeCpu)) == static_cast<float>(0.02815721109529523));
  CHECK(at(0, 0, L.global.cur(envs::feature::kTaskIncident)) == 1.0f);
  // links: the frontend's replica slot belongs to the frontend service, on node 33.33.33.167.
  const std::size_t link = static_cast<std::size_t>(fe) * 2;
  CHECK(ep.links[link] == token("service:frontend"));
  CHECK(ep.links[link + 1] == token("node:33.33.33.167"));
}

TEST_CASE("dataset nezha: open-loop replay scores claims per fault on the recorded observations") {
  const Reader r(imported());
  std::vector<Episode> eps;
  for (int k = 0; k < r.num_episodes(); ++k) eps.push_back(r.read(k));
  // A scripted policy: claims the ground truth on the first observation at or after the injection,
  // and checks that what it reads is the recorded observation.
  std::vector<int> step;
  int mismatches = 0;
  PolicyHooks truth{"truth", [&](const envs::VecEnv& v) { step.assign(static_cast<std::size_t>(v.size()), 0); },
                    [](const envs::VecEnv&, int) {},
                    [&](const envs::VecEnv& v, std::span<std::int32_t> rows) {
                      std::fill(rows.begin(), rows.end(), 0);
                      const auto A = static_cast<std::size_t>(v.action_width());
                      for (int j = 0; j < v.size(); ++j) {
                        const Episode& ep = eps[static_cast<std::size_t>(j)];
                        const int t = step[static_cast<std::size_t>(j)]++;
                        if (t >= ep.steps()) continue;
                        // Every token but the global one, whose claim feature follows the policy's own claim.
                        const std::size_t F = static_cast<std::size_t>(ep.shape.features);
                        const std::size_t n = static_cast<std::size_t>(ep.shape.tokens) * F;
                        if (!std::equal(ep.features.begin() + static_cast<long>(t * n + F), ep.features.begin() + static_cast<long>(t * n + n),
                                        v.observations().features().begin() + static_cast<long>(j * n + F)))
                          ++mismatches;
                        if (ep.time_s[static_cast<std::size_t>(t)] >= ep.faults[0].onset_s) {
                          rows[j * A + envs::incident::kDiagType] = 1 + ep.faults[0].type;
                          rows[j * A + envs::incident::kDiagTarget] = ep.faults[0].root_token;
                        }
                      }
                    },
                    {}, {}};  // open-loop replay only calls act()
  ReplayOptions o;
  o.num_envs = 32;  // one batch: env j replays episode j
  const OpenLoopResult res = replay_open_loop(r, truth, o);
  CHECK_FALSE(res.resimulated);
  CHECK(mismatches == 0);
  const OpenLoopSummary s = summarize(res);
  CHECK(s.fault_episodes == 24);
  CHECK(s.diagnosed == 24);
  for (const OpenLoopEpisode& e : res.episodes) {
    CHECK(e.diagnosed);
    CHECK(e.time_to_diagnose_s >= 0);
    CHECK(e.time_to_diagnose_s < 60);  // the first minute row after the injection
    CHECK(e.observations_diverged == -1);
  }
  // A claim before the injection is wrong, however right it would be later.
  std::unique_ptr<agents::Policy> random = agents::make_policy("random", agents::PolicyOptions{}.with_seed(1));
  PolicyHooks hooks = policy_hooks(*random);
  const OpenLoopSummary rs = summarize(replay_open_loop(r, hooks, {}));
  CHECK(rs.claimed == 24);
  CHECK(rs.diagnosed == 0);
  // Closed loop needs the simulator.
  CHECK_THROWS_WITH_AS(replay_closed_loop(r, hooks, {}), doctest::Contains("/@source: is \"nezha\""), DatasetError);
}

TEST_CASE("dataset nezha: bad input is named by file and key") {
  TempFile out("nezha-bad.h5");
  const std::filesystem::path dir = std::filesystem::temp_directory_path() / ("opsrl-test-nezha-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  std::filesystem::create_directory_symlink(nezha_dir() / "metric", dir / "metric");
  NezhaOptions o;
  o.dir = dir;
  auto faults = [&](const std::string& json) { std::ofstream(dir / "fault_list.json") << json; };
  faults(R"({"03": [{"inject_time": "2022-08-22 03:53:54", "inject_timestamp": "1661140434", "inject_pod": "frontend-579b9bff58-t2dbm", "inject_type": "meltdown"}]})");
  CHECK_THROWS_WITH_AS(import_nezha(o, out.path(), ""), doctest::Contains("fault_list.json: .03[0].inject_type: unknown type \"meltdown\""),
                       std::invalid_argument);
  faults(R"({"03": [{"inject_time": "2022-08-22 03:53:54", "inject_timestamp": "1661140434", "inject_pod": "frontend-x-y", "inject_type": "return"}]})");
  CHECK_THROWS_WITH_AS(import_nezha(o, out.path(), ""), doctest::Contains(".03[0].inject_pod: no metrics for pod \"frontend-x-y\""),
                       std::invalid_argument);
  faults(R"({"03": [{"inject_time": "2022-08-22 03:53:54", "inject_pod": "frontend-579b9bff58-t2dbm", "inject_type": "return"}]})");
  CHECK_THROWS_WITH_AS(import_nezha(o, out.path(), ""), doctest::Contains(".03[0].inject_timestamp: missing or not a string"),
                       std::invalid_argument);
  faults(R"({"03": [)");
  CHECK_THROWS_WITH_AS(import_nezha(o, out.path(), ""), doctest::Contains("fault_list.json: not valid JSON"), std::invalid_argument);
  CHECK_FALSE(std::filesystem::exists(out.path()));
  o.dir = dir / "nowhere";
  CHECK_THROWS_WITH_AS(import_nezha(o, out.path(), ""), doctest::Contains("no metric/ directory"), std::invalid_argument);
  std::filesystem::remove_all(dir);
}
