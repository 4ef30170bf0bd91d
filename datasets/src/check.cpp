// `opsrl dataset check`: every rule of docs/datasets.md, each failure reported with its
// in-file path, none of them fatal to the check itself.
#include <opsrl/datasets/check.hpp>

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>

#include <fmt/format.h>

#include <opsrl/datasets/format.hpp>
#include <opsrl/datasets/header.hpp>
#include <opsrl/datasets/spec_json.hpp>
#include <opsrl/sim/faults.hpp>
#include <opsrl/sim/scenario.hpp>

#include "h5.hpp"
#include "layout.hpp"

namespace opsrl::datasets {

namespace {

enum class AttrKind { kString, kInteger, kNumber };

class Checker {
 public:
  Checker(CheckReport& report, hid_t root) : r_(report), root_(root) {}

  void run() {
    root_attributes();
    episodes();
  }

 private:
  void problem(std::string path, std::string message) { r_.problems.push_back({std::move(path), std::move(message)}); }

  // An attribute of the expected kind; reports and returns false otherwise.
  bool attr(hid_t obj, const std::string& where, const char* name, AttrKind kind) {
    const std::string path = fmt::format("{}/@{}", where == "/" ? "" : where, name);
    if (!h5::has_attr(obj, name)) {
      problem(path, "missing attribute");
      return false;
    }
    try {
      const h5::StoredType t = h5::attr_type(obj, name);
      const bool ok = kind == AttrKind::kString    ? t.cls == H5T_STRING
                      : kind == AttrKind::kInteger ? t.cls == H5T_INTEGER
                                                   : (t.cls == H5T_INTEGER || t.cls == H5T_FLOAT);
      if (!ok) {
        problem(path, fmt::format("is {}, expected {}", t.name(),
                                  kind == AttrKind::kString ? "a string" : kind == AttrKind::kInteger ? "an integer" : "a number"));
        return false;
      }
    } catch (const h5::Failure& e) {
      problem(path, e.what());
      return false;
    }
    return true;
  }

  std::optional<std::string> string_attr(hid_t obj, const std::string& where, const char* name) {
    if (!attr(obj, where, name, AttrKind::kString)) return std::nullopt;
    try {
      return h5::read_attr_string(obj, name);
    } catch (const h5::Failure& e) {
      problem(fmt::format("{}/@{}", where == "/" ? "" : where, name), e.what());
      return std::nullopt;
    }
  }

  template <typename T>
  std::optional<T> number_attr(hid_t obj, const std::string& where, const char* name, AttrKind kind) {
    if (!attr(obj, where, name, kind)) return std::nullopt;
    try {
      return h5::read_attr<T>(obj, name);
    } catch (const h5::Failure& e) {
      problem(fmt::format("{}/@{}", where == "/" ? "" : where, name), e.what());
      return std::nullopt;
    }
  }

