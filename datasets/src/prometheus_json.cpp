// query_range JSON -> series (prometheus_json.hpp). Every check names the file, the JSON path
// of the offending value and the form Prometheus' API documents.
#include "prometheus_json.hpp"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <sstream>
#include <stdexcept>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace opsrl::datasets::prom {

namespace {

using json = nlohmann::json;

std::string type_of(const json& j) {
  switch (j.type()) {
    case json::value_t::null:
      return "null";
    case json::value_t::object:
      return "an object";
    case json::value_t::array:
      return "an array";
    case json::value_t::string:
      return "a string";
    case json::value_t::boolean:
      return "a boolean";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
    case json::value_t::number_float:
      return "a number";
    default:
      return "not a JSON value";
  }
}

// A short rendering of a value for messages: strings quoted, long values cut.
std::string shown(const json& j) {
  std::string s = j.dump();
  if (s.size() > 60) s = s.substr(0, 57) + "...";
  return s;
}

class Parser {
 public:
  explicit Parser(std::string file) : file_(std::move(file)) {}

  [[noreturn]] void fail(const std::string& path, const std::string& problem, const std::string& expected) const {
    throw std::invalid_argument(fmt::format("{}: {}: {} (expected {})", file_, path, problem, expected));
  }

  const json& member(const json& obj, const std::string& path, const char* key, const std::string& expected) const {
    const auto it = obj.find(key);
    if (it == obj.end()) fail(path + "." + key, "missing", expected);
    return *it;
  }

  QueryRange parse(std::string_view text) {
    QueryRange q;
    q.file = file_;
    json root;
    try {
      root = json::parse(text.begin(), text.end());
    } catch (const json::parse_error& e) {
      fail("$", fmt::format("not JSON: {}", e.what()), "the JSON body of Prometheus' /api/v1/query_range answer");
    }
    if (!root.is_object()) fail("$", "is " + type_of(root), "an object {\"status\": \"success\", \"data\": {...}}");
    const json& status = member(root, "$", "status", "\"success\"");
    if (!status.is_string()) fail("$.status", "is " + type_of(status), "\"success\"");
    if (status.get<std::string>() != "success") {
      std::string why;
      if (const auto e = root.find("errorType"); e != root.end() && e->is_string()) why += " " + e->get<std::string>();
      if (const auto e = root.find("error"); e != root.end() && e->is_string()) why += ": " + e->get<std::string>();
      fail("$.status", fmt::format("{}: Prometheus answered with an error{}", shown(status), why), "\"success\"");
    }
    if (const auto w = root.find("warnings"); w != root.end() && w->is_array())
      for (const json& s : *w) q.warnings.push_back(s.is_string() ? s.get<std::string>() : s.dump());
    const json& data = member(root, "$", "data", "an object {\"resultType\": \"matrix\", \"result\": [...]}");
    if (!data.is_object()) fail("$.data", "is " + type_of(data), "an object {\"resultType\": \"matrix\", \"result\": [...]}");
    const json& type = member(data, "$.data", "resultType", "\"matrix\"");
    if (!type.is_string() || type.get<std::string>() != "matrix")
      fail("$.data.resultType", shown(type) + " is not a range of samples",
           "\"matrix\": the answer of /api/v1/query_range, not of /api/v1/query");
    const json& result = member(data, "$.data", "result", "an array of series {\"metric\": {...}, \"values\": [...]}");
    if (!result.is_array())
      fail("$.data.result", "is " + type_of(result), "an array of series {\"metric\": {...}, \"values\": [...]}");
    for (std::size_t i = 0; i < result.size(); ++i) q.series.push_back(series(result[i], fmt::format("$.data.result[{}]", i), q));
    return q;
  }

 private:
  Series series(const json& s, const std::string& path, QueryRange& q) const {
    if (!s.is_object()) fail(path, "is " + type_of(s), "a series {\"metric\": {...}, \"values\": [[t, \"v\"], ...]}");
    Series out;
    out.where = fmt::format("{}: {}", file_, path);
    const json& metric = member(s, path, "metric", "the series' labels, an object of strings");
    if (!metric.is_object()) fail(path + ".metric", "is " + type_of(metric), "the series' labels, an object of strings");
    for (const auto& [k, v] : metric.items()) {
      if (!v.is_string()) fail(fmt::format("{}.metric.{}", path, k), "is " + type_of(v), "a label value, a string");
      out.labels[k] = v.get<std::string>();
    }
    if (!out.labels.contains("__name__"))
      fail(path + ".metric.__name__", "missing",
           "the metric name: query series by name (e.g. {__name__=~\"opsrl_.+\"}); an expression such as rate(...) drops it");
    if (!s.contains("values")) {
      if (s.contains("histograms"))
        fail(path + ".histograms", "a native histogram series",
             "float samples under \"values\" (native histograms are not imported)");
      fail(path + ".values", "missing", "the samples, an array of [unix_time, \"value\"]");
    }
    const json& values = s["values"];
    if (!values.is_array()) fail(path + ".values", "is " + type_of(values), "the samples, an array of [unix_time, \"value\"]");
    out.times.reserve(values.size());
    out.values.reserve(values.size());
    for (std::size_t j = 0; j < values.size(); ++j) {
      const json& p = values[j];
      const std::string at = fmt::format("{}.values[{}]", path, j);
      if (!p.is_array() || p.size() != 2) fail(at, shown(p) + " is not a pair", "a sample [unix_time, \"value\"]");
      if (!p[0].is_number())
        fail(at + "[0]", shown(p[0]) + " is " + type_of(p[0]), "the sample's Unix time in seconds, a number");
      const double t = p[0].get<double>();
      if (!std::isfinite(t)) fail(at + "[0]", shown(p[0]) + " is not finite", "the sample's Unix time in seconds");
      if (!out.times.empty() && t <= out.times.back())
        fail(at + "[0]", fmt::format("{} is not after the previous sample's {}", shown(p[0]), out.times.back()),
             "increasing sample times");
      if (!p[1].is_string())
        fail(at + "[1]", shown(p[1]) + " is " + type_of(p[1]), "the sample's value as a string, e.g. \"0.25\"");
      const std::string v = p[1].get<std::string>();
      char* end = nullptr;
      errno = 0;
      const double x = v.empty() ? 0 : std::strtod(v.c_str(), &end);
      if (v.empty() || end != v.c_str() + v.size() || std::isspace(static_cast<unsigned char>(v.front())))
        fail(at + "[1]", shown(p[1]) + " is not a number",
             "a decimal value as a string, e.g. \"0.25\", or \"NaN\", \"+Inf\", \"-Inf\"");
      out.times.push_back(t);
      if (std::isfinite(x)) {
        out.values.push_back(x);
      } else {
        out.values.push_back(std::numeric_limits<double>::quiet_NaN());
        ++q.non_finite;
      }
      ++q.samples;
    }
    return out;
  }

  std::string file_;
};

}  // namespace

QueryRange parse_query_range(std::string_view text, const std::string& file) { return Parser(file).parse(text); }

QueryRange read_query_range(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw std::invalid_argument(fmt::format("{}: cannot read the file (missing or unreadable)", file.string()));
  std::ostringstream ss;
  ss << in.rdbuf();
  return parse_query_range(ss.str(), file.string());
}

}  // namespace opsrl::datasets::prom
