#pragma once
// Uniform random actions within a mask, for any task, driven by the spec's action heads: the
// masked random baseline, and random play in the conformance tests.
#include <cstdint>
#include <span>

#include <opsrl/sim/rng.hpp>
#include <opsrl/envs/spec.hpp>

namespace opsrl::envs {

// Fills `row` (spec.action_width entries) with, for every head entry, a value drawn uniformly
// among those its mask allows (a head that depends on another uses the mask row of the value
// drawn there). With probability `p_default` an entry takes 0 instead, when 0 is allowed,
// which makes random play less frantic (0 is noop / no claim / keep / stay in every task).
void sample_action(const EnvSpec& spec, const std::uint8_t* mask, sim::Rng& rng, std::span<std::int32_t> row,
                   double p_default = 0.0);

}  // namespace opsrl::envs