  void root_attributes() {
    if (const auto f = string_attr(root_, "/", key::kFormat); f && *f != kFormatName)
      problem("/@format", fmt::format("is \"{}\", expected \"{}\"", *f, kFormatName));
    if (const auto v = number_attr<std::int64_t>(root_, "/", key::kVersion, AttrKind::kInteger); v && (*v < 1 || *v > kFormatVersion))
      problem("/@version", fmt::format("unknown format version {} (this build reads 1..{})", *v, kFormatVersion));
    if (!h5::has_attr(root_, key::kComplete)) {
      problem("/@complete",
              "missing: unfinished file (its writer never closed it: interrupted, crashed or still writing)");
    } else {
      const std::int64_t complete = number_attr<std::int64_t>(root_, "/", key::kComplete, AttrKind::kInteger).value_or(1);
      if (complete != 1) problem("/@complete", fmt::format("is {}, expected 1 (a finished file)", complete));
    }

    if (const auto s = string_attr(root_, "/", key::kEnvSpec)) {
      try {
        spec_ = spec_from_json(*s);
      } catch (const std::invalid_argument& e) {
        problem("/@env_spec", fmt::format("{} (expected the env spec as JSON, docs/datasets.md)", e.what()));
      }
    }
    source_ = string_attr(root_, "/", key::kSource).value_or("");
    if (!source_.empty() && source_ != kSourceSimulator && source_ != kSourceNezha && source_ != kSourcePrometheus)
      problem("/@source", fmt::format("unknown source \"{}\" (expected \"{}\", \"{}\" or \"{}\")", source_, kSourceSimulator,
                                      kSourceNezha, kSourcePrometheus));
    for (const char* k : {key::kScenario, key::kPolicy, key::kDifficulty, key::kCommand, key::kNotes}) string_attr(root_, "/", k);
    number_attr<std::uint64_t>(root_, "/", key::kPolicySeed, AttrKind::kInteger);
    if (h5::has_attr(root_, key::kActionNoise))
      if (const auto noise = number_attr<double>(root_, "/", key::kActionNoise, AttrKind::kNumber); noise && !(*noise >= 0 && *noise < 1))
        problem("/@action_noise", fmt::format("is {}, expected a probability in [0, 1)", *noise));
    const auto toml = string_attr(root_, "/", key::kScenarioToml);
    hash_ = string_attr(root_, "/", key::kScenarioHash).value_or("");
    if (toml && !hash_.empty() && scenario_hash(*toml) != hash_)
      problem("/@scenario_hash", fmt::format("is {} but the stored scenario text hashes to {}", hash_, scenario_hash(*toml)));
    sim::ScenarioPtr scenario;
    if (toml) {
      try {
        scenario = sim::parse_scenario(*toml, "scenario_toml");
      } catch (const std::exception& e) {
        problem("/@scenario_toml", fmt::format("not a valid scenario: {}", e.what()));
      }
    }
    if (const auto cfg = string_attr(root_, "/", key::kEnvConfig)) {
      if (source_ == kSourceSimulator && cfg->empty())
        problem("/@env_config", "empty, but a simulator recording needs its env config to be re-simulated");
      if (!cfg->empty() && scenario) {
        try {
          config_from_json(*cfg, scenario);
        } catch (const std::exception& e) {
          problem("/@env_config", e.what());
        }
      }
    }
    total_episodes_ = number_attr<std::int64_t>(root_, "/", key::kTotalEpisodes, AttrKind::kInteger);
    total_steps_ = number_attr<std::int64_t>(root_, "/", key::kTotalSteps, AttrKind::kInteger);
  }

  void episodes() {
    std::vector<std::string> names;
    try {
      names = h5::children(root_);
    } catch (const h5::Failure& e) {
      problem("/", e.what());
      return;
    }
    std::map<int, std::string> found;
    for (const std::string& n : names) {
      const std::string_view prefix = key::kEpisodePrefix;
      const bool numbered = n.size() > prefix.size() && n.compare(0, prefix.size(), prefix) == 0 &&
                            n.find_first_not_of("0123456789", prefix.size()) == std::string::npos &&
                            n.size() - prefix.size() <= 9;
      if (!numbered) {
        problem("/" + n, "unexpected member of the root (expected only episode_<k> groups)");
        continue;
      }
      found.emplace(std::stoi(n.substr(prefix.size())), n);
    }
    const int n = static_cast<int>(found.size());
    for (int k = 0; k < n; ++k)
      if (!found.count(k)) problem(episode_group(k), fmt::format("missing: {} episode groups but no episode_{}", n, k));
    if (total_episodes_ && *total_episodes_ != n)
      problem("/@total_episodes", fmt::format("is {} but the file holds {} episode groups", *total_episodes_, n));
    for (const auto& [k, name] : found) {
      const std::string path = "/" + name;
      if (!h5::is_group(root_, name)) {
        problem(path, "is not a group");
        continue;
      }
      const h5::Group g(H5Gopen2(root_, name.c_str(), H5P_DEFAULT));
      if (!g.valid()) {
        problem(path, "cannot open the group (corrupted or truncated file?)");
        continue;
      }
      ++r_.episodes;
      episode(path, g.get());
    }
    if (total_steps_ && *total_steps_ != r_.steps)
      problem("/@total_steps", fmt::format("is {} but the episodes hold {} steps", *total_steps_, r_.steps));
  }

