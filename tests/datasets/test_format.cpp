// The file format: writer and reader round trip, the write-then-rename protocol, the
// completion flag, and the reader's errors on files that are not what they claim.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <fstream>

#include <fmt/format.h>

#include <opsrl/datasets/format.hpp>
#include <opsrl/datasets/reader.hpp>
#include <opsrl/datasets/spec_json.hpp>
#include <opsrl/datasets/writer.hpp>

#include "h5.hpp"
#include "helpers.hpp"

using namespace opsrl;
using namespace opsrl::datasets;
using namespace opsrl::datasets::test;

namespace {

// A hand-made episode of `steps` steps whose values encode their position.
Episode make_episode(const envs::EnvSpec& spec, int steps, std::uint64_t seed) {
  Episode ep(EpisodeShape::of(spec));
  ep.clear(steps);
  const EpisodeShape& s = ep.shape;
  for (int t = 0; t <= steps; ++t) {
    for (int i = 0; i < s.tokens * s.features; ++i) ep.features.push_back(static_cast<float>(t) + 0.001f * static_cast<float>(i));
    for (int i = 0; i < s.tokens; ++i) {
      ep.token_type.push_back(i == 0 ? 0 : 1 + i % 3);
      ep.valid.push_back(1);
      ep.links.push_back(-1);
      ep.links.push_back(i % 2 ? i - 1 : -1);
    }
    ep.task_id.push_back(static_cast<std::int32_t>(spec.task_id));
    for (int m = 0; m < s.mask_width; ++m) ep.action_mask.push_back(static_cast<std::uint8_t>((m + t) % 2));
    ep.time_s.push_back(15.0 * t);
  }
  for (int t = 0; t < steps; ++t) {
    for (int a = 0; a < s.action_width; ++a) ep.actions.push_back(0);
    double sum = 0;
    for (int c = 0; c < s.reward_components; ++c) {
      const double v = -0.25 * c - 0.01 * t;
      ep.reward_components.push_back(v);
      sum += v;
    }
    ep.rewards.push_back(sum);
    ep.terminations.push_back(0);
    ep.truncations.push_back(t + 1 == steps);
    for (int k = 0; k < 3; ++k) ep.action_outcome.push_back(k == 0 && t % 4 == 0);
  }
  ep.faults.push_back({static_cast<int>(sim::FaultType::kMemoryLeak), 5, 0.8, 42.5, 300.0, {}, {}});
  ep.meta.seed = seed;
  ep.meta.task = spec.task;
  ep.meta.policy = "hand";
  double ret = 0;
  for (double r : ep.rewards) ret += r;
  ep.meta.return_ = ret;
  ep.meta.truncated = true;
  ep.meta.first_onset_s = 42.5;
  return ep;
}

DatasetHeader header_for(const envs::EnvConfigPtr& config) {
  return simulator_header(*config, spec_of("incident", config), "hand", 3, "small", "", "test_format");
}

}  // namespace

TEST_CASE("dataset format: writer and reader: every array, attribute and ground-truth row round-trips bit for bit") {
  TempFile file("roundtrip.h5");
  const auto config = short_config();
  const DatasetHeader h = header_for(config);
  std::vector<Episode> written;
  {
    Writer w(file.path(), h);
    for (int k = 0; k < 3; ++k) {
      written.push_back(make_episode(h.spec, 5 + 7 * k, 100 + k));
      w.append(written.back());
    }
    // Nothing under the final name until close().
    CHECK_FALSE(std::filesystem::exists(file.path()));
    CHECK(std::filesystem::exists(w.tmp_path()));
    w.close();
    CHECK_FALSE(std::filesystem::exists(w.tmp_path()));
  }
  const Reader r(file.path());
  CHECK(r.num_episodes() == 3);
  CHECK(r.header().total_steps == 5 + 12 + 19);
  CHECK(r.header().policy == "hand");
  CHECK(r.header().policy_seed == 3);
  CHECK(r.header().scenario == "small");
  CHECK(r.header().scenario_hash == scenario_hash(std::string(sim::builtin_scenario_text("small"))));
  CHECK(r.header().version == kFormatVersion);
  CHECK(r.simulated());
  CHECK(r.spec().max_tokens == h.spec.max_tokens);
  CHECK(r.spec().action_heads.size() == h.spec.action_heads.size());
  CHECK(r.spec().reward_components == h.spec.reward_components);
  for (int k = 0; k < 3; ++k) {
    CAPTURE(k);
    const Episode ep = r.read(k);
    CHECK(first_difference(written[static_cast<std::size_t>(k)], ep) == "");
    CHECK(ep.meta.seed == 100u + static_cast<unsigned>(k));
    CHECK(ep.meta.steps == ep.steps());
    CHECK(ep.meta.return_ == written[static_cast<std::size_t>(k)].meta.return_);
    REQUIRE(ep.faults.size() == 1);
    CHECK(ep.faults[0].onset_s == 42.5);
  }
  // The env config comes back as the same JSON.
  CHECK(config_to_json(*config_from_json(r.header().env_config_json, config->scenario)) == config_to_json(*config));
  const StorageStats st = r.storage();
  CHECK(st.raw_bytes > 0);
  CHECK(st.stored_bytes < st.raw_bytes);
  CHECK(st.file_bytes == std::filesystem::file_size(file.path()));
}

