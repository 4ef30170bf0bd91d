#pragma once
// The root attributes of a dataset file: what it holds and how to re-create it.
#include <cstdint>
#include <string>

#include <opsrl/envs/spec.hpp>

namespace opsrl::datasets {

struct DatasetHeader {
  std::string source;           // kSourceSimulator or an importer's name (kSourceNezha)
  envs::EnvSpec spec;           // shapes of every array; stored as JSON (attribute env_spec)
  std::string env_config_json;  // the envs::EnvConfig the episodes ran with (config_json.hpp); "" for imports
  std::string scenario;         // scenario name
  std::string scenario_toml;    // its TOML text, so that episodes can be re-simulated from the file alone
  std::string scenario_hash;    // scenario_hash(scenario_toml)
  std::string policy;           // the policy that acted ("" for imports)
  std::uint64_t policy_seed = 0;  // agents::PolicyOptions::seed it ran with
  std::string difficulty;       // incident preset name, or ""
  std::string command;          // the command that made the file
  double action_noise = 0;      // RecordOptions::action_noise of the recording (0: none)
  std::string notes;            // importers: what was mapped, filled in or lost
  // Written by Writer::close; read back by Reader.
  std::int64_t total_episodes = 0;
  std::int64_t total_steps = 0;
  int version = 0;              // read back: the file's format version
};

// "fnv1a64:<16 hex digits>" of the text: the same scenario text gives the same hash.
std::string scenario_hash(std::string_view toml_text);

}  // namespace opsrl::datasets