  // Reads one array if it has the expected form; reports and returns false otherwise.
  template <typename T>
  bool array(hid_t g, const std::string& where, const layout::ArrayForm& f, std::vector<T>& out) {
    const std::string path = where + "/" + f.path;
    if (!h5::is_dataset(g, f.path)) {
      problem(path, fmt::format("missing (expected {})", layout::expected_form(f)));
      return false;
    }
    try {
      const h5::ArrayInfo info = h5::array_info(g, f.path);
      if (!info.type.is(f.elem) || info.dims != f.dims) {
        problem(path, fmt::format("is {} {}, expected {}", info.type.name(), layout::dims_string(info.dims), layout::expected_form(f)));
        return false;
      }
      out.resize(info.elements());
      if (!out.empty()) h5::read_array(g, f.path, f.elem, out.data(), out.size());
      return true;
    } catch (const h5::Failure& e) {
      problem(path, e.what());
      return false;
    }
  }

  template <typename T>
  void finite(const std::string& path, const std::vector<T>& v, std::size_t row) {
    std::size_t bad = 0, first = 0;
    for (std::size_t i = 0; i < v.size(); ++i)
      if (!std::isfinite(v[i]) && bad++ == 0) first = i;
    if (bad) problem(path, fmt::format("{} NaN or infinite values (first at row {})", bad, first / std::max<std::size_t>(row, 1)));
  }

  template <typename T>
  void in_range(const std::string& path, const std::vector<T>& v, long lo, long hi, const char* what) {
    std::size_t bad = 0, first = 0;
    for (std::size_t i = 0; i < v.size(); ++i)
      if ((v[i] < lo || v[i] > hi) && bad++ == 0) first = i;
    if (bad)
      problem(path, fmt::format("{} values outside {} (first: {} at element {})", bad, what, static_cast<long>(v[first]), first));
  }

  void episode(const std::string& where, hid_t g) {
    // T from the rewards, else from the actions, else from the steps attribute.
    int T = -1;
    for (const char* name : {key::kRewards, key::kActions}) {
      if (T >= 0 || !h5::is_dataset(g, name)) continue;
      try {
        const h5::ArrayInfo info = h5::array_info(g, name);
        if (!info.dims.empty()) T = static_cast<int>(info.dims[0]);
      } catch (const h5::Failure&) {
      }
    }
    const auto steps_attr = number_attr<std::int64_t>(g, where, "steps", AttrKind::kInteger);
    if (T < 0 && steps_attr) T = static_cast<int>(*steps_attr);
    if (T < 1) {
      problem(where, "cannot tell the episode's length: no readable rewards, actions or steps (expected T >= 1 rows)");
      return;
    }
    r_.steps += T;
    if (steps_attr && *steps_attr != T)
      problem(where + "/@steps", fmt::format("is {} but the arrays hold {} steps", *steps_attr, T));
    if (!spec_) {
      problem(where, "arrays not checked: no valid /@env_spec to check them against");
      return;
    }
    const envs::EnvSpec& spec = *spec_;
    const EpisodeShape shape = EpisodeShape::of(spec);
    const auto forms = layout::episode_arrays(shape, T);
    auto form = [&](std::string_view name) -> const layout::ArrayForm& {
      return *std::find_if(forms.begin(), forms.end(), [&](const auto& f) { return f.path == name; });
    };
    const auto Tok = static_cast<std::size_t>(shape.tokens);
    std::vector<float> features;
    if (array(g, where, form("observations/features"), features))
      finite(where + "/observations/features", features, Tok * static_cast<std::size_t>(shape.features));
    std::vector<std::int32_t> i32;
    std::vector<std::uint8_t> u8;
    if (array(g, where, form("observations/token_type"), i32))
      in_range(where + "/observations/token_type", i32, 0, envs::kNumTokenTypes - 1, "the token types 0..4");
    if (array(g, where, form("observations/valid"), u8)) in_range(where + "/observations/valid", u8, 0, 1, "{0, 1}");
    if (array(g, where, form("observations/links"), i32))
      in_range(where + "/observations/links", i32, -1, shape.tokens - 1, fmt::format("-1..{}", shape.tokens - 1).c_str());
    if (array(g, where, form("observations/task_id"), i32)) {
      const auto id = static_cast<long>(spec.task_id);
      in_range(where + "/observations/task_id", i32, id, id, fmt::format("the spec's task id {}", id).c_str());
    }
    if (array(g, where, form("observations/action_mask"), u8)) in_range(where + "/observations/action_mask", u8, 0, 1, "{0, 1}");
    array(g, where, form(key::kInfoActionMask), u8);
    if (array(g, where, form(key::kActions), i32)) actions(where + "/actions", i32, spec);
    if (h5::is_dataset(g, key::kIntendedActions) &&
        array(g, where, layout::intended_actions_form(shape, T), i32))
      actions(where + "/" + key::kIntendedActions, i32, spec);
    std::vector<double> rewards, components, time;
    const bool have_rewards = array(g, where, form(key::kRewards), rewards);
    if (have_rewards) finite(where + "/rewards", rewards, 1);
    std::vector<std::uint8_t> term, trunc;
    if (array(g, where, form(key::kTerminations), term) && array(g, where, form(key::kTruncations), trunc))
      endings(where, term, trunc);
    if (array(g, where, form(key::kRewardComponents), components)) {
      finite(where + "/" + key::kRewardComponents, components, static_cast<std::size_t>(shape.reward_components));
      if (have_rewards) sums(where, rewards, components, static_cast<std::size_t>(shape.reward_components));
    }
    if (array(g, where, form(key::kActionOutcome), i32)) in_range(where + "/" + key::kActionOutcome, i32, 0, 1 << 20, ">= 0");
    if (array(g, where, form(key::kTime), time)) {
      finite(where + "/" + key::kTime, time, 1);
      for (std::size_t i = 1; i < time.size(); ++i)
        if (time[i] < time[i - 1]) {
          problem(where + "/" + key::kTime, fmt::format("decreases at row {} ({} after {})", i, time[i], time[i - 1]));
          break;
        }
    }
    ground_truth(where, g, spec);
    meta(where, g, spec, have_rewards ? &rewards : nullptr);
  }

