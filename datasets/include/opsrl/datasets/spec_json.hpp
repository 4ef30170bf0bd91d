#pragma once
// EnvSpec and EnvConfig as JSON text, for the root attributes env_spec and env_config. The
// spec is what a reader needs to size every array; the config is what a re-simulation needs
// (with the scenario's TOML text, stored beside it) to reset the very same episodes.
#include <string>

#include <opsrl/envs/config.hpp>
#include <opsrl/envs/spec.hpp>

namespace opsrl::datasets {

// Every EnvSpec field plus observation_arrays() (name, dtype, shape, meaning).
std::string spec_to_json(const envs::EnvSpec& spec);
// Throws std::invalid_argument naming the missing or malformed key and the expected form.
envs::EnvSpec spec_from_json(const std::string& json);

// Every EnvConfig field except the scenario (stored as TOML text); durations in milliseconds,
// fault types by name.
std::string config_to_json(const envs::EnvConfig& config);
// Rebuilds the config around `scenario`; keys missing from the JSON keep their defaults (a
// file written before a field existed ran with its default). Throws std::invalid_argument
// naming a malformed key.
envs::EnvConfigPtr config_from_json(const std::string& json, sim::ScenarioPtr scenario);

}  // namespace opsrl::datasets
