// `opsrl offline`'s configuration schema, over config.hpp's parser (same syntax, same messages).
#include <opsrl/train/offline_config.hpp>

#include <algorithm>

#include <fmt/format.h>

namespace opsrl::train {

namespace {

template <typename... Ts>
void require(bool ok, fmt::format_string<Ts...> f, Ts&&... args) {
  if (!ok) throw ConfigError(fmt::format(f, std::forward<Ts>(args)...));
}

}  // namespace

std::vector<ConfigKey> offline_config_keys(OfflineConfig& c) {
  std::vector<ConfigKey> keys{
      {"run.seed", &c.run.seed, "weights, minibatch shuffling and the validation split are seeded from it"},
      {"run.device", &c.run.device, "\"cpu\", \"cuda\" or \"cuda:N\""},
      {"run.threads", &c.run.threads, "LibTorch intra-op and OpenBLAS threads (0: every core)"},
      {"run.checkpoint_every", &c.run.checkpoint_every, "epochs between checkpoints (0: only at the end)"},
      {"run.keep_checkpoints", &c.run.keep_checkpoints, "epoch_*.pt files kept besides latest.pt (0: keep all)"},
      {"data.files", &c.data.files, "dataset files (HDF5), comma-separated; --dataset FILE adds one"},
      {"data.validation_fraction", &c.data.validation_fraction,
       "share of the episodes held out for the validation figures (never trained on)"},
      {"data.max_episodes", &c.data.max_episodes, "read at most this many episodes of each file (0: all)"},
  };
  for (ConfigKey& k : policy_config_keys(c.policy)) keys.push_back(std::move(k));
  keys.insert(keys.end(), {
      {"offline.algo", &c.offline.algo, "\"bc\" (behaviour cloning) or \"iql\" (implicit Q-learning)"},
      {"offline.epochs", &c.offline.epochs, "passes over the training transitions"},
      {"offline.batch_size", &c.offline.batch_size, "transitions per minibatch"},
      {"offline.learning_rate", &c.offline.learning_rate, "Adam step size of the policy and of the IQL critic"},
      {"offline.anneal_lr", &c.offline.anneal_lr, "decay the learning rates linearly to 0 over the epochs"},
      {"offline.adam_eps", &c.offline.adam_eps, "Adam epsilon"},
      {"offline.max_grad_norm", &c.offline.max_grad_norm, "global gradient-norm clip (policy and critic separately)"},
      {"offline.gamma", &c.offline.gamma, "discount per step (IQL's TD target and the value head's returns)"},
      {"offline.value_weight", &c.offline.value_weight,
       "regression of the policy's value head on the discounted return in PPO's reward scale (0: off)"},
      {"offline.action_weight", &c.offline.action_weight,
       "weight of the rows that act (not all zeros: noop without a claim) in the likelihood terms (1: all alike)"},
      {"iql.expectile", &c.iql.expectile, "tau of the expectile regression of V on Q (0.5: the mean)"},
      {"iql.beta", &c.iql.beta, "inverse temperature of the advantage weights exp(beta (Q - V)), Q - V in raw reward units"},
      {"iql.max_weight", &c.iql.max_weight, "clip of the advantage weights"},
      {"iql.polyak", &c.iql.polyak, "target critic <- polyak critic + (1 - polyak) target, after every step"},
      {"iql.q_hidden", &c.iql.q_hidden, "hidden width of the Q and V MLPs"},
      {"iql.twin_q", &c.iql.twin_q, "two Q heads; TD targets and advantages use their minimum"},
      {"iql.n_step", &c.iql.n_step, "TD targets over n recorded steps, bootstrapping on V(s_t+n) (1: the paper's)"},
      {"iql.reward_scale", &c.iql.reward_scale,
       "the critic learns rewards x this (0: per task, 1 / std of the discounted return, PPO's scale); beta reads raw units"},
      {"aux.diagnosis_weight", &c.aux.diagnosis_weight,
       "weight of the supervised diagnosis loss from the dataset's ground truth (0: off)"},
      {"aux.diagnosis_pointer", &c.aux.diagnosis_pointer, "include the root-cause token (pointer) loss"},
      {"aux.no_claim_label", &c.aux.no_claim_label,
       "label steps without an active fault \"no claim\" (false: skip them)"},
      {"aux.label_delay_s", &c.aux.label_delay_s,
       "label a fault only once it has run this many seconds (\"no claim\" before), as opsrl train"},
      {"eval.every", &c.eval.every, "epochs between evaluations in the simulator on held-out seeds (0: off); the best is kept as best.pt"},
      {"eval.episodes", &c.eval.episodes, "episodes per task per evaluation"},
      {"eval.seed", &c.eval.seed, "evaluation seed S (episode k runs with 2^40 + S + k)"},
      {"log.progress", &c.log.progress, "\"auto\" (in place on a TTY), \"lines\" or \"off\""},
  });
  return keys;
}

std::string_view default_offline_config_text() { return embedded_config_text("offline"); }

OfflineConfig default_offline_config() {
  OfflineConfig c;
  apply_toml(c, default_offline_config_text(), "<embedded train/configs/offline.toml>");
  return c;
}

void apply_toml(OfflineConfig& config, std::string_view text, const std::string& origin) {
  std::vector<ConfigKey> keys = offline_config_keys(config);
  apply_toml(keys, text, origin);
}

OfflineConfig load_offline_config_file(const std::filesystem::path& path, OfflineConfig base) {
  apply_toml(base, read_config_text(path), path.string());
  return base;
}

void apply_override(OfflineConfig& config, std::string_view assignment) {
  std::vector<ConfigKey> keys = offline_config_keys(config);
  apply_override(keys, assignment);
}

std::string to_toml(const OfflineConfig& config) {
  OfflineConfig copy = config;
  return to_toml(offline_config_keys(copy),
                 "opsrl offline: resolved configuration (docs/training.md, \"Offline training\", describes every key)");
}

std::vector<std::filesystem::path> OfflineConfig::dataset_files() const {
  std::vector<std::filesystem::path> out;
  std::size_t begin = 0;
  while (begin <= data.files.size()) {
    const std::size_t end = std::min(data.files.find(',', begin), data.files.size());
    const std::string_view f = std::string_view(data.files).substr(begin, end - begin);
    const std::size_t first = f.find_first_not_of(" \t");
    if (first != std::string_view::npos) out.emplace_back(std::string(f.substr(first, f.find_last_not_of(" \t") + 1 - first)));
    begin = end + 1;
  }
  return out;
}

void OfflineConfig::add_dataset(const std::filesystem::path& file) {
  if (file.string().find(',') != std::string::npos)
    throw ConfigError(fmt::format("--dataset {}: a dataset path must not contain a comma", file.string()));
  if (!data.files.empty()) data.files += ',';
  data.files += file.string();
}

void OfflineConfig::validate() const {
  require(run.seed >= 0 && run.seed < (std::int64_t{1} << 39), "run.seed must be in [0, 2^39), got {}", run.seed);
  require(run.device == "cpu" || run.device.rfind("cuda", 0) == 0, "run.device must be \"cpu\", \"cuda\" or \"cuda:N\", got \"{}\"",
          run.device);
  require(run.threads >= 0, "run.threads must be >= 0 (0: every core), got {}", run.threads);
  require(run.checkpoint_every >= 0, "run.checkpoint_every must be >= 0, got {}", run.checkpoint_every);
  require(run.keep_checkpoints >= 0, "run.keep_checkpoints must be >= 0, got {}", run.keep_checkpoints);
  require(data.validation_fraction >= 0 && data.validation_fraction < 1,
          "data.validation_fraction must be in [0, 1), got {}", data.validation_fraction);
  require(data.max_episodes >= 0, "data.max_episodes must be >= 0 (0: all), got {}", data.max_episodes);
  policy.validate();
  require(offline.algo == "bc" || offline.algo == "iql", "offline.algo must be \"bc\" or \"iql\", got \"{}\"", offline.algo);
  require(offline.epochs >= 1, "offline.epochs must be >= 1, got {}", offline.epochs);
  require(offline.batch_size >= 1, "offline.batch_size must be >= 1, got {}", offline.batch_size);
  require(offline.learning_rate > 0, "offline.learning_rate must be > 0, got {}", offline.learning_rate);
  require(offline.adam_eps > 0, "offline.adam_eps must be > 0, got {}", offline.adam_eps);
  require(offline.max_grad_norm > 0, "offline.max_grad_norm must be > 0, got {}", offline.max_grad_norm);
  require(offline.gamma >= 0 && offline.gamma < 1, "offline.gamma must be in [0, 1), got {}", offline.gamma);
  require(offline.value_weight >= 0, "offline.value_weight must be >= 0 (0: off), got {}", offline.value_weight);
  require(offline.action_weight > 0, "offline.action_weight must be > 0, got {}", offline.action_weight);
  require(iql.expectile > 0 && iql.expectile < 1, "iql.expectile must be in (0, 1), got {}", iql.expectile);
  require(iql.beta >= 0, "iql.beta must be >= 0 (0: plain behaviour cloning), got {}", iql.beta);
  require(iql.max_weight > 0, "iql.max_weight must be > 0, got {}", iql.max_weight);
  require(iql.polyak > 0 && iql.polyak <= 1, "iql.polyak must be in (0, 1], got {}", iql.polyak);
  require(iql.q_hidden >= 1, "iql.q_hidden must be >= 1, got {}", iql.q_hidden);
  require(iql.n_step >= 1, "iql.n_step must be >= 1, got {}", iql.n_step);
  require(iql.reward_scale >= 0, "iql.reward_scale must be >= 0 (0: automatic), got {}", iql.reward_scale);
  require(aux.diagnosis_weight >= 0, "aux.diagnosis_weight must be >= 0 (0: off), got {}", aux.diagnosis_weight);
  require(aux.label_delay_s >= 0, "aux.label_delay_s must be >= 0, got {}", aux.label_delay_s);
  require(eval.every >= 0, "eval.every must be >= 0 (0: off), got {}", eval.every);
  require(eval.episodes >= 1, "eval.episodes must be >= 1, got {}", eval.episodes);
  require(eval.seed >= 0, "eval.seed must be >= 0, got {}", eval.seed);
  require(log.progress == "auto" || log.progress == "lines" || log.progress == "off",
          "log.progress must be \"auto\", \"lines\" or \"off\", got \"{}\"", log.progress);
}

}  // namespace opsrl::train
