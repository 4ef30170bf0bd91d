// Evaluation: the episode loop over a VecEnv, the aggregate figures and their JSON form.
//
//   policy.act (in a task_arena of num_threads) --> VecEnv::step (same thread count)
//        ^                                              |  env i's episode e ended: record it as
//        '--- begin_episode(i) <------------------------'  episode k = i + e*N if k < episodes
#include <opsrl/agents/evaluate.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <memory>
#include <optional>
#include <stdexcept>

#include <fmt/format.h>
#include <oneapi/tbb/task_arena.h>

#include <opsrl/envs/env.hpp>
#include <opsrl/envs/vec_env.hpp>

namespace opsrl::agents {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr int kDefaultEnvs = 32;

}  // namespace

void EvalOptions::validate() const {
  const std::vector<std::string> tasks = envs::registered_tasks();
  if (std::find(tasks.begin(), tasks.end(), task) == tasks.end()) {
    std::string known;
    for (const std::string& t : tasks) known += (known.empty() ? "" : ", ") + t;
    throw std::invalid_argument(fmt::format("evaluate: unknown task \"{}\"; expected one of {}", task, known));
  }
  if (episodes < 1) throw std::invalid_argument(fmt::format("evaluate: episodes must be >= 1, got {}", episodes));
  if (num_envs < 0) throw std::invalid_argument(fmt::format("evaluate: num_envs must be >= 0 (0: automatic), got {}", num_envs));
  if (num_threads < 0)
    throw std::invalid_argument(fmt::format("evaluate: num_threads must be >= 0 (0: every core), got {}", num_threads));
  if (seed >= kEvalSeedOffset)
    throw std::invalid_argument(fmt::format("evaluate: seed must be < 2^40 so that evaluation seeds 2^40 + seed + k stay apart "
                                            "from training seeds, got {}",
                                            seed));
}

double student_t975(int dof) {
  if (dof < 1) throw std::invalid_argument(fmt::format("student_t975: dof must be >= 1, got {}", dof));
  static constexpr std::array<double, 30> kTable{
      12.7062047, 4.3026527, 3.1824463, 2.7764451, 2.5705818, 2.4469119, 2.3646243, 2.3060041, 2.2621572, 2.2281389,
      2.2009852,  2.1788128, 2.1603687, 2.1447867, 2.1314495, 2.1199053, 2.1098155, 2.1009220, 2.0930241, 2.0859634,
      2.0796138,  2.0738731, 2.0686576, 2.0638986, 2.0595386, 2.0555294, 2.0518305, 2.0484071, 2.0452296, 2.0422725};
  if (dof <= 30) return kTable[static_cast<std::size_t>(dof - 1)];
  // Cornish-Fisher expansion around the normal quantile (error < 1e-6 from 30 degrees up).
  const double z = 1.959963984540054, v = dof;
  const double z3 = z * z * z, z5 = z3 * z * z, z7 = z5 * z * z, z9 = z7 * z * z;
  const double g1 = (z3 + z) / 4;
  const double g2 = (5 * z5 + 16 * z3 + 3 * z) / 96;
  const double g3 = (3 * z7 + 19 * z5 + 17 * z3 - 15 * z) / 384;
  const double g4 = (79 * z9 + 776 * z7 + 1482 * z5 - 1920 * z3 - 945 * z) / 92160;
  return z + g1 / v + g2 / (v * v) + g3 / (v * v * v) + g4 / (v * v * v * v);
}

MeanCI mean_ci(const std::vector<double>& samples) {
  MeanCI r;
  r.n = static_cast<int>(samples.size());
  if (r.n == 0) return r;
  double sum = 0;
  for (double x : samples) sum += x;
  r.mean = sum / r.n;
  if (r.n < 2) return r;
  double ss = 0;
  for (double x : samples) ss += (x - r.mean) * (x - r.mean);
  r.ci95 = student_t975(r.n - 1) * std::sqrt(ss / (r.n - 1) / r.n);
  return r;
}

