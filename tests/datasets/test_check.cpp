// `opsrl dataset check`'s validator on real files damaged on purpose: every problem is reported,
// each with its in-file path, and no damage makes it crash.
#include <doctest/doctest.h>

#include <cmath>
#include <fstream>
#include <iterator>

#include <opsrl/datasets/check.hpp>
#include <opsrl/datasets/format.hpp>
#include <opsrl/datasets/reader.hpp>

#include "h5.hpp"
#include "helpers.hpp"

using namespace opsrl;
using namespace opsrl::datasets;
using namespace opsrl::datasets::test;

namespace {

// The first problem at exactly `path`, or null.
const Problem* at(const CheckReport& r, const std::string& path) {
  for (const Problem& p : r.problems)
    if (p.path == path) return &p;
  return nullptr;
}

bool mentions(const CheckReport& r, const std::string& path, const std::string& text) {
  for (const Problem& p : r.problems)
    if (p.path == path && p.message.find(text) != std::string::npos) return true;
  return false;
}

std::string listing(const CheckReport& r) {
  std::string s;
  for (const Problem& p : r.problems) s += p.path + ": " + p.message + "\n";
  return s;
}

template <typename T>
void replace(hid_t f, const std::string& path, const std::vector<hsize_t>& dims, const std::vector<T>& data) {
  REQUIRE(H5Ldelete(f, path.c_str(), H5P_DEFAULT) >= 0);
  h5::write_array(f, path, dims, data.data(), false);
}

}  // namespace

TEST_CASE("dataset check: a recorded file passes") {
  TempFile file("check-ok.h5");
  record_file(file.str(), "threshold", "incident", 3, 1, short_config());
  const CheckReport r = check_dataset(file.path());
  CHECK_MESSAGE(r.ok(), listing(r));
  CHECK(r.episodes == 3);
}

TEST_CASE("dataset check: every problem of a damaged file, each with its path") {
  TempFile file("check-bad.h5");
  record_file(file.str(), "oracle", "incident", 3, 2, short_config());
  int T0 = 0, T1 = 0, tokens = 0;
  {
    const Reader r(file.path());
    T0 = r.read(0).steps();
    T1 = r.read(1).steps();
    tokens = r.spec().max_tokens;
  }
  {
    const h5::File f = h5::open_file(file.str(), true);
    const hid_t F = f.get();
    h5::write_attr(F, key::kVersion, std::int64_t{7});                       // unknown version
    REQUIRE(H5Adelete(F, key::kComplete) >= 0);                              // never closed
    h5::write_attr(F, key::kTotalEpisodes, std::int64_t{4});                 // wrong total
    REQUIRE(H5Ldelete(F, "/episode_0/actions", H5P_DEFAULT) >= 0);          // missing key
    replace(F, "/episode_1/rewards", {static_cast<hsize_t>(T1)}, std::vector<float>(static_cast<std::size_t>(T1)));  // dtype
    replace(F, "/episode_1/observations/valid", {static_cast<hsize_t>(T1), static_cast<hsize_t>(tokens)},
            std::vector<std::uint8_t>(static_cast<std::size_t>(T1 * tokens), 1));  // T rows instead of T+1
    // A NaN in the features of episode 2, row 3.
    auto features = h5::read_array<float>(F, "/episode_2/observations/features");
    const auto row = features.size() / h5::array_info(F, "/episode_2/observations/features").dims[0];
    features[3 * row + 5] = std::nanf("");
    replace(F, "/episode_2/observations/features", h5::array_info(F, "/episode_2/observations/features").dims, features);
    // An action value outside its head.
    auto actions = h5::read_array<std::int32_t>(F, "/episode_2/actions");
    actions[0] = 99;
    replace(F, "/episode_2/actions", h5::array_info(F, "/episode_2/actions").dims, actions);
  }
  const CheckReport r = check_dataset(file.path());
  INFO(listing(r));
  CHECK(mentions(r, "/@version", "unknown format version 7"));
  CHECK(mentions(r, "/@complete", "unfinished file"));
  CHECK(mentions(r, "/@total_episodes", "is 4 but the file holds 3 episode groups"));
  CHECK(mentions(r, "/episode_0/actions", "missing (expected int32 (T, 4) = ("));
  CHECK(mentions(r, "/episode_1/rewards", "is float32"));
  CHECK(mentions(r, "/episode_1/observations/valid", "expected uint8 (T+1"));
  CHECK(mentions(r, "/episode_2/observations/features", "1 NaN or infinite values (first at row 3)"));
  CHECK(mentions(r, "/episode_2/actions", "head verb: 1 values outside 0..10"));
  CHECK(at(r, "/episode_0/observations/features") == nullptr);  // the untouched arrays are fine
  (void)T0;
}

