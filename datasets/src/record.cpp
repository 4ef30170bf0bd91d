// The recording loop: policy -> VecEnv -> EpisodeRecorder -> (reorder by k) -> Writer.
//
//   policy.act --> vec.step --> recorder: env i's episode e ended = episode k = i + e*N
//        ^                          |      k < episodes: hold until k-1 is written, then append
//        '---- begin_episode(i) <---'
#include <opsrl/datasets/record.hpp>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>

#include <fmt/format.h>
#include <oneapi/tbb/info.h>

#include <opsrl/datasets/format.hpp>
#include <opsrl/datasets/recorder.hpp>
#include <opsrl/datasets/spec_json.hpp>
#include <opsrl/envs/actions.hpp>
#include <opsrl/envs/env.hpp>
#include <opsrl/sim/scenario.hpp>

namespace opsrl::datasets {

namespace {
using Clock = std::chrono::steady_clock;
}  // namespace

bool noise_skips(double p, std::uint64_t episode_seed, int step) {
  if (p <= 0) return false;
  // splitmix64 of (seed, step): independent of the env that ran the episode and of the RNGs
  // the simulator and the policy use.
  std::uint64_t x = episode_seed * 0x9E3779B97F4A7C15ULL + static_cast<std::uint64_t>(step) + 0x6F70737260DA7A00ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  x ^= x >> 31;
  return static_cast<double>(x >> 11) * 0x1.0p-53 < p;
}

void act_with_noise(PolicyHooks& policy, const envs::VecEnv& vec, const EpisodeRecorder& recorder, double p,
                    std::span<std::int32_t> intended, std::span<std::int32_t> executed) {
  if (p <= 0) {
    policy.act(vec, executed);
    return;
  }
  policy.propose(vec, intended);
  std::copy(intended.begin(), intended.end(), executed.begin());
  const auto A = static_cast<std::size_t>(vec.action_width());
  for (int i = 0; i < vec.size(); ++i) {
    const std::span<std::int32_t> row = executed.subspan(static_cast<std::size_t>(i) * A, A);
    const Episode& ep = recorder.current(i);
    if (noise_skips(p, ep.meta.seed, ep.steps())) {
      if (vec.spec(i).task_id == envs::TaskId::kIncident) {
        // Only the remediation: the diagnosis claim changes nothing in the cluster, and letting
        // it through also records claimed incidents whose remedy is still to come.
        row[envs::incident::kVerb] = 0;
        row[envs::incident::kTarget] = 0;
      } else {
        std::fill(row.begin(), row.end(), 0);
      }
    }
    policy.observe(vec, i, row);
  }
}

int default_envs(int episodes, int num_threads) {
  const int threads = num_threads > 0 ? num_threads : tbb::info::default_concurrency();
  return std::max(1, std::min({episodes, 4 * threads, 32}));
}

PolicyArena::PolicyArena(int threads) {
  if (threads > 1) arena_ = std::make_unique<tbb::task_arena>(threads);
}

envs::EnvSpec spec_of(const std::string& task, const envs::EnvConfigPtr& config) {
  return envs::make_env(task, config)->spec();
}

std::string scenario_text(const std::string& name_or_path) {
  if (const std::string_view builtin = sim::builtin_scenario_text(name_or_path); !builtin.empty())
    return std::string(builtin);
  std::ifstream in(name_or_path, std::ios::binary);
  if (!in)
    throw std::invalid_argument(fmt::format("scenario \"{}\": neither a built-in scenario nor a readable file", name_or_path));
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

DatasetHeader simulator_header(const envs::EnvConfig& config, const envs::EnvSpec& spec, std::string policy,
                               std::uint64_t policy_seed, const std::string& scenario_name_or_path, std::string difficulty,
                               std::string command) {
  DatasetHeader h;
  h.source = std::string(kSourceSimulator);
  h.spec = spec;
  h.env_config_json = config_to_json(config);
  h.scenario = config.scenario ? config.scenario->name : spec.scenario;
  h.scenario_toml = scenario_text(scenario_name_or_path);
  h.scenario_hash = scenario_hash(h.scenario_toml);
  h.policy = std::move(policy);
  h.policy_seed = policy_seed;
  h.difficulty = std::move(difficulty);
  h.command = std::move(command);
  return h;
}

RecordResult record(PolicyHooks& policy, const RecordOptions& o, Writer& writer) {
  if (o.episodes < 1) throw std::invalid_argument(fmt::format("record: episodes must be >= 1, got {}", o.episodes));
  if (o.num_envs < 0) throw std::invalid_argument(fmt::format("record: num_envs must be >= 0 (0: automatic), got {}", o.num_envs));
  if (o.num_threads < 0)
    throw std::invalid_argument(fmt::format("record: num_threads must be >= 0 (0: every core), got {}", o.num_threads));
  if (!o.config) throw std::invalid_argument("record: config is required");
  if (!(o.action_noise >= 0 && o.action_noise < 1))
    throw std::invalid_argument(fmt::format("record: action_noise must be a probability in [0, 1), got {}", o.action_noise));
  if (writer.header().action_noise != o.action_noise)
    throw std::invalid_argument(fmt::format("record: the writer's header says action_noise {} but the recording uses {}",
                                            writer.header().action_noise, o.action_noise));
  const auto start = Clock::now();
  const int N = o.num_envs > 0 ? std::min(o.episodes, o.num_envs) : default_envs(o.episodes, o.num_threads);
  envs::VecEnvOptions vo;
  vo.tasks = {{o.task, N}};
  vo.config = o.config;
  vo.seed = o.seed;  // env i's episode e: seed + i + e*N = seed + k
  vo.num_threads = o.num_threads;
  vo.auto_reset = true;
  envs::VecEnv vec(vo);
  const envs::EnvSpec& spec = vec.spec(0);
  const EpisodeShape want = EpisodeShape::of(writer.header().spec);
  const EpisodeShape got = EpisodeShape::of(spec);
  if (want.tokens != got.tokens || want.features != got.features || want.mask_width != got.mask_width ||
      want.action_width != got.action_width || writer.header().spec.task != spec.task)
    throw std::invalid_argument("record: the writer's header was made for another task or config than the one recorded");

  PolicyArena arena(vec.num_threads());
  vec.reset();
  policy.reset(vec);
  EpisodeRecorder recorder(vec, {true, policy.name, writer.header().scenario_hash});
  recorder.begin(vec);

  std::vector<std::int32_t> actions(static_cast<std::size_t>(N) * static_cast<std::size_t>(vec.action_width()), 0);
  std::vector<std::int32_t> intended(o.action_noise > 0 ? actions.size() : 0, 0);
  std::map<std::int64_t, Episode> pending;  // finished out of order, waiting for their turn
  std::int64_t next = 0;
  RecordResult r;
  auto write = [&](Episode& ep) {
    const auto t0 = Clock::now();
    writer.append(ep);
    r.write_seconds += std::chrono::duration<double>(Clock::now() - t0).count();
    ++r.episodes;
    r.steps += ep.steps();
    ++next;
    if (o.progress) o.progress(r.episodes, o.episodes, r.steps);
  };
  while (next < o.episodes) {
    arena.run([&] { act_with_noise(policy, vec, recorder, o.action_noise, intended, actions); });
    vec.step(actions);
    recorder.step(vec, actions, [&](int i, Episode& ep) {
      const std::int64_t e = vec.episode(i) - 1;  // the automatic reset has started episode e + 1
      const std::int64_t k = i + e * N;
      if (k >= o.episodes) return;
      if (k == next) {
        write(ep);
        for (auto it = pending.find(next); it != pending.end(); it = pending.find(next)) {
          write(it->second);
          pending.erase(it);
        }
      } else {
        pending.emplace(k, std::move(ep));
      }
    }, intended);
    for (int i = 0; i < N; ++i)
      if (vec.terminated()[static_cast<std::size_t>(i)] || vec.truncated()[static_cast<std::size_t>(i)])
        policy.begin_episode(vec, i);
  }
  r.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return r;
}

}  // namespace opsrl::datasets