EvalSummary summarize(const std::string& task, const std::vector<EpisodeRecord>& episodes) {
  EvalSummary s;
  s.task = task;
  s.episodes = static_cast<int>(episodes.size());
  const bool incident = task == "incident";
  std::vector<double> ret, ttd, ttdiag, mttr, mttr_resolved, slo, cost, replica_cost, replica_hours, mean_replicas, actions,
      wrong, invalid, escalations;
  for (const EpisodeRecord& r : episodes) {
    const envs::EpisodeStats& e = r.stats;
    ret.push_back(e.return_);
    slo.push_back(e.slo_violation_minutes);
    cost.push_back(e.cost_usd());
    replica_cost.push_back(e.replica_cost_usd);
    replica_hours.push_back(e.replica_hours);
    mean_replicas.push_back(e.elapsed_s > 0 ? e.replica_hours / (e.elapsed_s / 3600.0) : 0.0);
    actions.push_back(e.actions);
    wrong.push_back(e.wrong_actions);
    invalid.push_back(e.invalid_actions);
    escalations.push_back(e.escalations);
    if (!incident) continue;
    if (e.control || e.num_faults == 0) {
      ++s.control_episodes;
      ++s.false_positive.n;
      s.false_positive.k += e.false_positive;
      continue;
    }
    ++s.fault_episodes;
    for (Rate* rate : {&s.detection, &s.localization, &s.rca, &s.mitigation}) ++rate->n;
    s.detection.k += e.detected;
    s.localization.k += e.root_correct;
    s.rca.k += e.type_correct;
    s.mitigation.k += e.resolved;
    if (e.detected && e.time_to_detect_s >= 0) ttd.push_back(e.time_to_detect_s / 60);
    if (e.time_to_diagnose_s >= 0) ttdiag.push_back(e.time_to_diagnose_s / 60);
    if (e.resolved) {
      mttr.push_back(e.time_to_recover_s / 60);
      mttr_resolved.push_back(e.time_to_recover_s / 60);
    } else {
      mttr.push_back(std::max(0.0, e.elapsed_s - e.first_onset_s) / 60);
    }
  }
  s.return_ = mean_ci(ret);
  s.time_to_detect_min = mean_ci(ttd);
  s.time_to_diagnose_min = mean_ci(ttdiag);
  s.mttr_min = mean_ci(mttr);
  s.mttr_resolved_min = mean_ci(mttr_resolved);
  s.slo_violation_min = mean_ci(slo);
  s.cost_usd = mean_ci(cost);
  s.replica_cost_usd = mean_ci(replica_cost);
  s.replica_hours = mean_ci(replica_hours);
  s.mean_replicas = mean_ci(mean_replicas);
  s.actions = mean_ci(actions);
  s.wrong_actions = mean_ci(wrong);
  s.invalid_actions = mean_ci(invalid);
  s.escalations = mean_ci(escalations);
  return s;
}

std::vector<FaultSummary> summarize_by_fault(const std::string& task, const std::vector<EpisodeRecord>& episodes) {
  std::vector<FaultSummary> out;
  for (int t = 0; t < sim::kNumFaultTypes; ++t) {
    const auto type = static_cast<sim::FaultType>(t);
    std::vector<EpisodeRecord> some;
    for (const EpisodeRecord& r : episodes)
      if (r.stats.num_faults > 0 && r.stats.faults[0].type == type) some.push_back(r);
    if (!some.empty()) out.push_back({type, summarize(task, some)});
  }
  return out;
}

