#pragma once
// Recording a policy's episodes into a dataset through the vectorized env.
//
//   auto policy = agents::make_policy("oracle", agents::PolicyOptions{}.with_seed(S));
//   PolicyHooks hooks = policy_hooks(*policy);    // datasets/ does not depend on agents/
//   Writer w("oracle.h5", simulator_header(*config, spec, hooks.name, S, "default", "", cmd));
//   record(hooks, {.task = "incident", .episodes = 100, .seed = S, .config = config}, w);
//   w.close();
//
// Seeds: episode k (0-based) is reset with seed S + k (the VecEnv's rule seed + i + e*N with
// k = i + e*N), and episodes are written in the order of k, so the file does not depend on the
// number of envs or threads. Each episode stores its seed; the root stores the policy, its seed,
// the env config and the scenario's TOML text, which is all a re-simulation needs.
//
// Parameter     Default     Meaning (RecordOptions)
// task          incident    the task recorded
// episodes      10          episodes written (k = 0 .. episodes-1)
// seed          0           S above
// config        required    the env config (make_config())
// num_envs      0           envs stepped together (0: default_envs()); the file does not depend on it
// num_threads   1           threads (0: every core); the file does not depend on it
// action_noise  0           probability per step that the policy's remediation is not run (incident:
//                           verb and target 0, its diagnosis claim goes through; autoscale: the
//                           all-zero row); the policy's own rows are kept as infos/intended_actions
// progress      none        called after each written episode with (episodes, total, steps so far)
//
// Action noise (DART, Laskey et al. 2017): a teacher recorded as it acts only visits the states
// its own actions lead to, so a clone that acts a little late or wrongly finds itself where no
// demonstration was. Skipping some of the teacher's steps lets the recording visit the states a
// delay leads to (a disk that keeps filling, a leak that keeps growing), each labelled with what
// the teacher would do there (intended_actions). Whether a step is skipped depends only on the
// episode's seed and the step index, so closed-loop replay re-applies it and a file does not
// depend on the number of envs.
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>

#include <oneapi/tbb/task_arena.h>

#include <opsrl/datasets/header.hpp>
#include <opsrl/datasets/writer.hpp>
#include <opsrl/envs/config.hpp>
#include <opsrl/envs/vec_env.hpp>

namespace opsrl::datasets {

// A policy as datasets/ sees it: agents::Policy's calls, bound as functions.
struct PolicyHooks {
  std::string name;
  std::function<void(const envs::VecEnv&)> reset;
  std::function<void(const envs::VecEnv&, int env)> begin_episode;
  std::function<void(const envs::VecEnv&, std::span<std::int32_t> actions)> act;
  std::function<void(const envs::VecEnv&, std::span<std::int32_t> actions)> propose;
  std::function<void(const envs::VecEnv&, int env, std::span<const std::int32_t> row)> observe;
};

// Binds any object with agents::Policy's reset / begin_episode / act / name (the policy must
// outlive the hooks).
template <typename P>
PolicyHooks policy_hooks(P& policy) {
  return {std::string(policy.name()), [&policy](const envs::VecEnv& v) { policy.reset(v); },
          [&policy](const envs::VecEnv& v, int env) { policy.begin_episode(v, env); },
          [&policy](const envs::VecEnv& v, std::span<std::int32_t> a) { policy.act(v, a); },
          [&policy](const envs::VecEnv& v, std::span<std::int32_t> a) { policy.propose(v, a); },
          [&policy](const envs::VecEnv& v, int env, std::span<const std::int32_t> row) { policy.observe(v, env, row); }};
}

struct RecordOptions {
  std::string task = "incident";
  int episodes = 10;
  std::uint64_t seed = 0;
  envs::EnvConfigPtr config;
  int num_envs = 0;
  int num_threads = 1;
  double action_noise = 0;
  std::function<void(int done, int total, std::int64_t steps)> progress;
};

struct RecordResult {
  int episodes = 0;
  std::int64_t steps = 0;
  double seconds = 0;         // wall time, recording and writing
  double write_seconds = 0;   // of which in Writer::append
};

// Runs the policy and appends options.episodes episodes to `writer` (which the caller closes).
// Throws std::invalid_argument for bad options.
RecordResult record(PolicyHooks& policy, const RecordOptions& options, Writer& writer);

class EpisodeRecorder;

// Whether action noise p skips step `step` of the episode seeded `episode_seed`.
bool noise_skips(double p, std::uint64_t episode_seed, int step);

// One step of the policy under action noise p. With p = 0: policy.act() into `executed`. Else
// policy.propose() into `intended`, `executed` = `intended` with the remediation of the skipped
// envs' rows removed (noise_skips over each env's current episode in `recorder`), then
// policy.observe() of the executed rows, so that a policy with memory knows its remedy did not
// happen.
void act_with_noise(PolicyHooks& policy, const envs::VecEnv& vec, const EpisodeRecorder& recorder, double p,
                    std::span<std::int32_t> intended, std::span<std::int32_t> executed);

// Envs stepped together when the caller leaves it to us: enough to keep `num_threads` threads
// (0: every core) busy, min(4 x threads, 32), and never more than `episodes`. Each env holds a
// whole episode in memory until it is written (max_episode_steps rows: 1.6 MB on `default`,
// 40 MB for a 2 h autoscale episode on `large`), so more envs than threads only cost memory.
int default_envs(int episodes, int num_threads);

// The TOML text of a built-in scenario name or a scenario file (std::invalid_argument if neither).
std::string scenario_text(const std::string& name_or_path);

// The root attributes of a simulator recording.
DatasetHeader simulator_header(const envs::EnvConfig& config, const envs::EnvSpec& spec, std::string policy,
                               std::uint64_t policy_seed, const std::string& scenario_name_or_path, std::string difficulty,
                               std::string command);

// The EnvSpec of `task` under `config` (builds one env).
envs::EnvSpec spec_of(const std::string& task, const envs::EnvConfigPtr& config);

// Runs fn(act) in an arena of `threads` threads when > 1, as the VecEnv does, so that a policy
// that parallelises with tbb stays within the thread budget.
class PolicyArena {
 public:
  explicit PolicyArena(int threads);
  template <typename F>
  void run(F&& f) {
    if (arena_) arena_->execute(std::forward<F>(f));
    else f();
  }

 private:
  std::unique_ptr<tbb::task_arena> arena_;
};

}  // namespace opsrl::datasets
