// The labels file (prometheus_labels.hpp): TOML is turned into the same JSON tree, so one
// reader checks both forms and names keys by the same paths.
#include "prometheus_labels.hpp"

#include <cmath>
#include <ctime>
#include <fstream>
#include <set>
#include <sstream>
#include <stdexcept>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <toml++/toml.h>

#include <opsrl/sim/time.hpp>

namespace opsrl::datasets::prom {

namespace {

using json = nlohmann::json;

json to_json(const toml::node& n) {
  if (const toml::table* t = n.as_table()) {
    json o = json::object();
    for (const auto& [k, v] : *t) o[std::string(k.str())] = to_json(v);
    return o;
  }
  if (const toml::array* a = n.as_array()) {
    json o = json::array();
    for (const toml::node& v : *a) o.push_back(to_json(v));
    return o;
  }
  if (const auto* s = n.as_string()) return s->get();
  if (const auto* i = n.as_integer()) return i->get();
  if (const auto* d = n.as_floating_point()) return d->get();
  if (const auto* b = n.as_boolean()) return b->get();
  std::ostringstream ss;  // dates and times: as TOML writes them, read back as RFC 3339
  if (const auto* dt = n.as_date_time())
    ss << dt->get();
  else if (const auto* d = n.as_date())
    ss << d->get();
  else if (const auto* t = n.as_time())
    ss << t->get();
  return ss.str();
}

class Reader {
 public:
  explicit Reader(std::string file) : file_(std::move(file)) {}

  [[noreturn]] void fail(const std::string& path, const std::string& problem, const std::string& expected) const {
    throw std::invalid_argument(fmt::format("{}: {}: {} (expected {})", file_, path, problem, expected));
  }

  LabelsFile read(const json& root) {
    LabelsFile f;
    f.file = file_;
    if (!root.is_object())
      fail("$", "is not a table", "a table with [[incidents]] (and optionally clock, [labels], [metrics], [entities])");
    for (const auto& [k, v] : root.items())
      if (!std::set<std::string>{"clock", "labels", "metrics", "entities", "incidents"}.contains(k))
        fail("$." + k, "unknown key", "clock, labels, metrics, entities or incidents");
    if (root.contains("clock"))
      f.clock = string(root["clock"], "$.clock", "the name of a series whose value is the time, e.g. \"opsrl_sim_time_seconds\"");
    if (root.contains("labels")) {
      const json& l = table(root["labels"], "$.labels");
      for (const auto& [k, v] : l.items()) {
        const std::string path = "$.labels." + k;
        const std::string value = string(v, path, "a Prometheus label name");
        if (k == "node")
          f.labels.node = value;
        else if (k == "service")
          f.labels.service = value;
        else if (k == "replica")
          f.labels.replica = value;
        else
          fail(path, "unknown key", "node, service or replica");
      }
    }
    if (root.contains("metrics")) {
      for (const auto& [k, v] : table(root["metrics"], "$.metrics").items()) {
        const MetricName* m = find_metric(k);
        if (!m || m->sim_name != k) {
          std::string known;
          for (const MetricName& n : metric_names()) known += (known.empty() ? "" : ", ") + n.sim_name;
          fail("$.metrics." + k, "not a simulator metric", "one of " + known);
        }
        f.metrics[k] = string(v, "$.metrics." + k, "the Prometheus metric name to read it from");
      }
    }
    if (root.contains("entities"))
      for (const auto& [k, v] : table(root["entities"], "$.entities").items())
        f.entities[k] = string(v, "$.entities." + k, "the scenario entity this label value stands for, e.g. \"cart-0\"");
    if (!root.contains("incidents")) fail("$.incidents", "missing", "[[incidents]] with start, end, root and fault");
    const json& list = root["incidents"];
    if (!list.is_array() || list.empty())
      fail("$.incidents", "is not a non-empty array", "[[incidents]] with start, end, root and fault");
    for (std::size_t i = 0; i < list.size(); ++i) f.incidents.push_back(incident(list[i], fmt::format("$.incidents[{}]", i), f));
    return f;
  }

 private:
  const json& table(const json& j, const std::string& path) const {
    if (!j.is_object()) fail(path, "is not a table", "a table of strings");
    return j;
  }

  std::string string(const json& j, const std::string& path, const std::string& expected) const {
    if (!j.is_string() || j.get<std::string>().empty()) fail(path, j.dump() + " is not a non-empty string", expected);
    return j.get<std::string>();
  }

  double time(const json& j, const std::string& path, const LabelsFile& f) const {
    const std::string expected =
        f.unix_clock() ? "a time on the samples' clock: Unix seconds (a number) or RFC 3339 (\"2026-11-29T09:00:00Z\")"
                       : fmt::format("a time on the clock {}: seconds (a number) or a duration (\"90s\", \"15m\")", f.clock);
    if (j.is_number()) {
      const double v = j.get<double>();
      if (!std::isfinite(v)) fail(path, j.dump() + " is not finite", expected);
      return v;
    }
    if (!j.is_string()) fail(path, j.dump() + " is not a time", expected);
    const std::string s = j.get<std::string>();
    if (f.unix_clock()) {
      if (const auto t = parse_rfc3339(s)) return *t;
      fail(path, j.dump() + " is not an RFC 3339 time", expected);
    }
    try {
      return sim::to_seconds(sim::parse_duration(s));
    } catch (const std::invalid_argument&) {
      fail(path, j.dump() + " is not a duration", expected);
    }
  }

