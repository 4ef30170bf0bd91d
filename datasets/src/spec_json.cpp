// EnvSpec <-> JSON (root attribute env_spec).
#include <opsrl/datasets/spec_json.hpp>

#include <stdexcept>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace opsrl::datasets {

using nlohmann::json;

namespace {

// A required member of the expected JSON kind; errors name the key path.
const json& member(const json& j, const char* key, json::value_t kind, std::string_view where) {
  const auto it = j.find(key);
  if (it == j.end()) throw std::invalid_argument(fmt::format("{}.{} is missing", where, key));
  const bool ok = kind == json::value_t::number_integer ? it->is_number_integer()
                  : kind == json::value_t::number_float ? it->is_number()
                                                        : it->type() == kind;
  if (!ok) throw std::invalid_argument(fmt::format("{}.{} has the wrong type ({})", where, key, it->type_name()));
  return *it;
}

int integer(const json& j, const char* key, std::string_view where) {
  return member(j, key, json::value_t::number_integer, where).get<int>();
}
std::string text(const json& j, const char* key, std::string_view where) {
  return member(j, key, json::value_t::string, where).get<std::string>();
}

}  // namespace

std::string spec_to_json(const envs::EnvSpec& s) {
  json j;
  j["task"] = s.task;
  j["task_id"] = static_cast<int>(s.task_id);
  j["scenario"] = s.scenario;
  j["max_tokens"] = s.max_tokens;
  j["feature_width"] = s.feature_width;
  j["history"] = s.history;
  j["num_nodes"] = s.num_nodes;
  j["num_services"] = s.num_services;
  j["num_replica_slots"] = s.num_replica_slots;
  j["action_width"] = s.action_width;
  j["mask_width"] = s.mask_width;
  json heads = json::array();
  for (const envs::ActionHeadSpec& h : s.action_heads)
    heads.push_back({{"name", h.name},
                     {"column", h.column},
                     {"count", h.count},
                     {"choices", h.choices},
                     {"mask_offset", h.mask_offset},
                     {"mask_rows", h.mask_rows},
                     {"depends_on", h.depends_on}});
  j["action_heads"] = heads;
  j["reward_components"] = s.reward_components;
  j["step_interval_ms"] = s.step_interval;
  j["max_episode_steps"] = s.max_episode_steps;
  json arrays = json::array();
  for (const envs::ArraySpec& a : s.observation_arrays())
    arrays.push_back({{"name", a.name}, {"dtype", std::string(envs::dtype_name(a.dtype))}, {"shape", a.shape},
                      {"meaning", a.meaning}});
  j["observation_arrays"] = arrays;
  return j.dump();
}

envs::EnvSpec spec_from_json(const std::string& text_in) {
  json j;
  try {
    j = json::parse(text_in);
  } catch (const json::exception& e) {
    throw std::invalid_argument(fmt::format("not valid JSON ({})", e.what()));
  }
  if (!j.is_object()) throw std::invalid_argument("env_spec must be a JSON object");
  const std::string_view w = "env_spec";
  envs::EnvSpec s;
  s.task = text(j, "task", w);
  const int task_id = integer(j, "task_id", w);
  if (task_id < 0 || task_id >= envs::kNumTasks)
    throw std::invalid_argument(fmt::format("env_spec.task_id must be in [0, {}), got {}", envs::kNumTasks, task_id));
  s.task_id = static_cast<envs::TaskId>(task_id);
  s.scenario = text(j, "scenario", w);
  s.max_tokens = integer(j, "max_tokens", w);
  s.feature_width = integer(j, "feature_width", w);
  s.history = integer(j, "history", w);
  s.num_nodes = integer(j, "num_nodes", w);
  s.num_services = integer(j, "num_services", w);
  s.num_replica_slots = integer(j, "num_replica_slots", w);
  s.action_width = integer(j, "action_width", w);
  s.mask_width = integer(j, "mask_width", w);
  for (const auto& [name, v] : {std::pair{"max_tokens", s.max_tokens}, {"feature_width", s.feature_width},
                                {"action_width", s.action_width}, {"mask_width", s.mask_width}})
    if (v < 1) throw std::invalid_argument(fmt::format("env_spec.{} must be >= 1, got {}", name, v));
  if (s.num_real_tokens() > s.max_tokens)
    throw std::invalid_argument(fmt::format("env_spec: 1 + num_nodes + num_services + num_replica_slots = {} exceeds max_tokens = {}",
                                            s.num_real_tokens(), s.max_tokens));
  const json& heads = member(j, "action_heads", json::value_t::array, w);
  for (std::size_t i = 0; i < heads.size(); ++i) {
    const std::string hw = fmt::format("env_spec.action_heads[{}]", i);
    if (!heads[i].is_object()) throw std::invalid_argument(hw + " must be an object");
    envs::ActionHeadSpec h;
    h.name = text(heads[i], "name", hw);
    h.column = integer(heads[i], "column", hw);
    h.count = integer(heads[i], "count", hw);
    h.choices = integer(heads[i], "choices", hw);
    h.mask_offset = integer(heads[i], "mask_offset", hw);
    h.mask_rows = integer(heads[i], "mask_rows", hw);
    h.depends_on = text(heads[i], "depends_on", hw);
    s.action_heads.push_back(std::move(h));
  }
  const json& rc = member(j, "reward_components", json::value_t::array, w);
  for (const json& name : rc) {
    if (!name.is_string()) throw std::invalid_argument("env_spec.reward_components must be a list of strings");
    s.reward_components.push_back(name.get<std::string>());
  }
  s.step_interval = member(j, "step_interval_ms", json::value_t::number_integer, w).get<sim::SimTime>();
  s.max_episode_steps = integer(j, "max_episode_steps", w);
  return s;
}

}  // namespace opsrl::datasets
