#pragma once
// The training configuration: every key of `opsrl train`'s TOML file, its default and its
// meaning. train/configs/default.toml (embedded into the binary) lists the same keys with the
// shipped values; docs/training.md is the same table in prose.
//
//   TrainConfig c = load_config_file("my.toml");        // unknown key / bad type: ConfigError
//   apply_override(c, "ppo.clip_coef=0.1");
//   c.validate();
//   std::string toml = to_toml(c);                       // the resolved config, re-loadable
//
// Section  Key                     Default     Meaning
// run      seed                    1           env episode seeds start here; torch generators seeded from it
//          total_steps             600000      env steps (all envs together) of the whole run
//          device                  "cpu"       "cpu", "cuda", "cuda:1"
//          threads                 1           LibTorch intra-op threads (0: every core)
//          checkpoint_every        10          updates between checkpoints (0: only at the end)
//          keep_checkpoints        3           update_*.pt files kept besides latest.pt (0: all)
// env      scenario                "default"   built-in scenario name or a TOML path
//          incident_envs           24          incident envs in the VecEnv
//          autoscale_envs          8           autoscale envs in the VecEnv
//          incident_difficulty     "medium"    "easy", "medium", "hard"
//          history                 4           scrapes per history window
//          max_tokens              0           pad tokens to this count (0: the scenario's)
//          telemetry_noise         true        noise on scraped values
//          autoscale_episode_length "2h"       autoscale truncation
//          autoscale_diurnal_period ""         "" keeps the scenario's; e.g. "2h"
//          autoscale_surges_per_hour 1.0       random traffic surges per hour (< 0: the scenario's)
//          autoscale_slo_per_minute -1         autoscale's reward per SLO-violation minute (< 0: shared)
//          threads                 0           env-stepping threads (0: every core)
// policy   d_model, layers, heads, ff,         TransformerPolicyOptions (64, 2, 4, 128,
//          pointer_dim, value_hidden           32, 64)
// ppo      num_steps               64          steps per env per rollout
//          learning_rate           3e-4        Adam step size (before annealing)
//          anneal_lr               true        linear decay to 0 over the run
//          adam_eps                1e-5
//          gamma                   0.99
//          gae_lambda              0.95
//          num_minibatches         4           minibatches per epoch
//          update_epochs           3           epochs per rollout
//          norm_adv                true        normalise advantages
//          norm_adv_scope          "rollout"   "rollout" (once per rollout) or "minibatch"
//          per_task_adv            true        normalise each task's advantages separately
//          clip_coef               0.2         surrogate clip
//          clip_vloss              true        clip the value loss as CleanRL does
//          ent_coef                0.01
//          autoscale_ent_coef      -1          autoscale rows' entropy coefficient (< 0: ent_coef)
//          vf_coef                 0.5
//          max_grad_norm           0.5
//          target_kl               0.03        stop the epochs once approx_kl exceeds it (0: never)
//          norm_reward             true        scale each task's rewards by the running std of its
//                                              discounted return (gymnasium's NormalizeReward)
//          clip_reward             10          clip scaled rewards to +-clip_reward (0: never)
// aux      diagnosis_weight        0.5         weight of the supervised diagnosis loss (0: off)
//          diagnosis_pointer       true        also the root-token pointer loss
//          no_claim_label          true        label pre-onset and control steps "no claim"
//          label_delay_s           30          label a fault's first seconds "no claim" too (claim timing)
// teacher  incident                "oracle_late" a baseline the learner is also taught to imitate on its
//                                              own incident states (kickstarting); "": none
//          autoscale               "oracle_trend" the same for the autoscale rows
//          weight                  1.0         weight of the imitation loss at the start
//          until                   1.0         share of run.total_steps over which it decays to 0
//          action_weight           3.0         weight of the rows where the teacher acts (as offline.action_weight)
// eval     every                   0           updates between evaluations (0: off)
//          episodes                32          episodes per task per evaluation
//          seed                    0           evaluation seeds (agents::eval_seed)
// log      progress                "auto"      "auto" (in place on a TTY), "lines", "off"
#include <cstdint>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace opsrl::train {

struct RunSection {
  std::int64_t seed = 1;
  std::int64_t total_steps = 600'000;
  std::string device = "cpu";
  int threads = 1;
  int checkpoint_every = 10;
  int keep_checkpoints = 3;
};

struct EnvSection {
  std::string scenario = "default";
  int incident_envs = 24;
  int autoscale_envs = 8;
  std::string incident_difficulty = "medium";
  int history = 4;
  int max_tokens = 0;
  bool telemetry_noise = true;
  std::string autoscale_episode_length = "2h";
  std::string autoscale_diurnal_period;
  double autoscale_surges_per_hour = 1.0;  // < 0 keeps the scenario's
  double autoscale_slo_per_minute = -1;   // < 0: the shared weight (envs::RewardWeights)
  int threads = 0;
};

struct PolicySection {
  int d_model = 64;
  int layers = 2;
  int heads = 4;
  int ff = 128;
  int pointer_dim = 32;
  int value_hidden = 64;

