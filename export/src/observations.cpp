// Observation batches for parity checks and the deployment example (observations.hpp).
#include <opsrl/export/observations.hpp>

#include <algorithm>
#include <cstring>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <opsrl/envs/action_sampler.hpp>
#include <opsrl/envs/actions.hpp>
#include <opsrl/envs/config.hpp>
#include <opsrl/envs/env.hpp>
#include <opsrl/envs/features.hpp>
#include <opsrl/envs/vec_env.hpp>
#include <opsrl/export/metadata.hpp>
#include <opsrl/export/policy_graph.hpp>
#include <opsrl/sim/cluster.hpp>
#include <opsrl/sim/rng.hpp>

namespace opsrl::exporter {

namespace {

int incident_mask_width(int T) { return envs::incident::MaskLayout{T}.width(); }
int autoscale_mask_width(int T) { return envs::autoscale::MaskLayout{T}.width(); }

template <typename T>
RawArray raw(std::string name, std::string dtype, std::vector<std::int64_t> shape, std::span<const T> data) {
  RawArray a{std::move(name), std::move(dtype), std::move(shape), {}};
  a.bytes.assign(reinterpret_cast<const char*>(data.data()), data.size_bytes());
  return a;
}

envs::EnvConfigPtr env_config(const std::string& scenario, int max_tokens, int history) {
  envs::EnvConfig c;
  c.scenario = sim::load_scenario(scenario);
  c.max_tokens = max_tokens;
  c.history = history;
  c.autoscale.placement = true;  // every autoscale head has choices
  return envs::make_config(c);
}

}  // namespace

envs::ObservationBatch random_observations(const RandomObservationOptions& o) {
  const int B = o.batch, T = o.tokens, F = o.feature_width;
  if (B < 1 || T < 1 || F < 1)
    throw ExportError(fmt::format("random observations need batch, tokens, feature_width >= 1, got {}, {}, {}", B, T, F));
  const int M = o.autoscale_only ? autoscale_mask_width(T) : incident_mask_width(T);
  envs::ObservationBatch batch(B, T, F, M);
  sim::Rng rng(o.seed, sim::Stream::kPolicy, 0xE4);
  for (int b = 0; b < B; ++b) {
    const envs::ObservationView v = batch.view(b);
    const int real = 1 + static_cast<int>(rng.below(static_cast<std::uint64_t>(T)));  // the global token and more
    for (int t = 0; t < T; ++t) {
      const bool is_real = t < real;
      const int type = t == 0 ? 0 : is_real ? 1 + static_cast<int>(rng.below(3)) : 4;
      v.token_type[t] = type;
      v.valid[t] = is_real ? 1 : 0;
      float* row = v.features + static_cast<std::ptrdiff_t>(t) * F;
      for (int f = 0; f < F; ++f) {
        if (!is_real) {
          row[f] = 0.0f;
          continue;
        }
        // Mostly O(1) values, some far outside the normaliser's clip, some exact zeros.
        const double u = rng.uniform();
        row[f] = static_cast<float>(u < 0.03 ? rng.uniform(-60.0, 60.0) : u < 0.1 ? 0.0 : rng.normal(0.2, 1.5));
      }
      const auto link = [&] { return rng.bernoulli(0.2) ? -1 : static_cast<int>(rng.below(static_cast<std::uint64_t>(real))); };
      v.links[2 * t] = type == 3 ? link() : -1;
      v.links[2 * t + 1] = type == 3 ? link() : -1;
    }
    v.task_id[0] = o.autoscale_only ? 1 : static_cast<int>(rng.below(2));
    // Masks: usually half the choices, sometimes a few, sometimes none at all (an empty head).
    const double u = rng.uniform();
    const double p = u < 0.1 ? 0.0 : u < 0.3 ? 0.08 : 0.5;
    for (int m = 0; m < M; ++m) v.action_mask[m] = rng.bernoulli(p) ? 1 : 0;
  }
  return batch;
}

std::vector<ObservationSet> env_observations(const EnvObservationOptions& o) {
  envs::VecEnvOptions vo;
  if (o.incident > 0) vo.tasks.push_back({"incident", o.incident});
  if (o.autoscale > 0) vo.tasks.push_back({"autoscale", o.autoscale});
  vo.config = env_config(o.scenario, o.max_tokens, o.history);
  vo.seed = o.seed;
  vo.num_threads = 1;
  envs::VecEnv vec(vo);
  vec.reset();
  const int N = vec.size(), A = vec.action_width(), M = vec.mask_width();
  const auto label = [&](int step) {
    return fmt::format("env {}{} B={} T={} step {}", o.scenario, o.max_tokens > 0 ? " padded" : "", N,
                       vec.max_tokens(), step);
  };
  std::vector<ObservationSet> sets{{label(0), vec.observations(), A}};
  sim::Rng rng(o.seed, sim::Stream::kActions, 0xE4);
  std::vector<std::int32_t> actions(static_cast<std::size_t>(N) * A);
  for (int step = 1; step <= o.steps; ++step) {
    std::fill(actions.begin(), actions.end(), 0);
    const std::uint8_t* masks = vec.observations().action_mask().data();
    for (int i = 0; i < N; ++i)
      envs::sample_action(vec.spec(i), masks + static_cast<std::ptrdiff_t>(i) * M, rng,
                          std::span<std::int32_t>(actions).subspan(static_cast<std::size_t>(i) * A, vec.spec(i).action_width),
                          /*p_default=*/0.5);
    vec.step(actions);
    if (o.every > 0 && step % o.every == 0) sets.push_back({label(step), vec.observations(), A});
  }
  return sets;
}

int history_for_width(int feature_width) {
  if (envs::feature::Layout(4).feature_width == feature_width) return 4;
  for (int h = 1; h <= 64; ++h)
    if (envs::feature::Layout(h).feature_width == feature_width) return h;
  return 0;
}

std::vector<ObservationSet> verification_sets(int feature_width, int history, std::uint64_t seed) {
  std::vector<ObservationSet> sets;
  const std::pair<int, int> shapes[] = {{1, 1}, {3, 5}, {17, 23}, {64, 60}};
  for (std::size_t k = 0; k < std::size(shapes); ++k) {
    const auto [B, T] = shapes[k];
    sets.push_back({fmt::format("random B={} T={}", B, T),
                    random_observations({B, T, feature_width, seed * 16 + k, /*autoscale_only=*/false}), 0});
  }
  sets.push_back({"random autoscale-only B=9 T=12 (5T-wide masks)", random_observations({9, 12, feature_width, seed * 16 + 15, true}),
                  0});
  if (history <= 0) history = history_for_width(feature_width);
  if (history <= 0 || envs::feature::Layout(history).feature_width != feature_width) return sets;
  const EnvObservationOptions envs_sets[] = {
      {"small", 0, history, 3, 3, 4, 4, seed},
      {"small", 24, history, 2, 2, 3, 3, seed + 1},
      {"default", 0, history, 4, 4, 6, 3, seed + 2},
  };
  for (const EnvObservationOptions& e : envs_sets)
    for (ObservationSet& s : env_observations(e)) sets.push_back(std::move(s));
  return sets;
}

std::vector<RawArray> model_inputs(const envs::ObservationBatch& obs) {
  const std::int64_t B = obs.num_envs(), T = obs.max_tokens(), F = obs.feature_width(), M = obs.mask_width();
  return {raw<float>("features", "float32", {B, T, F}, obs.features()),
          raw<std::int32_t>("token_type", "int32", {B, T}, obs.token_type()),
          raw<std::uint8_t>("valid", "uint8", {B, T}, obs.valid()),
          raw<std::int32_t>("links", "int32", {B, T, 2}, obs.links()),
          raw<std::int32_t>("task_id", "int32", {B}, obs.task_id()),
          raw<std::uint8_t>("action_mask", "uint8", {B, M}, obs.action_mask())};
}

std::string sample_observation_json(const SampleObservationOptions& o) {
  envs::EnvConfig c;
  c.scenario = sim::load_scenario(o.scenario);
  c.history = o.history;
  const auto env = envs::make_env(o.task, envs::make_config(c));
  const envs::EnvSpec& spec = env->spec();
  envs::ObservationBatch obs = envs::ObservationBatch::for_spec(spec, 1);
  env->reset(o.seed, obs.view(0));
  const std::vector<std::int32_t> noop(static_cast<std::size_t>(spec.action_width), 0);
  int steps = 0;
  for (; steps < o.steps && !env->episode_over(); ++steps) env->step(noop, obs.view(0));

  const int T = obs.max_tokens(), F = obs.feature_width();
  std::vector<std::string> rows, names, links;
  for (int t = 0; t < T; ++t) {
    rows.push_back(fmt::format("[{}]", fmt::join(obs.features().subspan(static_cast<std::size_t>(t) * F, F), ",")));
    links.push_back(fmt::format("[{},{}]", obs.links()[2 * t], obs.links()[2 * t + 1]));
    const envs::TokenType type = env->tokens().type_of(t);
    names.push_back(json_string(type == envs::TokenType::kGlobal    ? "cluster"
                                : type == envs::TokenType::kPadding ? "padding"
                                                                    : env->cluster().entity_name(env->tokens().entity_of(t))));
  }
  std::vector<int> mask(obs.action_mask().begin(), obs.action_mask().end()), valid(obs.valid().begin(), obs.valid().end());
  std::vector<std::string> truth;
  const envs::EpisodeStats& e = env->info().episode;
  for (int k = 0; k < e.num_faults; ++k) {
    const envs::FaultTruth& f = e.faults[static_cast<std::size_t>(k)];
    truth.push_back(fmt::format(R"({{"fault": {}, "root_token": {}, "root": {}, "onset_s": {}, "active": {}}})",
                                json_string(sim::fault_info(f.type).name), f.root_token,
                                json_string(f.root_token >= 0 ? env->cluster().entity_name(env->tokens().entity_of(f.root_token))
                                                              : ""),
                                f.onset_s, f.active ? "true" : "false"));
  }
  return fmt::format(
      "{{\n"
      R"("format": "opsrl-observation 1", "task": {}, "scenario": {}, "seed": {}, "step": {}, "control_episode": {},)"
      "\n"
      R"("ground_truth": [{}],)"
      "\n"
      R"("token_names": [{}],)"
      "\n"
      R"("task_id": {},)"
      "\n"
      R"("token_type": [{}],)"
      "\n"
      R"("valid": [{}],)"
      "\n"
      R"("links": [{}],)"
      "\n"
      R"("action_mask": [{}],)"
      "\n"
      R"("features": [)"
      "\n{}\n]\n}}\n",
      json_string(o.task), json_string(o.scenario), o.seed, steps, e.control ? "true" : "false", fmt::join(truth, ", "),
      fmt::join(names, ", "), obs.task_id()[0], fmt::join(obs.token_type(), ","), fmt::join(valid, ","), fmt::join(links, ","),
      fmt::join(mask, ","), fmt::join(rows, ",\n"));
}

}  // namespace opsrl::exporter