TEST_CASE("dataset check: rows that disagree, a bad spec, sums and endings") {
  TempFile file("check-rows.h5");
  record_file(file.str(), "oracle", "incident", 2, 3, short_config());
  int T = 0;
  {
    const Reader r(file.path());
    T = r.read(0).steps();
  }
  {
    const h5::File f = h5::open_file(file.str(), true);
    const hid_t F = f.get();
    // Terminations one row short: the rows disagree with the rewards'.
    replace(F, "/episode_0/terminations", {static_cast<hsize_t>(T - 1)}, std::vector<std::uint8_t>(static_cast<std::size_t>(T - 1)));
    // Truncations that never end the episode.
    replace(F, "/episode_1/truncations", {static_cast<hsize_t>(h5::array_info(F, "/episode_1/rewards").dims[0])},
            std::vector<std::uint8_t>(h5::array_info(F, "/episode_1/rewards").dims[0], 0));
    REQUIRE(H5Ldelete(F, "/episode_1/terminations", H5P_DEFAULT) >= 0);
    h5::write_array(F, "/episode_1/terminations", {h5::array_info(F, "/episode_1/rewards").dims[0]},
                    std::vector<std::uint8_t>(h5::array_info(F, "/episode_1/rewards").dims[0], 0).data(), false);
    // A reward that is not the sum of its components.
    auto rewards = h5::read_array<double>(F, "/episode_1/rewards");
    rewards[2] += 1;
    replace(F, "/episode_1/rewards", {rewards.size()}, rewards);
  }
  const CheckReport r = check_dataset(file.path());
  INFO(listing(r));
  CHECK(mentions(r, "/episode_0/terminations", "is uint8 (" + std::to_string(T - 1) + ")"));
  CHECK(mentions(r, "/episode_1/terminations", "neither terminations nor truncations"));
  CHECK(mentions(r, "/episode_1/rewards", "row 2 is"));
  CHECK(mentions(r, "/episode_1/@return", "but the rewards sum to"));

  {
    const h5::File f = h5::open_file(file.str(), true);
    h5::write_attr(f.get(), key::kEnvSpec, std::string("{\"task\": 3}"));
  }
  const CheckReport bad_spec = check_dataset(file.path());
  CHECK(mentions(bad_spec, "/@env_spec", "env_spec.task has the wrong type"));
  CHECK(mentions(bad_spec, "/episode_0", "arrays not checked: no valid /@env_spec"));
}

TEST_CASE("dataset check: a recording with action noise: its intended actions and its noise level") {
  TempFile file("check-noise.h5");
  record_file(file.str(), "oracle", "incident", 2, 3, short_config(), 0, 1, "small", /*action_noise=*/0.3);
  REQUIRE(check_dataset(file.path()).ok());
  {
    const h5::File f = h5::open_file(file.str(), true);
    const hid_t F = f.get();
    h5::write_attr(F, key::kActionNoise, 1.5);
    // A verb out of range in episode 0, a row short in episode 1.
    const std::string path0 = std::string("/episode_0/") + key::kIntendedActions;
    const h5::ArrayInfo info = h5::array_info(F, path0);
    auto rows = h5::read_array<std::int32_t>(F, path0);
    rows[0] = 99;
    replace(F, path0, info.dims, rows);
    const std::string path1 = std::string("/episode_1/") + key::kIntendedActions;
    const h5::ArrayInfo info1 = h5::array_info(F, path1);
    replace(F, path1, {info1.dims[0] - 1, info1.dims[1]},
            std::vector<std::int32_t>(static_cast<std::size_t>((info1.dims[0] - 1) * info1.dims[1]), 0));
  }
  const CheckReport r = check_dataset(file.path());
  INFO(listing(r));
  CHECK(mentions(r, "/@action_noise", "expected a probability in [0, 1)"));
  CHECK(mentions(r, std::string("/episode_0/") + key::kIntendedActions, "head verb: 1 values outside 0..10"));
  CHECK(at(r, std::string("/episode_1/") + key::kIntendedActions) != nullptr);
  // The reader refuses the short one with its path and expected form.
  const Reader reader(file.path());
  try {
    reader.read(1);
    FAIL("read a short infos/intended_actions");
  } catch (const DatasetError& e) {
    CHECK(std::string(e.what()).find("infos/intended_actions") != std::string::npos);
  }
}

TEST_CASE("dataset check: truncated and foreign files are reported, never a crash") {
  TempFile file("check-full.h5");
  record_file(file.str(), "oracle", "incident", 3, 4, short_config());
  std::ifstream in(file.path(), std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  for (const double fraction : {0.9, 0.5, 0.1, 0.001}) {
    CAPTURE(fraction);
    TempFile cut("check-cut.h5");
    std::ofstream(cut.path(), std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size() * fraction));
    const CheckReport r = check_dataset(cut.path());
    CHECK_FALSE(r.ok());
    INFO(listing(r));
    CHECK(!r.problems.empty());
    CHECK_THROWS_AS(Reader(cut.path()), DatasetError);
  }
  TempFile text("check-text.h5");
  std::ofstream(text.path()) << "time,value\n1,2\n";
  const CheckReport r = check_dataset(text.path());
  REQUIRE(r.problems.size() == 1);
  CHECK(r.problems[0].message.find("not an HDF5 file") != std::string::npos);
  const CheckReport missing = check_dataset("/nonexistent/file.h5");
  REQUIRE(missing.problems.size() == 1);
  CHECK(missing.problems[0].message.find("missing or unreadable") != std::string::npos);
}
