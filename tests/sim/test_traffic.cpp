#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include <doctest/doctest.h>

#include <opsrl/sim/traffic.hpp>

using namespace opsrl::sim;

namespace {
std::string shared_data(const std::string& rel) {
  const char* dir = std::getenv("OPSRL_SHARED_DATA");
  return std::string(dir ? dir : OPSRL_SOURCE_DIR "/../shared/data") + "/" + rel;
}
std::string write_temp(const std::string& name, const std::string& text) {
  const auto path = std::filesystem::temp_directory_path() / name;
  std::ofstream(path) << text;
  return path.string();
}
}  // namespace

TEST_CASE("diurnal traffic has its trough at the phase and peak half a period later") {
  TrafficSpec spec;
  spec.base_rps = 100;
  spec.diurnal_amplitude = 0.4;
  spec.noise_sigma = 0;
  TrafficModel m(spec, 1);
  CHECK(m.baseline_at(0) == doctest::Approx(60));
  CHECK(m.baseline_at(12 * kHour) == doctest::Approx(140));
  CHECK(m.rate_at(6 * kHour) == doctest::Approx(100));
}

TEST_CASE("traffic noise is log-normal around the curve and reproducible") {
  TrafficSpec spec;
  spec.diurnal_amplitude = 0;
  spec.noise_sigma = 0.1;
  TrafficModel a(spec, 7), b(spec, 7);
  double sum_log = 0, sum_sq = 0;
  const int n = 20000;
  for (int i = 1; i <= n; ++i) {
    const double x = a.rate_at(i * 15 * kSecond);
    REQUIRE(x == b.rate_at(i * 15 * kSecond));
    sum_log += std::log(x / spec.base_rps);
    sum_sq += std::pow(std::log(x / spec.base_rps), 2);
  }
  CHECK(std::abs(sum_log / n) < 0.02);
  CHECK(std::sqrt(sum_sq / n) == doctest::Approx(0.1).epsilon(0.25));
}

TEST_CASE("random surges raise the rate") {
  TrafficSpec spec;
  spec.diurnal_amplitude = 0;
  spec.noise_sigma = 0;
  spec.surges_per_hour = 2;
  spec.surge_multiplier = 3;
  TrafficModel m(spec, 3);
  double peak = 0;
  for (int i = 0; i < 6 * 240; ++i) peak = std::max(peak, m.rate_at(i * 15 * kSecond));
  CHECK(peak > 250);
  CHECK(peak <= 300 + 1e-9);
}

TEST_CASE("real traces load: NAB and WorldCup 98 timestamps, header rows") {
  const auto nab = load_traffic_trace(shared_data("nab/elb_request_count_8c0756.csv"));
  CHECK(nab.values.size() == 4032);
  CHECK(nab.times[1] - nab.times[0] == 5 * kMinute);
  const auto wc = load_traffic_trace(shared_data("worldcup98/requests_per_minute_1998-04-30_to_05-31.csv"));
  CHECK(wc.values.size() > 40000);
  CHECK(wc.times[1] - wc.times[0] == kMinute);
  // Replayed through the model: scaled to the requested peak, linear between rows.
  TrafficSpec spec;
  spec.trace_csv = shared_data("nab/elb_request_count_8c0756.csv");
  spec.trace_peak_rps = 500;
  spec.noise_sigma = 0;
  TrafficModel m(spec, 1);
  double peak = 0;
  for (std::size_t i = 0; i < nab.values.size(); ++i) peak = std::max(peak, m.baseline_at(nab.times[i]));
  CHECK(peak == doctest::Approx(500));
  const double mid = m.baseline_at(nab.times[0] + 150 * kSecond);
  CHECK(mid == doctest::Approx(500 / nab.peak() * (nab.values[0] + nab.values[1]) / 2));
}

TEST_CASE("bad traces give errors naming file and line") {
  auto expect_error = [](const std::string& text, const std::string& needle) {
    const std::string path = write_temp("opsrl_bad_trace.csv", text);
    try {
      load_traffic_trace(path);
      FAIL("no error for: " << text);
    } catch (const std::runtime_error& e) {
      const std::string msg = e.what();
      CHECK_MESSAGE(msg.find(path) != std::string::npos, msg);
      CHECK_MESSAGE(msg.find(needle) != std::string::npos, msg);
    }
  };
  expect_error("timestamp,value\n2014-01-01 00:00:00,5\n2014-01-01 00:05:00,abc\n", ":3:");
  expect_error("timestamp,value\n2014-01-01 00:05:00,5\n2014-01-01 00:00:00,6\n", "timestamps must increase");
  expect_error("timestamp,value\n2014-01-01 00:00:00,5\n", "at least 2 rows");
  expect_error("0,1\n60,-4\n", "finite number >= 0");
  CHECK_THROWS_WITH_AS(load_traffic_trace("/nonexistent/trace.csv"), doctest::Contains("cannot open"), std::runtime_error);
}