std::vector<Figure> figures(const EvalSummary& s) {
  std::vector<Figure> f;
  auto mean = [&](std::string key, std::string label, const MeanCI& m) {
    f.push_back({std::move(key), std::move(label), m.mean, m.ci95, m.n, -1});
  };
  auto rate = [&](std::string key, std::string label, const Rate& r) {
    f.push_back({std::move(key), std::move(label), r.value(), kNaN, r.n, r.k});
  };
  auto count = [&](std::string key, std::string label, int n) {
    f.push_back({std::move(key), std::move(label), static_cast<double>(n), kNaN, n, -1});
  };
  count("episodes", "episodes", s.episodes);
  if (s.task == "incident") {
    count("fault_episodes", "  with faults", s.fault_episodes);
    count("control_episodes", "  control (no fault)", s.control_episodes);
    mean("return", "return (mean, 95% CI)", s.return_);
    rate("detection_rate", "detection rate", s.detection);
    rate("false_positive_rate", "false-positive rate (control)", s.false_positive);
    rate("localization_accuracy", "localization accuracy", s.localization);
    rate("rca_accuracy", "RCA accuracy (fault type)", s.rca);
    rate("mitigation_rate", "mitigation rate (resolved)", s.mitigation);
    mean("time_to_detect_min", "time to detect (min)", s.time_to_detect_min);
    mean("time_to_diagnose_min", "time to diagnose (min)", s.time_to_diagnose_min);
    mean("mttr_min", "MTTR, unresolved at limit (min)", s.mttr_min);
    mean("mttr_resolved_min", "MTTR, resolved only (min)", s.mttr_resolved_min);
    mean("slo_violation_min", "SLO violation (min/episode)", s.slo_violation_min);
    mean("cost_usd", "cost (USD/episode)", s.cost_usd);
    mean("actions", "actions/episode", s.actions);
    mean("wrong_actions", "wrong actions/episode", s.wrong_actions);
    mean("invalid_actions", "invalid actions/episode", s.invalid_actions);
    mean("escalations", "escalations/episode", s.escalations);
  } else {
    mean("return", "return (mean, 95% CI)", s.return_);
    mean("slo_violation_min", "SLO violation (min/episode)", s.slo_violation_min);
    mean("replica_cost_usd", "replica cost (USD/episode)", s.replica_cost_usd);
    mean("mean_replicas", "mean replicas", s.mean_replicas);
    mean("actions", "scaling actions/episode", s.actions);
    mean("invalid_actions", "invalid actions/episode", s.invalid_actions);
  }
  return f;
}

EvalResult evaluate(Policy& policy, const EvalOptions& options) {
  options.validate();
  const auto start = std::chrono::steady_clock::now();
  const int episodes = options.episodes;
  const int N = std::min(episodes, options.num_envs > 0 ? options.num_envs : kDefaultEnvs);
  envs::VecEnvOptions vo;
  vo.tasks = {{options.task, N}};
  vo.config = options.config ? options.config : envs::make_config();
  vo.seed = eval_seed(options.seed, 0);  // env i's episode e: eval_seed(seed, i + e*N)
  vo.num_threads = options.num_threads;
  vo.auto_reset = true;
  envs::VecEnv vec(vo);
  if (const std::string why = policy.unsupported_reason(vec.spec(0).task_id); !why.empty())
    throw std::invalid_argument(fmt::format("policy {} does not support task {}: {}", policy.name(), options.task, why));

  // The policy acts in an arena of the same size as the VecEnv's, so num_threads bounds both.
  std::unique_ptr<tbb::task_arena> arena;
  if (vec.num_threads() > 1) arena = std::make_unique<tbb::task_arena>(vec.num_threads());
  vec.reset();
  policy.reset(vec);

  std::vector<std::int32_t> actions(static_cast<std::size_t>(N) * static_cast<std::size_t>(vec.action_width()), 0);
  std::vector<std::optional<EpisodeRecord>> got(static_cast<std::size_t>(episodes));
  int done = 0;
  while (done < episodes) {
    if (arena) arena->execute([&] { policy.act(vec, actions); });
    else policy.act(vec, actions);
    vec.step(actions);
    for (int i = 0; i < N; ++i) {
      if (!vec.terminated()[static_cast<std::size_t>(i)] && !vec.truncated()[static_cast<std::size_t>(i)]) continue;
      const std::int64_t e = vec.episode(i) - 1;  // the automatic reset has started episode e + 1
      const std::int64_t k = i + e * N;
      if (k < episodes) {
        got[static_cast<std::size_t>(k)] = EpisodeRecord{static_cast<int>(k), vec.episode_seed(i, e), vec.final_info(i).episode};
        ++done;
        if (options.progress) options.progress(done, episodes);
      }
      policy.begin_episode(vec, i);
    }
  }

  EvalResult r;
  r.policy = std::string(policy.name());
  r.episodes.reserve(got.size());
  for (auto& g : got) r.episodes.push_back(std::move(*g));
  r.summary = summarize(options.task, r.episodes);
  r.wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return r;
}

// ---- JSON -------------------------------------------------------------------------------

namespace {

std::string quote(std::string_view s) {
  std::string out = "\"";
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      default:
        if (c < 0x20) out += fmt::format("\\u{:04x}", c);
        else out += ch;
    }
  }
  return out + "\"";
}

// Shortest round-trip form; JSON has no NaN or infinity: null.
std::string number(double x) { return std::isfinite(x) ? fmt::format("{}", x) : "null"; }