  void actions(const std::string& path, const std::vector<std::int32_t>& rows, const envs::EnvSpec& spec) {
    const auto A = static_cast<std::size_t>(spec.action_width);
    for (const envs::ActionHeadSpec& h : spec.action_heads) {
      std::size_t bad = 0, first = 0;
      for (std::size_t r = 0; r < rows.size() / A; ++r)
        for (int e = 0; e < h.count; ++e) {
          const std::int32_t v = rows[r * A + static_cast<std::size_t>(h.column + e)];
          if ((v < 0 || v >= h.choices) && bad++ == 0) first = r;
        }
      if (bad)
        problem(path, fmt::format("head {}: {} values outside 0..{} (first at row {})", h.name, bad, h.choices - 1, first));
    }
  }

  void endings(const std::string& where, const std::vector<std::uint8_t>& term, const std::vector<std::uint8_t>& trunc) {
    const std::size_t T = term.size();
    for (std::size_t i = 0; i + 1 < T; ++i)
      if (term[i] || trunc[i]) {
        problem(where + (term[i] ? "/terminations" : "/truncations"),
                fmt::format("set at row {} before the last row {} (an episode ends once, at its last step)", i, T - 1));
        break;
      }
    if (T && !term[T - 1] && !trunc[T - 1])
      problem(where + "/terminations", "neither terminations nor truncations is set on the last row (an unfinished episode)");
    for (const auto* v : {&term, &trunc})
      for (std::uint8_t x : *v)
        if (x > 1) {
          problem(where + (v == &term ? "/terminations" : "/truncations"), fmt::format("holds {}, expected 0 or 1", x));
          break;
        }
  }

  void sums(const std::string& where, const std::vector<double>& rewards, const std::vector<double>& comps, std::size_t C) {
    for (std::size_t t = 0; t < rewards.size(); ++t) {
      double s = 0;
      for (std::size_t c = 0; c < C; ++c) s += comps[t * C + c];
      if (std::abs(s - rewards[t]) > 1e-6 * std::max(1.0, std::abs(rewards[t]))) {
        problem(where + "/rewards", fmt::format("row {} is {} but its reward components sum to {}", t, rewards[t], s));
        return;
      }
    }
  }