TEST_CASE("dataset format: first_difference names the array and row where two episodes part") {
  const auto config = short_config();
  const envs::EnvSpec spec = spec_of("incident", config);
  const Episode a = make_episode(spec, 6, 1);
  Episode b = a;
  CHECK(first_difference(a, b) == "");
  b.features[static_cast<std::size_t>(3 * spec.max_tokens * spec.feature_width + 7)] += 1e-6f;
  CHECK(first_difference(a, b) == "observations/features row 3");
  b = a;
  b.rewards[4] = std::nextafter(b.rewards[4], 0.0);
  CHECK(first_difference(a, b) == "rewards row 4");
  b = a;
  b.faults[0].mitigated_s = 1;
  CHECK(first_difference(a, b) == "infos/ground_truth row 0");
}

TEST_CASE("dataset format: an unfinished file is refused: a writer that never closes leaves nothing behind") {
  TempFile file("unfinished.h5");
  TempFile copy("unfinished-copy.h5");
  const auto config = short_config();
  const DatasetHeader h = header_for(config);
  {
    Writer w(file.path(), h);
    w.append(make_episode(h.spec, 4, 1));
    // A copy of the file as it is while being written (as a crash would leave it).
    std::filesystem::copy_file(w.tmp_path(), copy.path());
  }  // destroyed without close()
  CHECK_FALSE(std::filesystem::exists(file.path()));
  CHECK_FALSE(std::filesystem::exists(file.str() + ".tmp"));
  try {
    Reader r(copy.path());
    FAIL("an unfinished file was accepted");
  } catch (const DatasetError& e) {
    CHECK(e.path == "/@complete");
    CHECK(std::string(e.what()).find("unfinished file") != std::string::npos);
    CHECK(std::string(e.what()).find(copy.str()) == 0);
  }
}

TEST_CASE("dataset format: the reader names the file, the in-file path and the expected form") {
  TempFile file("bad.h5");
  const auto config = short_config();
  const DatasetHeader h = header_for(config);
  {
    Writer w(file.path(), h);
    w.append(make_episode(h.spec, 4, 1));
    w.append(make_episode(h.spec, 4, 2));
    w.close();
  }
  SUBCASE("not an HDF5 file") {
    TempFile text("not-h5.h5");
    std::ofstream(text.path()) << "hello";
    CHECK_THROWS_WITH_AS(Reader(text.path()), doctest::Contains("not an HDF5 file"), DatasetError);
    CHECK_THROWS_WITH_AS(Reader("/nonexistent/x.h5"), doctest::Contains("/nonexistent/x.h5"), DatasetError);
  }
  SUBCASE("unknown version") {
    {
      const h5::File f = h5::open_file(file.str(), true);
      h5::write_attr(f.get(), key::kVersion, std::int64_t{99});
    }
    CHECK_THROWS_WITH_AS(Reader(file.path()), doctest::Contains("/@version: unknown format version 99"), DatasetError);
  }
  SUBCASE("an array of the wrong dtype") {
    {
      const h5::File f = h5::open_file(file.str(), true);
      REQUIRE(H5Ldelete(f.get(), "/episode_1/rewards", H5P_DEFAULT) >= 0);
      const std::vector<float> r(4, 0.f);
      h5::write_array(f.get(), "/episode_1/rewards", {4}, r.data(), false);
    }
    const Reader r(file.path());
    CHECK_NOTHROW(r.read(0));
    CHECK_THROWS_WITH_AS(r.read(1), doctest::Contains("/episode_1/rewards: is float32 (4) (expected: float64 (T) = (4))"),
                         DatasetError);
  }
  SUBCASE("rows that disagree") {
    {
      const h5::File f = h5::open_file(file.str(), true);
      REQUIRE(H5Ldelete(f.get(), "/episode_0/observations/valid", H5P_DEFAULT) >= 0);
      const std::vector<std::uint8_t> v(4 * static_cast<std::size_t>(h.spec.max_tokens), 1);
      h5::write_array(f.get(), "/episode_0/observations/valid", {4, static_cast<hsize_t>(h.spec.max_tokens)}, v.data(), false);
    }
    const std::string want = fmt::format(
        "/episode_0/observations/valid: is uint8 (4, {0}) (expected: uint8 (T+1, {0}) = (5, {0}))", h.spec.max_tokens);
    CHECK_THROWS_WITH_AS(Reader(file.path()).read(0), doctest::Contains(want.c_str()), DatasetError);
  }
  SUBCASE("a missing episode group") {
    {
      const h5::File f = h5::open_file(file.str(), true);
      REQUIRE(H5Ldelete(f.get(), "/episode_1", H5P_DEFAULT) >= 0);
    }
    CHECK_THROWS_WITH_AS(Reader(file.path()), doctest::Contains("/episode_1: is missing"), DatasetError);
  }
}

TEST_CASE("dataset format: the writer refuses arrays that do not fit the spec") {
  TempFile file("refuse.h5");
  const auto config = short_config();
  const DatasetHeader h = header_for(config);
  Writer w(file.path(), h);
  Episode ep = make_episode(h.spec, 4, 1);
  ep.links.pop_back();
  CHECK_THROWS_WITH_AS(w.append(ep), doctest::Contains("observations/links holds"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(Writer("/nonexistent-dir/x.h5", h), doctest::Contains("/nonexistent-dir/x.h5.tmp"), DatasetError);
}
