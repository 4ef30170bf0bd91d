#pragma once
// The configuration of `opsrl offline`: every key, its default and its meaning.
// train/configs/offline.toml (embedded into the binary) lists the same keys with the shipped
// values; docs/training.md ("Offline training") is the same table in prose. Parsing, overrides,
// the resolved TOML and the error messages are config.hpp's, over this schema.
//
//   OfflineConfig c = default_offline_config();
//   apply_override(c, "iql.beta=3");
//   c.validate();                                   // ConfigError naming the key and the value
//   std::string toml = to_toml(c);                  // re-loadable
//
// Section  Key                  Default   Meaning
// run      seed                 1         weights, minibatch shuffling and the validation split are seeded from it
//          device               "cpu"     "cpu", "cuda", "cuda:N"
//          threads              1         LibTorch intra-op and OpenBLAS threads (0: every core)
//          checkpoint_every     5         epochs between checkpoints (0: only at the end)
//          keep_checkpoints     3         epoch_*.pt files kept besides latest.pt (0: all)
// data     files                ""        dataset files, comma-separated (--dataset FILE adds one)
//          validation_fraction  0.1       share of the episodes held out (never trained on) for the validation figures
//          max_episodes         0         read at most this many episodes per file (0: all)
// policy   d_model .. value_hidden        TransformerPolicyOptions, as `opsrl train`'s [policy]
// offline  algo                 "bc"      "bc" or "iql"
//          epochs               20        passes over the training transitions
//          batch_size           256       transitions per minibatch
//          learning_rate        3e-4      Adam step size of the policy (and of the IQL critic)
//          anneal_lr            false     decay the learning rates linearly to 0 over the epochs
//          adam_eps             1e-5
//          max_grad_norm        1.0       global gradient-norm clip (policy and critic separately)
//          gamma                0.99      discount per step (IQL's TD target, the value head's returns)
//          value_weight         0.25      regression of the policy's value head on the discounted
//                                         return-to-go in PPO's reward scale (0: off)
//          action_weight        1.0       weight of the transitions whose recorded row acts (is not
//                                         all zeros: noop without a claim, or keep every replica) in
//                                         the likelihood terms (1: every row alike)
// iql      expectile            0.7       tau of the expectile regression of V on Q
//          beta                 3.0       inverse temperature of the advantage weights exp(beta (Q - V)),
//                                         advantages in raw reward units
//          max_weight           100       clip of the advantage weights
//          polyak               0.005     target critic <- polyak critic + (1 - polyak) target, per step
//          q_hidden             256       hidden width of the Q and V MLPs
//          twin_q               true      two Q heads; targets and advantages use their minimum
//          n_step               1         TD targets over n steps of the recorded episode (1: IQL's)
//          reward_scale         0         the critic learns rewards x this (0: per task, 1 / std of the
//                                         discounted return, PPO's scale); beta reads raw units
// aux      diagnosis_weight     0.5       supervised diagnosis loss from the dataset's ground truth (0: off)
//          diagnosis_pointer    true      include the root-token loss
//          no_claim_label       true      label steps without an active fault "no claim"
// eval     every                0         epochs between evaluations in the simulator (0: off); the
//                                         best (sum of the tasks' mean returns) is kept as best.pt
//          episodes             32        episodes per task per evaluation
//          seed                 1000000   evaluation seed S (episode k runs with 2^40 + S + k):
//                                         validation seeds, apart from opsrl eval's test seeds
// log      progress             "auto"    "auto", "lines" or "off"
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include <opsrl/train/config.hpp>

namespace opsrl::train {

struct OfflineRunSection {
  std::int64_t seed = 1;
  std::string device = "cpu";
  int threads = 1;
  int checkpoint_every = 5;
  int keep_checkpoints = 3;
};

struct OfflineDataSection {
  std::string files;  // comma-separated paths
  double validation_fraction = 0.1;
  int max_episodes = 0;
};

struct OfflineSection {
  std::string algo = "bc";
  int epochs = 20;
  int batch_size = 256;
  double learning_rate = 3e-4;
  bool anneal_lr = false;
  double adam_eps = 1e-5;
  double max_grad_norm = 1.0;
  double gamma = 0.99;
  double value_weight = 0.25;
  double action_weight = 1.0;
};

struct IqlSection {
  double expectile = 0.7;
  double beta = 3.0;
  double max_weight = 100.0;
  double polyak = 0.005;
  int q_hidden = 256;
  bool twin_q = true;
  int n_step = 1;
  double reward_scale = 0;  // 0: per task, 1 / std of the discounted return
};

struct OfflineConfig {
  OfflineRunSection run;
  OfflineDataSection data;
  PolicySection policy;
  OfflineSection offline;
  IqlSection iql;
  AuxSection aux;
  EvalSection eval{.every = 0, .episodes = 32, .seed = 1000000};  // off by default: datasets need not be simulator recordings
  LogSection log;

  // Checks every value; throws ConfigError naming the key, the value and what is allowed.
  void validate() const;
  // data.files split at the commas.
  std::vector<std::filesystem::path> dataset_files() const;
  // Adds a file to data.files.
  void add_dataset(const std::filesystem::path& file);
};

std::vector<ConfigKey> offline_config_keys(OfflineConfig& config);

// The embedded train/configs/offline.toml applied to the defaults.
OfflineConfig default_offline_config();
std::string_view default_offline_config_text();
// A TOML text or file on top of `config` (ConfigError with origin:line:column as `opsrl train`).
void apply_toml(OfflineConfig& config, std::string_view text, const std::string& origin);
OfflineConfig load_offline_config_file(const std::filesystem::path& path, OfflineConfig base = {});
// "key=value" (--set).
void apply_override(OfflineConfig& config, std::string_view assignment);
// The resolved configuration, a comment per key; load_offline_config_file reads it back.
std::string to_toml(const OfflineConfig& config);

}  // namespace opsrl::train
