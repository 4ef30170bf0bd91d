// The training configuration's schema: one table of keys drives parsing, overrides, the
// resolved TOML and validation messages.
#include <opsrl/train/config.hpp>

#include <algorithm>
#include <fstream>
#include <limits>
#include <tuple>
#include <sstream>

#include <fmt/format.h>
#include <toml++/toml.h>

#include <opsrl/sim/embedded.hpp>
#include <opsrl/sim/time.hpp>

namespace opsrl::train {

namespace configs {
std::span<const opsrl::EmbeddedFile> embedded_files();  // generated from train/configs/*.toml
}

namespace {

std::string section_of(std::string_view name) { return std::string(name.substr(0, name.find('.'))); }

const char* type_name(const ConfigKey& k) {
  return std::visit(
      [](auto* p) -> const char* {
        using T = std::remove_pointer_t<decltype(p)>;
        if constexpr (std::is_same_v<T, bool>) return "a boolean (true or false)";
        else if constexpr (std::is_same_v<T, int> || std::is_same_v<T, std::int64_t>) return "an integer";
        else if constexpr (std::is_same_v<T, double>) return "a number";
        else return "a string";
      },
      k.target);
}

const char* node_type_name(const toml::node& n) {
  switch (n.type()) {
    case toml::node_type::table: return "a table";
    case toml::node_type::array: return "an array";
    case toml::node_type::string: return "a string";
    case toml::node_type::integer: return "an integer";
    case toml::node_type::floating_point: return "a float";
    case toml::node_type::boolean: return "a boolean";
    default: return "a date or time";
  }
}

std::string where(const std::string& origin, const toml::source_region& src) {
  return fmt::format("{}:{}:{}", origin, src.begin.line, src.begin.column);
}

// Assigns node `n` to key `k`; returns an error text ("" on success).
std::string assign(const ConfigKey& k, const toml::node& n) {
  return std::visit(
      [&](auto* p) -> std::string {
        using T = std::remove_pointer_t<decltype(p)>;
        if constexpr (std::is_same_v<T, bool>) {
          if (const auto* b = n.as_boolean()) { *p = b->get(); return {}; }
        } else if constexpr (std::is_same_v<T, int>) {
          if (const auto* i = n.as_integer()) {
            const std::int64_t v = i->get();
            if (v < std::numeric_limits<int>::min() || v > std::numeric_limits<int>::max())
              return fmt::format("{} = {} is out of range", k.name, v);
            *p = static_cast<int>(v);
            return {};
          }
        } else if constexpr (std::is_same_v<T, std::int64_t>) {
          if (const auto* i = n.as_integer()) { *p = i->get(); return {}; }
        } else if constexpr (std::is_same_v<T, double>) {
          if (const auto* f = n.as_floating_point()) { *p = f->get(); return {}; }
          if (const auto* i = n.as_integer()) { *p = static_cast<double>(i->get()); return {}; }
        } else {
          if (const auto* s = n.as_string()) { *p = s->get(); return {}; }
        }
        return fmt::format("{} must be {}, got {}", k.name, type_name(k), node_type_name(n));
      },
      k.target);
}

std::string known_keys_of(std::vector<ConfigKey>& keys, std::string_view section) {
  std::string out;
  for (const ConfigKey& k : keys)
    if (section_of(k.name) == section) out += fmt::format("{}{}", out.empty() ? "" : ", ", k.name.substr(section.size() + 1));
  return out;
}

std::string known_sections(std::vector<ConfigKey>& keys) {
  std::string out;
  std::string last;
  for (const ConfigKey& k : keys) {
    const std::string s = section_of(k.name);
    if (s == last) continue;
    out += fmt::format("{}[{}]", out.empty() ? "" : ", ", s);
    last = s;
  }
  return out;
}

std::string format_double(double v) {
  std::string s = fmt::format("{}", v);
  if (s.find_first_of(".eEn") == std::string::npos) s += ".0";
  return s;
}

std::string quote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

template <typename... Ts>
void require(bool ok, fmt::format_string<Ts...> f, Ts&&... args) {
  if (!ok) throw ConfigError(fmt::format(f, std::forward<Ts>(args)...));
}

}  // namespace

std::vector<ConfigKey> policy_config_keys(PolicySection& p) {
  return {
      {"policy.d_model", &p.d_model, "token embedding width"},
      {"policy.layers", &p.layers, "transformer encoder layers"},
      {"policy.heads", &p.heads, "attention heads"},
      {"policy.ff", &p.ff, "feed-forward width"},
      {"policy.pointer_dim", &p.pointer_dim, "width of the pointer heads' queries and keys"},
      {"policy.value_hidden", &p.value_hidden, "hidden width of the value MLP"},
  };
}

void PolicySection::validate() const {
  require(d_model > 0 && heads > 0 && d_model % heads == 0,
          "policy.d_model must be a positive multiple of policy.heads, got d_model = {}, heads = {}", d_model, heads);
  require(layers >= 1, "policy.layers must be >= 1, got {}", layers);
  require(ff >= 1, "policy.ff must be >= 1, got {}", ff);
  require(pointer_dim >= 1, "policy.pointer_dim must be >= 1, got {}", pointer_dim);
  require(value_hidden >= 1, "policy.value_hidden must be >= 1, got {}", value_hidden);
}

std::vector<ConfigKey> config_keys(TrainConfig& c) {
  std::vector<ConfigKey> keys{
      {"run.seed", &c.run.seed, "env episode seeds start here (seed + i + e x N); torch generators are seeded from it"},
      {"run.total_steps", &c.run.total_steps, "env steps of the whole run (all envs together)"},
      {"run.device", &c.run.device, "\"cpu\", \"cuda\" or \"cuda:N\""},
      {"run.threads", &c.run.threads, "LibTorch intra-op and OpenBLAS threads (0: every core)"},
      {"run.checkpoint_every", &c.run.checkpoint_every, "updates between checkpoints (0: only at the end)"},
      {"run.keep_checkpoints", &c.run.keep_checkpoints, "update_*.pt files kept besides latest.pt (0: keep all)"},
      {"env.scenario", &c.env.scenario, "built-in scenario name or the path of a scenario TOML"},
      {"env.incident_envs", &c.env.incident_envs, "incident envs in the VecEnv"},
      {"env.autoscale_envs", &c.env.autoscale_envs, "autoscale envs in the VecEnv"},
      {"env.incident_difficulty", &c.env.incident_difficulty, "incident preset: \"easy\", \"medium\" or \"hard\""},
      {"env.history", &c.env.history, "scrapes per history window (H)"},
      {"env.max_tokens", &c.env.max_tokens, "pad observations to this many tokens (0: the scenario's count)"},
      {"env.telemetry_noise", &c.env.telemetry_noise, "measurement noise on scraped values"},
      {"env.autoscale_episode_length", &c.env.autoscale_episode_length, "autoscale episodes are truncated after this long"},
      {"env.autoscale_diurnal_period", &c.env.autoscale_diurnal_period,
       "\"\" keeps the scenario's diurnal period; e.g. \"2h\" squeezes a day into an episode"},
      {"env.autoscale_surges_per_hour", &c.env.autoscale_surges_per_hour,
       "random traffic surges per hour in autoscale episodes (< 0: the scenario's)"},
      {"env.autoscale_slo_per_minute", &c.env.autoscale_slo_per_minute,
       "autoscale's penalty per minute of SLO violation (< 0: the incident task's 1.0)"},
      {"env.threads", &c.env.threads, "env-stepping threads (0: every core)"},
  };
  for (ConfigKey& k : policy_config_keys(c.policy)) keys.push_back(std::move(k));
  keys.insert(keys.end(), {
      {"ppo.num_steps", &c.ppo.num_steps, "steps per env per rollout (batch = num_envs x num_steps)"},
      {"ppo.learning_rate", &c.ppo.learning_rate, "Adam step size before annealing"},
      {"ppo.anneal_lr", &c.ppo.anneal_lr, "decay the learning rate linearly to 0 over the run"},
      {"ppo.adam_eps", &c.ppo.adam_eps, "Adam epsilon"},
      {"ppo.gamma", &c.ppo.gamma, "discount per step (15 s)"},
      {"ppo.gae_lambda", &c.ppo.gae_lambda, "GAE lambda"},
      {"ppo.num_minibatches", &c.ppo.num_minibatches, "minibatches per epoch"},
      {"ppo.update_epochs", &c.ppo.update_epochs, "epochs over each rollout"},
      {"ppo.norm_adv", &c.ppo.norm_adv, "normalise advantages"},
      {"ppo.norm_adv_scope", &c.ppo.norm_adv_scope, "\"rollout\" (once over the rollout) or \"minibatch\" (CleanRL)"},
      {"ppo.per_task_adv", &c.ppo.per_task_adv, "normalise each task's advantages separately"},
      {"ppo.clip_coef", &c.ppo.clip_coef, "surrogate clipping coefficient"},
      {"ppo.clip_vloss", &c.ppo.clip_vloss, "clip the value loss around the old values"},
      {"ppo.ent_coef", &c.ppo.ent_coef, "entropy bonus coefficient"},
      {"ppo.autoscale_ent_coef", &c.ppo.autoscale_ent_coef,
       "entropy bonus coefficient of the autoscale rows (< 0: ppo.ent_coef)"},
      {"ppo.vf_coef", &c.ppo.vf_coef, "value loss coefficient"},
      {"ppo.max_grad_norm", &c.ppo.max_grad_norm, "global gradient-norm clip"},
      {"ppo.target_kl", &c.ppo.target_kl, "stop the update's epochs once approx_kl exceeds it (0: never)"},
      {"ppo.norm_reward", &c.ppo.norm_reward,
       "divide each task's rewards by the running std of its discounted return (gymnasium's NormalizeReward)"},
      {"ppo.clip_reward", &c.ppo.clip_reward, "clip the scaled rewards to [-clip_reward, clip_reward] (0: never)"},
      {"aux.diagnosis_weight", &c.aux.diagnosis_weight, "weight of the supervised diagnosis loss (0: off, the ablation)"},
      {"aux.diagnosis_pointer", &c.aux.diagnosis_pointer, "include the root-cause token (pointer) loss"},
      {"aux.no_claim_label", &c.aux.no_claim_label,
       "label steps before any onset and control episodes \"no claim\" (false: skip them)"},
      {"aux.label_delay_s", &c.aux.label_delay_s,
       "label a fault only once it has run this many seconds (\"no claim\" before): when the claim may come"},
      {"teacher.incident", &c.teacher.incident,
       "a baseline the learner is also taught to imitate on its own incident states (kickstarting), e.g. \"oracle_late\"; \"\": none"},
      {"teacher.autoscale", &c.teacher.autoscale, "the same for the autoscale rows, e.g. \"oracle_trend\"; \"\": none"},
      {"teacher.weight", &c.teacher.weight, "weight of the imitation loss at the start"},
      {"teacher.until", &c.teacher.until, "share of run.total_steps over which the weight decays linearly to 0"},
      {"teacher.action_weight", &c.teacher.action_weight,
       "weight of the rows where the teacher acts (not all zeros) against its waiting rows (1: alike)"},
      {"eval.every", &c.eval.every,
       "updates between evaluations on held-out seeds (0: off); the best is kept as checkpoints/best.pt"},
      {"eval.episodes", &c.eval.episodes, "episodes per task per evaluation"},
      {"eval.seed", &c.eval.seed,
       "evaluation seed S (episode k runs with 2^40 + S + k): validation seeds, apart from opsrl eval's 2^40 + k"},
      {"log.progress", &c.log.progress, "\"auto\" (in place on a TTY), \"lines\" or \"off\""},
  });
  return keys;
}

void apply_toml(std::vector<ConfigKey>& keys, std::string_view text, const std::string& origin) {
  toml::table root;
  try {
    root = toml::parse(text, std::string_view(origin));
  } catch (const toml::parse_error& e) {
    throw ConfigError(fmt::format("{}: {}", where(origin, e.source()), e.description()));
  }
  for (auto&& [section_key, section_node] : root) {
    const std::string section(section_key.str());
    const toml::table* table = section_node.as_table();
    if (!table || known_keys_of(keys, section).empty())
      throw ConfigError(fmt::format("{}: unknown {} \"{}\"; known sections: {}", where(origin, section_key.source()),
                                    table ? "section" : "key", section, known_sections(keys)));
    for (auto&& [key, node] : *table) {
      const std::string name = fmt::format("{}.{}", section, key.str());
      auto it = std::find_if(keys.begin(), keys.end(), [&](const ConfigKey& k) { return k.name == name; });
      if (it == keys.end())
        throw ConfigError(fmt::format("{}: unknown key \"{}\"; known keys in [{}]: {}", where(origin, key.source()), name,
                                      section, known_keys_of(keys, section)));
      if (const std::string err = assign(*it, node); !err.empty())
        throw ConfigError(fmt::format("{}: {}", where(origin, node.source()), err));
    }
  }
}

void apply_toml(TrainConfig& config, std::string_view text, const std::string& origin) {
  std::vector<ConfigKey> keys = config_keys(config);
  apply_toml(keys, text, origin);
}

std::string read_config_text(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) throw ConfigError(fmt::format("{}: cannot open the config file", path.string()));
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TrainConfig load_config_file(const std::filesystem::path& path, TrainConfig base) {
  apply_toml(base, read_config_text(path), path.string());
  return base;
}

std::string_view embedded_config_text(std::string_view name) {
  for (const EmbeddedFile& f : configs::embedded_files())
    if (f.name == name) return f.text;
  throw std::logic_error(fmt::format("train/configs/{}.toml is not embedded", name));
}

std::string_view default_config_text() { return embedded_config_text("default"); }

TrainConfig default_config() {
  TrainConfig c;
  apply_toml(c, default_config_text(), "<embedded train/configs/default.toml>");
  return c;
}

void apply_override(std::vector<ConfigKey>& keys, std::string_view assignment) {
  const auto eq = assignment.find('=');
  if (eq == std::string_view::npos || eq == 0)
    throw ConfigError(fmt::format("--set {}: expected KEY=VALUE, e.g. ppo.clip_coef=0.1", assignment));
  const std::string name(assignment.substr(0, eq));
  const std::string value(assignment.substr(eq + 1));
  auto it = std::find_if(keys.begin(), keys.end(), [&](const ConfigKey& k) { return k.name == name; });
  if (it == keys.end()) {
    const std::string section = section_of(name);
    const std::string known = known_keys_of(keys, section);
    throw ConfigError(fmt::format("--set {}: unknown key \"{}\"; {}", assignment, name,
                                  known.empty() ? fmt::format("known sections: {}", known_sections(keys))
                                                : fmt::format("known keys in [{}]: {}", section, known)));
  }
  toml::table parsed;
  bool ok = true;
  try {
    const std::string doc = fmt::format("v = {}", value);
    parsed = toml::parse(std::string_view(doc), std::string_view("--set"));
  } catch (const toml::parse_error&) {
    ok = false;
  }
  if (std::holds_alternative<std::string*>(it->target) && (!ok || !parsed["v"].is_string())) {
    *std::get<std::string*>(it->target) = value;  // bare text for a string key
    return;
  }
  if (!ok) throw ConfigError(fmt::format("--set {}: {} must be {}, got \"{}\"", assignment, name, type_name(*it), value));
  if (const std::string err = assign(*it, *parsed.get("v")); !err.empty())
    throw ConfigError(fmt::format("--set {}: {}", assignment, err));
}

void apply_override(TrainConfig& config, std::string_view assignment) {
  std::vector<ConfigKey> keys = config_keys(config);
  apply_override(keys, assignment);
}

std::string to_toml(const std::vector<ConfigKey>& keys, std::string_view title) {
  std::string out = fmt::format("# {}\n", title);
  std::string last;
  for (const ConfigKey& k : keys) {
    const std::string section = section_of(k.name);
    if (section != last) {
      out += fmt::format("\n[{}]\n", section);
      last = section;
    }
    const std::string value = std::visit(
        [](auto* p) -> std::string {
          using T = std::remove_pointer_t<decltype(p)>;
          if constexpr (std::is_same_v<T, bool>) return *p ? "true" : "false";
          else if constexpr (std::is_same_v<T, double>) return format_double(*p);
          else if constexpr (std::is_same_v<T, std::string>) return quote(*p);
          else return fmt::format("{}", *p);
        },
        k.target);
    out += fmt::format("{} = {}  # {}\n", k.name.substr(section.size() + 1), value, k.doc);
  }
  return out;
}

void TrainConfig::validate() const {
  require(run.seed >= 0 && run.seed < (std::int64_t{1} << 39), "run.seed must be in [0, 2^39), got {}", run.seed);
  require(run.total_steps > 0, "run.total_steps must be > 0, got {}", run.total_steps);
  require(run.device == "cpu" || run.device.rfind("cuda", 0) == 0, "run.device must be \"cpu\", \"cuda\" or \"cuda:N\", got \"{}\"",
          run.device);
  require(run.threads >= 0, "run.threads must be >= 0 (0: every core), got {}", run.threads);
  require(run.checkpoint_every >= 0, "run.checkpoint_every must be >= 0, got {}", run.checkpoint_every);
  require(run.keep_checkpoints >= 0, "run.keep_checkpoints must be >= 0, got {}", run.keep_checkpoints);
  require(env.incident_envs >= 0 && env.autoscale_envs >= 0 && num_envs() > 0,
          "env.incident_envs and env.autoscale_envs must be >= 0 with at least one env, got {} and {}",
          env.incident_envs, env.autoscale_envs);
  require(env.incident_difficulty == "easy" || env.incident_difficulty == "medium" || env.incident_difficulty == "hard",
          "env.incident_difficulty must be \"easy\", \"medium\" or \"hard\", got \"{}\"", env.incident_difficulty);
  require(env.history >= 1, "env.history must be >= 1, got {}", env.history);
  require(env.max_tokens >= 0, "env.max_tokens must be >= 0, got {}", env.max_tokens);
  require(env.threads >= 0, "env.threads must be >= 0 (0: every core), got {}", env.threads);
  for (const auto& [key, text, empty_ok] : {std::tuple{"env.autoscale_episode_length", env.autoscale_episode_length, false},
                                            std::tuple{"env.autoscale_diurnal_period", env.autoscale_diurnal_period, true}}) {
    if (empty_ok && text.empty()) continue;
    try {
      require(sim::parse_duration(text) > 0, "{} must be > 0, got \"{}\"", key, text);
    } catch (const ConfigError&) {
      throw;
    } catch (const std::exception& e) {
      throw ConfigError(fmt::format("{} must be a duration such as \"2h\" or \"90m\", got \"{}\" ({})", key, text, e.what()));
    }
  }
  policy.validate();
  require(ppo.num_steps >= 1, "ppo.num_steps must be >= 1, got {}", ppo.num_steps);
  require(ppo.learning_rate > 0, "ppo.learning_rate must be > 0, got {}", ppo.learning_rate);
  require(ppo.adam_eps > 0, "ppo.adam_eps must be > 0, got {}", ppo.adam_eps);
  require(ppo.gamma >= 0 && ppo.gamma <= 1, "ppo.gamma must be in [0, 1], got {}", ppo.gamma);
  require(ppo.gae_lambda >= 0 && ppo.gae_lambda <= 1, "ppo.gae_lambda must be in [0, 1], got {}", ppo.gae_lambda);
  require(ppo.num_minibatches >= 1 && ppo.num_minibatches <= batch_size(),
          "ppo.num_minibatches must be in [1, batch size], got num_minibatches = {}, batch size = num_envs x num_steps = {}",
          ppo.num_minibatches, batch_size());
  require(batch_size() % ppo.num_minibatches == 0,
          "ppo.num_minibatches must divide the batch size, got num_minibatches = {}, batch size = num_envs x num_steps = {}",
          ppo.num_minibatches, batch_size());
  require(ppo.update_epochs >= 1, "ppo.update_epochs must be >= 1, got {}", ppo.update_epochs);
  require(ppo.norm_adv_scope == "rollout" || ppo.norm_adv_scope == "minibatch",
          "ppo.norm_adv_scope must be \"rollout\" or \"minibatch\", got \"{}\"", ppo.norm_adv_scope);
  require(ppo.clip_coef > 0, "ppo.clip_coef must be > 0, got {}", ppo.clip_coef);
  require(ppo.ent_coef >= 0, "ppo.ent_coef must be >= 0, got {}", ppo.ent_coef);
  require(ppo.vf_coef >= 0, "ppo.vf_coef must be >= 0, got {}", ppo.vf_coef);
  require(ppo.max_grad_norm > 0, "ppo.max_grad_norm must be > 0, got {}", ppo.max_grad_norm);
  require(ppo.clip_reward >= 0, "ppo.clip_reward must be >= 0 (0: never clip), got {}", ppo.clip_reward);
  require(ppo.target_kl >= 0, "ppo.target_kl must be >= 0 (0: never stop early), got {}", ppo.target_kl);
  require(aux.diagnosis_weight >= 0, "aux.diagnosis_weight must be >= 0 (0: off), got {}", aux.diagnosis_weight);
  require(aux.label_delay_s >= 0, "aux.label_delay_s must be >= 0, got {}", aux.label_delay_s);
  require(teacher.weight >= 0, "teacher.weight must be >= 0 (0: off), got {}", teacher.weight);
  require(teacher.until >= 0 && teacher.until <= 1, "teacher.until must be in [0, 1] (a share of run.total_steps), got {}",
          teacher.until);
  require(teacher.action_weight > 0, "teacher.action_weight must be > 0, got {}", teacher.action_weight);
  require(eval.every >= 0, "eval.every must be >= 0 (0: off), got {}", eval.every);
  require(eval.episodes >= 1, "eval.episodes must be >= 1, got {}", eval.episodes);
  require(eval.seed >= 0, "eval.seed must be >= 0, got {}", eval.seed);
  require(log.progress == "auto" || log.progress == "lines" || log.progress == "off",
          "log.progress must be \"auto\", \"lines\" or \"off\", got \"{}\"", log.progress);
}

std::string to_toml(const TrainConfig& config) {
  TrainConfig copy = config;
  return to_toml(config_keys(copy), "opsrl train: resolved configuration (docs/training.md describes every key)");
}

}  // namespace opsrl::train