  void ground_truth(const std::string& where, hid_t g, const envs::EnvSpec& spec) {
    if (!h5::is_group(g, key::kGroundTruth)) {
      problem(where + "/" + key::kGroundTruth, "missing group (expected fault_type, root_token, severity, onset_s, mitigated_s)");
      return;
    }
    int K = -1;
    if (h5::is_dataset(g, key::kFaultType)) {
      try {
        const h5::ArrayInfo info = h5::array_info(g, key::kFaultType);
        if (info.dims.size() == 1) K = static_cast<int>(info.dims[0]);
      } catch (const h5::Failure&) {
      }
    }
    if (K < 0) {
      problem(where + "/" + key::kFaultType, "missing or not one-dimensional (expected int32 (K), one row per fault)");
      return;
    }
    const auto forms = layout::fault_arrays(K);
    std::vector<std::int32_t> type, root;
    std::vector<double> severity, onset, mitigated;
    if (array(g, where, forms[0], type))
      in_range(where + "/" + key::kFaultType, type, 0, sim::kNumFaultTypes - 1, "the fault catalogue's types");
    if (array(g, where, forms[1], root))
      in_range(where + "/" + key::kRootToken, root, 0, spec.max_tokens - 1, fmt::format("the tokens 0..{}", spec.max_tokens - 1).c_str());
    array(g, where, forms[2], severity);
    if (array(g, where, forms[3], onset)) finite(where + "/" + key::kOnset, onset, 1);
    if (array(g, where, forms[4], mitigated)) finite(where + "/" + key::kMitigated, mitigated, 1);
    if (const auto n = number_attr<std::int64_t>(g, where, "num_faults", AttrKind::kInteger); n && *n != K)
      problem(where + "/@num_faults", fmt::format("is {} but infos/ground_truth holds {} faults", *n, K));
  }

  void meta(const std::string& where, hid_t g, const envs::EnvSpec& spec, const std::vector<double>* rewards) {
    number_attr<std::uint64_t>(g, where, "seed", AttrKind::kInteger);
    if (const auto task = string_attr(g, where, "task"); task && *task != spec.task)
      problem(where + "/@task", fmt::format("is \"{}\" but the env spec's task is \"{}\"", *task, spec.task));
    if (const auto h = string_attr(g, where, "scenario_hash"); h && !hash_.empty() && *h != hash_)
      problem(where + "/@scenario_hash", fmt::format("is {} but the file's scenario hashes to {}", *h, hash_));
    const auto ret = number_attr<double>(g, where, "return", AttrKind::kNumber);
    if (ret && rewards) {
      double s = 0;
      for (double x : *rewards) s += x;
      if (!std::isfinite(*ret) || std::abs(s - *ret) > 1e-6 * std::max(1.0, std::abs(s)))
        problem(where + "/@return", fmt::format("is {} but the rewards sum to {}", *ret, s));
    }
    for (const char* name : {"terminated", "truncated", "resolved", "control"}) number_attr<std::int64_t>(g, where, name, AttrKind::kInteger);
  }

  CheckReport& r_;
  hid_t root_;
  std::optional<envs::EnvSpec> spec_;
  std::string source_, hash_;
  std::optional<std::int64_t> total_episodes_, total_steps_;
};

}  // namespace

CheckReport check_dataset(const std::filesystem::path& file) {
  CheckReport r;
  r.file = file.string();
  h5::File f;
  try {
    f = h5::open_file(r.file, false);
  } catch (const h5::Failure& e) {
    r.problems.push_back({"", e.what()});
    return r;
  }
  try {
    Checker(r, f.get()).run();
  } catch (const std::exception& e) {
    // A rule above let something through; still a report, never a crash.
    r.problems.push_back({"", fmt::format("check stopped early: {}", e.what())});
  }
  return r;
}

}  // namespace opsrl::datasets