  void validate() const;  // ConfigError naming the key
};

struct PpoSection {
  int num_steps = 64;
  double learning_rate = 3e-4;
  bool anneal_lr = true;
  double adam_eps = 1e-5;
  double gamma = 0.99;
  double gae_lambda = 0.95;
  int num_minibatches = 4;
  int update_epochs = 3;
  bool norm_adv = true;
  std::string norm_adv_scope = "rollout";
  bool per_task_adv = true;
  double clip_coef = 0.2;
  bool clip_vloss = true;
  double ent_coef = 0.01;
  double autoscale_ent_coef = -1;  // the autoscale rows' entropy coefficient (< 0: ent_coef)
  double vf_coef = 0.5;
  double max_grad_norm = 0.5;
  double target_kl = 0.03;
  bool norm_reward = true;
  double clip_reward = 10.0;
};

struct AuxSection {
  double diagnosis_weight = 0.5;
  bool diagnosis_pointer = true;
  bool no_claim_label = true;
  double label_delay_s = 30;  // a fault is labelled only once it has run this long ("no claim" before)
};

// Kickstarting (Schmitt et al. 2018): a teacher's rows on the states the learner visits enter
// the loss as -weight x log pi(teacher row), the weight decaying linearly to 0. One teacher per
// task; each must be able to act on every task of the run (it proposes for all envs).
struct TeacherSection {
  std::string incident = "oracle_late";
  std::string autoscale = "oracle_trend";
  double weight = 1.0;
  double until = 1.0;
  double action_weight = 3.0;

  bool on() const { return (!incident.empty() || !autoscale.empty()) && weight > 0 && until > 0; }
};

struct EvalSection {
  int every = 25;
  int episodes = 32;
  std::int64_t seed = 1000000;  // validation seeds 2^40 + 10^6 + k: apart from `opsrl eval`'s (2^40 + k)
};

struct LogSection {
  std::string progress = "auto";
};

struct TrainConfig {
  RunSection run;
  EnvSection env;
  PolicySection policy;
  PpoSection ppo;
  AuxSection aux;
  TeacherSection teacher;
  EvalSection eval;
  LogSection log;

  int num_envs() const { return env.incident_envs + env.autoscale_envs; }
  std::int64_t batch_size() const { return static_cast<std::int64_t>(num_envs()) * ppo.num_steps; }
  std::int64_t minibatch_size() const { return batch_size() / ppo.num_minibatches; }
  std::int64_t num_updates() const { return batch_size() > 0 ? total_updates(run.total_steps) : 0; }
  std::int64_t total_updates(std::int64_t steps) const { return (steps + batch_size() - 1) / batch_size(); }

  // Checks every value; throws ConfigError naming the key, the value and what is allowed.
  void validate() const;
};

// A configuration error. what() is the whole message, e.g.
//   my.toml:3:1: unknown key "ppo.clip"; known keys in [ppo]: num_steps, learning_rate, ...
class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// One key of the schema, for parsing, writing and documentation.
struct ConfigKey {
  std::string name;  // "section.key"
  std::variant<bool*, int*, std::int64_t*, double*, std::string*> target;
  std::string doc;   // one line
};
std::vector<ConfigKey> config_keys(TrainConfig& config);
// The [policy] keys, shared with `opsrl offline`'s schema (offline_config.hpp).
std::vector<ConfigKey> policy_config_keys(PolicySection& policy);

// Applies a TOML document on top of `config`. `origin` names the text in messages (a path, or
// "<default.toml>"). Throws ConfigError with origin:line:col for syntax errors, unknown keys
// and values of the wrong type.
void apply_toml(TrainConfig& config, std::string_view text, const std::string& origin);
// Reads a TOML file on top of the defaults (or of `base`).
TrainConfig load_config_file(const std::filesystem::path& path, TrainConfig base = {});
// The embedded train/configs/default.toml applied to the defaults.
TrainConfig default_config();
std::string_view default_config_text();
// "key=value" from the command line; the value is TOML (3, 0.1, true, "x") or, for a string
// key, any bare text. Throws ConfigError naming the override.
void apply_override(TrainConfig& config, std::string_view assignment);
// The resolved configuration as TOML with a comment per key; load_config_file reads it back
// to an equal configuration.
std::string to_toml(const TrainConfig& config);

// The same three over any schema (a list of keys), for other configs such as `opsrl offline`'s
// (offline_config.hpp): the same syntax, the same error messages. `title` heads the TOML text.
void apply_toml(std::vector<ConfigKey>& keys, std::string_view text, const std::string& origin);
void apply_override(std::vector<ConfigKey>& keys, std::string_view assignment);
std::string to_toml(const std::vector<ConfigKey>& keys, std::string_view title);
// The text of a config file (ConfigError naming it when it cannot be read).
std::string read_config_text(const std::filesystem::path& path);
// The text of an embedded train/configs/NAME.toml (std::logic_error when not embedded).
std::string_view embedded_config_text(std::string_view name);

}  // namespace opsrl::train
