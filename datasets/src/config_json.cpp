// EnvConfig <-> JSON (root attribute env_config). Every field is listed here by name: a new
// EnvConfig field must be added on both sides, or a re-simulation runs it with its default
// (tests/datasets/test_replay.cpp catches a drift for the fields the recordings use).
#include <opsrl/datasets/spec_json.hpp>

#include <stdexcept>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace opsrl::datasets {

using nlohmann::json;

namespace {

json fault_names(const std::vector<sim::FaultType>& types) {
  json a = json::array();
  for (sim::FaultType t : types) a.push_back(std::string(sim::fault_info(t).name));
  return a;
}

// Reads j[key] into `out` when present; a present key of the wrong type is an error.
class Fields {
 public:
  Fields(const json& j, std::string where) : j_(j), where_(std::move(where)) {
    if (!j_.is_object()) throw std::invalid_argument(fmt::format("env_config{} must be a JSON object", where_));
  }
  template <typename T>
  void get(const char* key, T& out) const {
    const auto it = j_.find(key);
    if (it == j_.end()) return;
    try {
      if constexpr (std::is_same_v<T, bool>) {
        if (!it->is_boolean()) throw std::invalid_argument("a boolean");
      } else if constexpr (std::is_arithmetic_v<T>) {
        if (!it->is_number()) throw std::invalid_argument("a number");
      } else {
        if (!it->is_string()) throw std::invalid_argument("a string");
      }
      out = it->get<T>();
    } catch (const std::exception& e) {
      throw std::invalid_argument(fmt::format("env_config{}.{} must be {}, got {}", where_, key, e.what(), it->dump()));
    }
  }
  void faults(const char* key, std::vector<sim::FaultType>& out) const {
    const auto it = j_.find(key);
    if (it == j_.end()) return;
    if (!it->is_array()) throw std::invalid_argument(fmt::format("env_config{}.{} must be a list of fault names", where_, key));
    out.clear();
    for (const json& n : *it) {
      const auto t = n.is_string() ? sim::fault_type_from_name(n.get<std::string>()) : std::nullopt;
      if (!t) throw std::invalid_argument(fmt::format("env_config{}.{}: unknown fault type {}", where_, key, n.dump()));
      out.push_back(*t);
    }
  }
  Fields sub(const char* key) const {
    static const json kEmpty = json::object();
    const auto it = j_.find(key);
    return Fields(it == j_.end() ? kEmpty : *it, where_ + "." + key);
  }

 private:
  const json& j_;
  std::string where_;
};

}  // namespace

std::string config_to_json(const envs::EnvConfig& c) {
  json j;
  j["history"] = c.history;
  j["max_tokens"] = c.max_tokens;
  j["day_phases"] = c.day_phases;
  j["telemetry_noise"] = c.telemetry_noise;
  const envs::RewardWeights& r = c.reward;
  j["reward"] = {{"slo_per_minute", r.slo_per_minute},         {"cost_per_usd", r.cost_per_usd},
                 {"action_per_usd", r.action_per_usd},         {"diagnosis_bonus", r.diagnosis_bonus},
                 {"diagnosis_penalty", r.diagnosis_penalty},   {"resolution_bonus", r.resolution_bonus},
                 {"invalid_action_penalty", r.invalid_action_penalty},
                 {"false_positive_penalty", r.false_positive_penalty},
                 {"wrong_action_penalty", r.wrong_action_penalty}};
  const envs::IncidentOptions& i = c.incident;
  j["incident"] = {{"fault_types", fault_names(i.fault_types)},
                   {"severity_min", i.severity_min},
                   {"severity_max", i.severity_max},
                   {"min_faults", i.min_faults},
                   {"max_faults", i.max_faults},
                   {"onset_min_ms", i.onset_min},
                   {"onset_max_ms", i.onset_max},
                   {"control_fraction", i.control_fraction},
                   {"time_limit_ms", i.time_limit},
                   {"resolve_steps", i.resolve_steps}};
  const envs::AutoscaleOptions& a = c.autoscale;
  j["autoscale"] = {{"episode_length_ms", a.episode_length},
                    {"diurnal_amplitude", a.diurnal_amplitude},
                    {"diurnal_period_ms", a.diurnal_period},
                    {"surges_per_hour", a.surges_per_hour},
                    {"trace_csv", a.trace_csv},
                    {"trace_step_ms", a.trace_step},
                    {"fault_probability", a.fault_probability},
                    {"fault_types", fault_names(a.fault_types)},
                    {"placement", a.placement}};
  return j.dump();
}

envs::EnvConfigPtr config_from_json(const std::string& text, sim::ScenarioPtr scenario) {
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception& e) {
    throw std::invalid_argument(fmt::format("env_config is not valid JSON ({})", e.what()));
  }
  envs::EnvConfig c;
  c.scenario = std::move(scenario);
  const Fields f(j, "");
  f.get("history", c.history);
  f.get("max_tokens", c.max_tokens);
  f.get("day_phases", c.day_phases);
  f.get("telemetry_noise", c.telemetry_noise);
  const Fields r = f.sub("reward");
  r.get("slo_per_minute", c.reward.slo_per_minute);
  r.get("cost_per_usd", c.reward.cost_per_usd);
  r.get("action_per_usd", c.reward.action_per_usd);
  r.get("diagnosis_bonus", c.reward.diagnosis_bonus);
  r.get("diagnosis_penalty", c.reward.diagnosis_penalty);
  r.get("resolution_bonus", c.reward.resolution_bonus);
  r.get("invalid_action_penalty", c.reward.invalid_action_penalty);
  r.get("false_positive_penalty", c.reward.false_positive_penalty);
  r.get("wrong_action_penalty", c.reward.wrong_action_penalty);
  const Fields i = f.sub("incident");
  i.faults("fault_types", c.incident.fault_types);
  i.get("severity_min", c.incident.severity_min);
  i.get("severity_max", c.incident.severity_max);
  i.get("min_faults", c.incident.min_faults);
  i.get("max_faults", c.incident.max_faults);
  i.get("onset_min_ms", c.incident.onset_min);
  i.get("onset_max_ms", c.incident.onset_max);
  i.get("control_fraction", c.incident.control_fraction);
  i.get("time_limit_ms", c.incident.time_limit);
  i.get("resolve_steps", c.incident.resolve_steps);
  const Fields a = f.sub("autoscale");
  a.get("episode_length_ms", c.autoscale.episode_length);
  a.get("diurnal_amplitude", c.autoscale.diurnal_amplitude);
  a.get("diurnal_period_ms", c.autoscale.diurnal_period);
  a.get("surges_per_hour", c.autoscale.surges_per_hour);
  a.get("trace_csv", c.autoscale.trace_csv);
  a.get("trace_step_ms", c.autoscale.trace_step);
  a.get("fault_probability", c.autoscale.fault_probability);
  a.faults("fault_types", c.autoscale.fault_types);
  a.get("placement", c.autoscale.placement);
  try {
    return envs::make_config(std::move(c));
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(fmt::format("env_config: {}", e.what()));
  }
}

}  // namespace opsrl::datasets