template <typename T, typename F>
std::string array(const std::vector<T>& v, F&& f) {
  std::string out = "[";
  for (std::size_t i = 0; i < v.size(); ++i) out += (i ? ", " : "") + f(v[i]);
  return out + "]";
}

}  // namespace

std::string to_json(const EvalRun& run, const std::vector<EvalResult>& results) {
  std::string out = "{\n";
  out += "  \"format\": \"opsrl-eval\",\n  \"version\": 1,\n";
  out += fmt::format("  \"task\": {},\n  \"scenario\": {},\n  \"difficulty\": {},\n", quote(run.task), quote(run.scenario),
                     run.difficulty.empty() ? "null" : quote(run.difficulty));
  out += fmt::format("  \"episodes\": {},\n  \"seed\": {},\n", run.episodes, run.seed);
  out += fmt::format("  \"eval_seeds\": {{\"first\": {}, \"count\": {}, \"rule\": \"2^40 + seed + k\"}},\n",
                     eval_seed(run.seed, 0), run.episodes);
  out += fmt::format("  \"command\": {},\n", quote(run.command));
  out += "  \"policies\": [";
  for (std::size_t p = 0; p < results.size(); ++p) {
    const EvalResult& r = results[p];
    out += p ? ",\n    {\n" : "\n    {\n";
    out += fmt::format("      \"policy\": {},\n      \"figures\": {{\n", quote(r.policy));
    const std::vector<Figure> fs = figures(r.summary);
    for (std::size_t i = 0; i < fs.size(); ++i) {
      const Figure& f = fs[i];
      out += fmt::format("        {}: {{\"value\": {}, \"ci95\": {}, \"n\": {}{}}}{}\n", quote(f.key), number(f.value),
                         number(f.ci95), f.n, f.k >= 0 ? fmt::format(", \"k\": {}", f.k) : "", i + 1 < fs.size() ? "," : "");
    }
    out += "      },\n      \"by_fault\": {";
    const std::vector<FaultSummary> by_fault = summarize_by_fault(r.summary.task, r.episodes);
    for (std::size_t i = 0; i < by_fault.size(); ++i) {
      const EvalSummary& f = by_fault[i].summary;
      out += fmt::format("{}\n        {}: {{\"episodes\": {}, \"mitigation_rate\": {}, \"rca_accuracy\": {}, \"mttr_min\": {}, "
                         "\"slo_violation_min\": {}}}",
                         i ? "," : "", quote(sim::fault_info(by_fault[i].type).name), f.episodes, number(f.mitigation.value()),
                         number(f.rca.value()), number(f.mttr_min.mean), number(f.slo_violation_min.mean));
    }
    out += by_fault.empty() ? "},\n" : "\n      },\n";
    out += "      \"episodes\": {\n";
    const auto& eps = r.episodes;
    auto col = [&](std::string_view key, auto&& f, bool last = false) {
      out += fmt::format("        {}: {}{}\n", quote(key), array(eps, f), last ? "" : ",");
    };
    col("seed", [](const EpisodeRecord& e) { return fmt::format("{}", e.seed); });
    col("fault", [](const EpisodeRecord& e) {
      return e.stats.num_faults > 0 ? quote(sim::fault_info(e.stats.faults[0].type).name) : std::string("null");
    });
    col("return", [](const EpisodeRecord& e) { return number(e.stats.return_); });
    col("steps", [](const EpisodeRecord& e) { return fmt::format("{}", e.stats.steps); });
    col("resolved", [](const EpisodeRecord& e) { return e.stats.resolved ? std::string("true") : std::string("false"); });
    col("time_to_recover_min", [](const EpisodeRecord& e) {
      return e.stats.time_to_recover_s >= 0 ? number(e.stats.time_to_recover_s / 60) : std::string("null");
    });
    col("slo_violation_min", [](const EpisodeRecord& e) { return number(e.stats.slo_violation_minutes); });
    col("cost_usd", [](const EpisodeRecord& e) { return number(e.stats.cost_usd()); });
    col("actions", [](const EpisodeRecord& e) { return fmt::format("{}", e.stats.actions); }, true);
    out += "      }\n    }";
  }
  out += results.empty() ? "]\n}\n" : "\n  ]\n}\n";
  return out;
}

}  // namespace opsrl::agents