  Incident incident(const json& j, const std::string& path, const LabelsFile& f) const {
    if (!j.is_object()) fail(path, "is not a table", "an incident with start, end, root and fault");
    for (const auto& [k, v] : j.items())
      if (!std::set<std::string>{"start", "end", "onset", "mitigated", "root", "fault"}.contains(k))
        fail(path + "." + k, "unknown key", "start, end, onset, mitigated, root or fault");
    Incident in;
    in.where = fmt::format("{}: {}", file_, path);
    auto need = [&](const char* key, const char* expected) -> const json& {
      if (!j.contains(key)) fail(path + "." + key, "missing", expected);
      return j[key];
    };
    in.start = time(need("start", "the window's start"), path + ".start", f);
    in.end = time(need("end", "the window's end"), path + ".end", f);
    if (in.end <= in.start)
      fail(path + ".end", fmt::format("{} is not after start {}", j["end"].dump(), j["start"].dump()), "end > start");
    in.onset = j.contains("onset") ? time(j["onset"], path + ".onset", f) : in.start;
    if (in.onset < in.start || in.onset >= in.end)
      fail(path + ".onset", fmt::format("{} is outside the window", j.contains("onset") ? j["onset"].dump() : "(start)"),
           "start <= onset < end");
    if (j.contains("mitigated")) {
      in.mitigated = time(j["mitigated"], path + ".mitigated", f);
      if (in.mitigated < in.onset)
        fail(path + ".mitigated", j["mitigated"].dump() + " is before the onset", "mitigated >= onset");
    }
    std::string kinds;
    for (const sim::FaultInfo& fi : sim::fault_catalogue()) kinds += fmt::format("{}, ", fi.name);
    in.fault = string(need("fault", "a fault type"), path + ".fault", "a fault type (" + kinds + "or none)");
    if (in.fault != "none") {
      in.type = sim::fault_type_from_name(in.fault);
      if (!in.type) fail(path + ".fault", fmt::format("\"{}\" is not a fault type", in.fault), "one of " + kinds + "or none");
      in.root =
          string(need("root", "the root entity"), path + ".root", "the root entity's name (a node, service or replica slot)");
    } else if (j.contains("root")) {
      fail(path + ".root", "given for a control window (fault = \"none\")", "no root without a fault");
    }
    return in;
  }

  std::string file_;
};

}  // namespace

LabelsFile parse_labels(std::string_view text, bool toml, const std::string& file) {
  json root;
  if (toml) {
    try {
      root = to_json(toml::parse(text, file));
    } catch (const toml::parse_error& e) {
      throw std::invalid_argument(fmt::format("{}:{}:{}: TOML syntax: {} (expected the labels file's TOML, see docs/datasets.md)",
                                              file, e.source().begin.line, e.source().begin.column, e.description()));
    }
  } else {
    try {
      root = json::parse(text.begin(), text.end());
    } catch (const json::parse_error& e) {
      throw std::invalid_argument(
          fmt::format("{}: $: not JSON: {} (expected the labels file as JSON, or TOML in a .toml file)", file, e.what()));
    }
  }
  return Reader(file).read(root);
}

LabelsFile read_labels(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw std::invalid_argument(fmt::format("{}: cannot read the labels file (missing or unreadable)", file.string()));
  std::ostringstream ss;
  ss << in.rdbuf();
  return parse_labels(ss.str(), file.extension() == ".toml", file.string());
}

std::optional<double> parse_rfc3339(std::string_view text) {
  const std::string s(text);
  int Y = 0, M = 0, D = 0, h = 0, m = 0, sec = 0, used = 0;
  char sep = 0;
  if (std::sscanf(s.c_str(), "%4d-%2d-%2d%c%2d:%2d:%2d%n", &Y, &M, &D, &sep, &h, &m, &sec, &used) != 7 || used != 19 ||
      (sep != 'T' && sep != 't' && sep != ' ') || M < 1 || M > 12 || D < 1 || D > 31 || h > 23 || m > 59 || sec > 60)
    return std::nullopt;
  std::size_t i = 19;
  double frac = 0;
  if (i < s.size() && s[i] == '.') {
    std::size_t j = i + 1;
    while (j < s.size() && std::isdigit(static_cast<unsigned char>(s[j]))) ++j;
    if (j == i + 1) return std::nullopt;
    frac = std::stod("0" + s.substr(i, j - i));
    i = j;
  }
  double offset = 0;
  if (i < s.size() && (s[i] == 'Z' || s[i] == 'z')) {
    ++i;
  } else if (i + 6 == s.size() && (s[i] == '+' || s[i] == '-') && s[i + 3] == ':') {
    const int oh = std::atoi(s.substr(i + 1, 2).c_str()), om = std::atoi(s.substr(i + 4, 2).c_str());
    offset = (s[i] == '+' ? 1 : -1) * (oh * 3600.0 + om * 60.0);
    i += 6;
  } else {
    return std::nullopt;  // a time without an offset is not an instant
  }
  if (i != s.size()) return std::nullopt;
  std::tm tm{};
  tm.tm_year = Y - 1900;
  tm.tm_mon = M - 1;
  tm.tm_mday = D;
  tm.tm_hour = h;
  tm.tm_min = m;
  tm.tm_sec = sec;
  return static_cast<double>(timegm(&tm)) + frac - offset;
}

std::string format_rfc3339(double unix_s) {
  const double whole = std::floor(unix_s);
  const std::time_t t = static_cast<std::time_t>(whole);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  const double frac = unix_s - whole;
  if (frac > 5e-4) return fmt::format("{}.{:03d}Z", buf, static_cast<int>(std::lround(frac * 1000) % 1000));
  return std::string(buf) + "Z";
}

}  // namespace opsrl::datasets::prom
