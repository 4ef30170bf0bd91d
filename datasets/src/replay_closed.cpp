// Closed-loop replay: re-simulate each recorded episode (scenario, config, seed) with the given
// policy acting, record it as the recorder would, and set it beside the recorded one.
#include <algorithm>

#include <fmt/format.h>

#include <opsrl/datasets/format.hpp>
#include <opsrl/datasets/recorder.hpp>

#include "replay_common.hpp"

namespace opsrl::datasets {

ClosedLoopResult replay_closed_loop(const Reader& reader, PolicyHooks& policy, const ReplayOptions& o) {
  return replay_closed_loop(reader, policy, o, {});
}

ClosedLoopResult replay_closed_loop(const Reader& reader, PolicyHooks& policy, const ReplayOptions& o,
                                    const std::function<void(int episode, const Episode& replayed)>& sink) {
  if (!reader.simulated())
    throw DatasetError(reader.path().string(), "/@source",
                       fmt::format("is \"{}\": closed-loop replay re-simulates episodes, which needs a simulator recording "
                                   "(use open-loop replay for imported data)",
                                   reader.header().source),
                       fmt::format("source = \"{}\" with its env config", kSourceSimulator));
  const detail::Range range = detail::episode_range(reader, o);
  const envs::EnvConfigPtr config = recorded_config(reader);
  const envs::EnvSpec& spec = reader.spec();
  std::vector<std::uint64_t> seeds;
  for (int k = range.first; k < range.first + range.count; ++k) seeds.push_back(reader.read_meta(k).meta.seed);
  const std::vector<detail::Batch> plan = detail::batches(seeds, range.first, o.num_envs > 0 ? o.num_envs : default_envs(range.count, o.num_threads));

  ClosedLoopResult result;
  int done = 0;
  for (const detail::Batch& b : plan) {
    envs::VecEnvOptions vo;
    vo.tasks = {{spec.task, b.size}};
    vo.config = config;
    vo.seed = b.seed;
    vo.num_threads = o.num_threads;
    vo.auto_reset = false;
    envs::VecEnv vec(vo);
    if (vec.spec(0).max_tokens != spec.max_tokens || vec.spec(0).mask_width != spec.mask_width ||
        vec.spec(0).action_width != spec.action_width || vec.spec(0).feature_width != spec.feature_width)
      throw DatasetError(reader.path().string(), "/@env_spec",
                         "the env rebuilt from the stored scenario and config has other shapes than the stored spec",
                         "the shapes of /@env_spec");
    PolicyArena arena(vec.num_threads());
    vec.reset();
    policy.reset(vec);
    EpisodeRecorder recorder(vec, {false, policy.name, reader.header().scenario_hash});
    recorder.begin(vec);
    std::vector<Episode> replayed(static_cast<std::size_t>(b.size));
    int running = b.size;
    std::vector<std::int32_t> actions(static_cast<std::size_t>(b.size) * static_cast<std::size_t>(vec.action_width()), 0);
    // The recording's action noise acts on the replaying policy too: the same policy then
    // reproduces the episode, another one meets the same skipped steps.
    const double noise = reader.header().action_noise;
    std::vector<std::int32_t> intended(noise > 0 ? actions.size() : 0, 0);
    while (running > 0) {
      arena.run([&] { act_with_noise(policy, vec, recorder, noise, intended, actions); });
      vec.step(actions);
      recorder.step(vec, actions, [&](int i, Episode& ep) {
        replayed[static_cast<std::size_t>(i)] = std::move(ep);
        --running;
      }, intended);
    }
    for (int j = 0; j < b.size; ++j) {
      const int k = b.first + j;
      const Episode recorded = reader.read(k);
      const Episode& mine = replayed[static_cast<std::size_t>(j)];
      ClosedLoopEpisode c;
      c.episode = k;
      c.seed = recorded.meta.seed;
      c.recorded = Outcome::of(recorded.meta, recorded.steps(), !recorded.faults.empty());
      c.replayed = Outcome::of(mine.meta, mine.steps(), !mine.faults.empty());
      c.difference = first_difference(recorded, mine);
      if (sink) sink(k, mine);
      result.episodes.push_back(std::move(c));
      if (o.progress) o.progress(++done, range.count);
    }
  }
  return result;
}

}  // namespace opsrl::datasets
