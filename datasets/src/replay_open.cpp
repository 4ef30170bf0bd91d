// Open-loop replay: the policy proposes, the recording disposes.
//
//   recorded episodes (a batch) --> VecEnv (re-simulated, or a carrier of recorded rows)
//        policy.act --> proposed rows: scored (claim, agreement)
//        simulator: step with the recorded remediation + the policy's claim columns
//        carrier:   write the next recorded observation into the slot
#include <algorithm>
#include <cstring>

#include <fmt/format.h>

#include <opsrl/datasets/format.hpp>
#include <opsrl/envs/actions.hpp>
#include <opsrl/envs/features.hpp>

#include "replay_common.hpp"

namespace opsrl::datasets {

namespace {

// What the claim-related parts of an observation are: the global token's claim feature and the
// incident mask's diagnosis-type row. Everything else must match the recording.
struct ClaimBits {
  bool incident = false;
  int claimed_column = -1;          // in token 0's feature row
  int mask_first = 0, mask_count = 0;
};

ClaimBits claim_bits(const envs::EnvSpec& spec) {
  ClaimBits c;
  c.incident = spec.task_id == envs::TaskId::kIncident;
  if (!c.incident) return c;
  c.claimed_column = envs::feature::Layout(spec.history).global.cur(envs::feature::kDiagnosisClaimed);
  c.mask_first = envs::incident::MaskLayout{spec.max_tokens}.diag_type();
  c.mask_count = envs::incident::kNumDiagTypes;
  return c;
}

// Whether the live observation slot equals recorded row t, outside the claim bits.
bool same_observation(const envs::ObservationBatch& b, int env, const Episode& ep, int t, const ClaimBits& cb) {
  const auto i = static_cast<std::size_t>(env), r = static_cast<std::size_t>(t);
  const auto T = static_cast<std::size_t>(ep.shape.tokens), F = static_cast<std::size_t>(ep.shape.features);
  const auto M = static_cast<std::size_t>(b.mask_width()), own = static_cast<std::size_t>(ep.shape.mask_width);
  const float* live = b.features().data() + i * T * F;
  const float* rec = ep.features.data() + r * T * F;
  const std::size_t col = cb.claimed_column < 0 ? T * F : static_cast<std::size_t>(cb.claimed_column);
  if (std::memcmp(live, rec, col * sizeof(float)) != 0) return false;
  if (col < T * F && std::memcmp(live + col + 1, rec + col + 1, (T * F - col - 1) * sizeof(float)) != 0) return false;
  const std::uint8_t* lm = b.action_mask().data() + i * M;
  const std::uint8_t* rm = ep.action_mask.data() + r * own;
  const auto m0 = static_cast<std::size_t>(cb.mask_first), m1 = m0 + static_cast<std::size_t>(cb.mask_count);
  if (cb.incident) {
    if (std::memcmp(lm, rm, m0) != 0 || std::memcmp(lm + m1, rm + m1, own - m1) != 0) return false;
  } else if (std::memcmp(lm, rm, own) != 0) {
    return false;
  }
  return std::memcmp(b.token_type().data() + i * T, ep.token_type.data() + r * T, T * sizeof(std::int32_t)) == 0 &&
         std::memcmp(b.valid().data() + i * T, ep.valid.data() + r * T, T) == 0 &&
         std::memcmp(b.links().data() + i * T * 2, ep.links.data() + r * T * 2, T * 2 * sizeof(std::int32_t)) == 0;
}

// Writes recorded row t into the carrier's slot; after the policy's own claim, the claim bits
// say so (as the live env would).
void write_observation(envs::ObservationBatch& b, int env, const Episode& ep, int t, const ClaimBits& cb, bool claimed) {
  envs::ObservationView v = b.view(env);
  const auto r = static_cast<std::size_t>(t);
  const auto T = static_cast<std::size_t>(ep.shape.tokens), F = static_cast<std::size_t>(ep.shape.features);
  const auto own = static_cast<std::size_t>(ep.shape.mask_width);
  std::memcpy(v.features, ep.features.data() + r * T * F, T * F * sizeof(float));
  std::memcpy(v.token_type, ep.token_type.data() + r * T, T * sizeof(std::int32_t));
  std::memcpy(v.valid, ep.valid.data() + r * T, T);
  std::memcpy(v.links, ep.links.data() + r * T * 2, T * 2 * sizeof(std::int32_t));
  *v.task_id = ep.task_id[r];
  std::memcpy(v.action_mask, ep.action_mask.data() + r * own, own);
  std::memset(v.action_mask + own, 0, static_cast<std::size_t>(v.mask_width) - own);
  if (cb.incident && claimed) {
    v.features[cb.claimed_column] = 1.0f;
    std::memset(v.action_mask + cb.mask_first, 0, static_cast<std::size_t>(cb.mask_count));
    v.action_mask[cb.mask_first + envs::incident::kNoClaim] = 1;
  }
}

// The policy's proposal for step t of a recorded episode: agreement and its first claim.
void score_step(OpenLoopEpisode& r, const Episode& ep, int t, const std::int32_t* proposed, bool incident) {
  const auto A = static_cast<std::size_t>(ep.shape.action_width);
  const std::int32_t* recorded = ep.actions.data() + static_cast<std::size_t>(t) * A;
  const bool row = std::equal(proposed, proposed + A, recorded);
  r.rows_matched += row;
  r.remediations_matched += incident ? (proposed[envs::incident::kVerb] == recorded[envs::incident::kVerb] &&
                                        proposed[envs::incident::kTarget] == recorded[envs::incident::kTarget])
                                     : row;
  if (!incident || r.claimed || proposed[envs::incident::kDiagType] == envs::incident::kNoClaim) return;
  r.claimed = true;
  r.claim_step = t;
  r.claim_time_s = ep.time_s[static_cast<std::size_t>(t)];
  r.claimed_type = static_cast<int>(envs::incident::fault_type_of(proposed[envs::incident::kDiagType]));
  r.claimed_token = proposed[envs::incident::kDiagTarget];
  const detail::ClaimScore s = detail::score_claim(ep.faults, r.claimed_type, r.claimed_token, r.claim_time_s);
  r.type_correct = s.type_correct;
  r.root_correct = s.root_correct;
  r.diagnosed = s.diagnosed;
  const double onset = ep.first_onset();
  if (onset >= 0) {
    r.claim_after_onset_s = r.claim_time_s - onset;
    if (s.diagnosed) r.time_to_diagnose_s = r.claim_time_s - onset;
  }
}

void check_shapes(const Reader& reader, const envs::VecEnv& vec) {
  const envs::EnvSpec& live = vec.spec(0);
  const envs::EnvSpec& rec = reader.spec();
  if (live.max_tokens != rec.max_tokens || live.feature_width != rec.feature_width || live.mask_width != rec.mask_width ||
      live.action_width != rec.action_width || live.task != rec.task)
    throw DatasetError(reader.path().string(), "/@env_spec",
                       fmt::format("the env rebuilt from the stored scenario and config has task {}, T = {}, F = {}, M = {}, A = {}",
                                   live.task, live.max_tokens, live.feature_width, live.mask_width, live.action_width),
                       fmt::format("task {}, T = {}, F = {}, M = {}, A = {} as stored", rec.task, rec.max_tokens,
                                   rec.feature_width, rec.mask_width, rec.action_width));
}

}  // namespace

OpenLoopResult replay_open_loop(const Reader& reader, PolicyHooks& policy, const ReplayOptions& o) {
  const detail::Range range = detail::episode_range(reader, o);
  const envs::EnvConfigPtr config = recorded_config(reader);
  const bool resim = reader.simulated();
  const envs::EnvSpec& spec = reader.spec();
  const bool incident = spec.task_id == envs::TaskId::kIncident;
  const ClaimBits cb = claim_bits(spec);
  const int max_batch = o.num_envs > 0 ? o.num_envs : default_envs(range.count, o.num_threads);

  std::vector<std::uint64_t> seeds;
  for (int k = range.first; k < range.first + range.count; ++k) seeds.push_back(reader.read_meta(k).meta.seed);
  // A carrier needs no particular seeds: one batch shape for every episode.
  std::vector<detail::Batch> plan;
  if (resim) {
    plan = detail::batches(seeds, range.first, max_batch);
  } else {
    for (int k = range.first; k < range.first + range.count; k += max_batch)
      plan.push_back({k, std::min(max_batch, range.first + range.count - k), 0});
  }

  OpenLoopResult result;
  result.resimulated = resim;
  int done = 0;
  for (const detail::Batch& b : plan) {
    envs::VecEnvOptions vo;
    vo.tasks = {{spec.task, b.size}};
    vo.config = config;
    vo.seed = b.seed;
    vo.num_threads = o.num_threads;
    vo.auto_reset = false;
    envs::VecEnv vec(vo);
    check_shapes(reader, vec);
    PolicyArena arena(vec.num_threads());
    std::vector<Episode> eps;
    std::vector<OpenLoopEpisode> res(static_cast<std::size_t>(b.size));
    int longest = 0;
    for (int j = 0; j < b.size; ++j) {
      eps.push_back(reader.read(b.first + j));
      OpenLoopEpisode& r = res[static_cast<std::size_t>(j)];
      r.episode = b.first + j;
      r.seed = eps.back().meta.seed;
      r.steps = eps.back().steps();
      r.faults = eps.back().faults;
      r.observations_diverged = resim ? 0 : -1;
      longest = std::max(longest, r.steps);
    }
    vec.reset();
    // The carrier's slots are the policy's input: VecEnv has no setter (its envs write them),
    // and its batch is a plain member, so writing through the const view is well defined.
    auto& carrier = const_cast<envs::ObservationBatch&>(vec.observations());
    if (!resim)
      for (int j = 0; j < b.size; ++j) write_observation(carrier, j, eps[static_cast<std::size_t>(j)], 0, cb, false);
    policy.reset(vec);
    const auto A = static_cast<std::size_t>(vec.action_width());
    std::vector<std::int32_t> proposed(A * static_cast<std::size_t>(b.size)), rows(proposed.size());
    for (int t = 0; t < longest; ++t) {
      if (resim)
        for (int j = 0; j < b.size; ++j) {
          const Episode& ep = eps[static_cast<std::size_t>(j)];
          if (t < ep.steps() && !same_observation(vec.observations(), j, ep, t, cb))
            ++res[static_cast<std::size_t>(j)].observations_diverged;
        }
      arena.run([&] { policy.act(vec, proposed); });
      std::fill(rows.begin(), rows.end(), 0);
      for (int j = 0; j < b.size; ++j) {
        const Episode& ep = eps[static_cast<std::size_t>(j)];
        if (t >= ep.steps()) continue;
        const auto u = static_cast<std::size_t>(j);
        score_step(res[u], ep, t, proposed.data() + u * A, incident);
        // The recorded remediation; the policy's own claim columns (a claim does not touch the cluster).
        std::copy_n(ep.actions.data() + static_cast<std::size_t>(t) * static_cast<std::size_t>(ep.shape.action_width),
                    ep.shape.action_width, rows.data() + u * A);
        if (incident) {
          rows[u * A + envs::incident::kDiagType] = proposed[u * A + envs::incident::kDiagType];
          rows[u * A + envs::incident::kDiagTarget] = proposed[u * A + envs::incident::kDiagTarget];
        }
      }
      if (resim) {
        vec.step(rows);
        for (int j = 0; j < b.size; ++j) {
          const Episode& ep = eps[static_cast<std::size_t>(j)];
          const bool ended = vec.terminated()[static_cast<std::size_t>(j)] || vec.truncated()[static_cast<std::size_t>(j)];
          // The re-simulation must end exactly where the recording did.
          if (t < ep.steps() && ended != (t + 1 == ep.steps())) ++res[static_cast<std::size_t>(j)].observations_diverged;
        }
      } else {
        for (int j = 0; j < b.size; ++j) {
          const Episode& ep = eps[static_cast<std::size_t>(j)];
          if (t + 1 < ep.steps())
            write_observation(carrier, j, ep, t + 1, cb, res[static_cast<std::size_t>(j)].claimed);
        }
      }
    }
    for (OpenLoopEpisode& r : res) {
      result.episodes.push_back(std::move(r));
      if (o.progress) o.progress(++done, range.count);
    }
  }
  return result;
}

}  // namespace opsrl::datasets
