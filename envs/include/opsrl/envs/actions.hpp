#pragma once
// The action rows of the two tasks and where their masks lie in a mask row, so that a policy,
// a baseline or a dataset reader can build and read them without knowing the task's code.
// docs/observation.md ("Actions and masks") is the same in prose.
#include <cstdint>
#include <span>

#include <opsrl/sim/actions.hpp>
#include <opsrl/sim/faults.hpp>

namespace opsrl::envs {

namespace incident {

// Action row: [verb, target token, diagnosis type, diagnosis token].
enum Column : int { kVerb, kTarget, kDiagType, kDiagTarget, kActionWidth };

inline constexpr int kNumVerbs = sim::kNumVerbs;
// Diagnosis types: 0 = no claim ("none": nothing to report yet), 1 + FaultType otherwise.
inline constexpr int kNumDiagTypes = 1 + sim::kNumFaultTypes;
inline constexpr int kNoClaim = 0;
constexpr int diag_type_of(sim::FaultType t) { return 1 + static_cast<int>(t); }
constexpr sim::FaultType fault_type_of(int diag_type) { return static_cast<sim::FaultType>(diag_type - 1); }

struct Action {
  sim::Verb verb = sim::Verb::kNoop;
  int target = 0;        // token; ignored (may be 0) for noop and escalate
  int diag_type = kNoClaim;
  int diag_target = 0;   // token; ignored for kNoClaim

  void write(std::span<std::int32_t> row) const {
    row[kVerb] = static_cast<std::int32_t>(verb);
    row[kTarget] = target;
    row[kDiagType] = diag_type;
    row[kDiagTarget] = diag_target;
  }
};

// Mask row: verb (V), target per verb (V x T), diagnosis type (D), diagnosis token per type (D x T).
struct MaskLayout {
  int max_tokens = 0;
  constexpr int verb() const { return 0; }
  constexpr int target(int verb) const { return kNumVerbs + verb * max_tokens; }
  constexpr int diag_type() const { return kNumVerbs * (1 + max_tokens); }
  constexpr int diag_target(int type) const { return diag_type() + kNumDiagTypes + type * max_tokens; }
  constexpr int width() const { return diag_target(kNumDiagTypes); }
};

}  // namespace incident

namespace autoscale {

// Action row: [delta per token (T)] then [move per token (T)]; an all-zero row changes nothing.
// delta: 0 = keep, 1 = one replica fewer, 2 = one more (service tokens; others must be 0).
// move: 0 = stay, 1 = migrate the replica to another node (replica tokens, placement on).
inline constexpr int kKeep = 0, kScaleIn = 1, kScaleOut = 2, kNumDeltas = 3;
inline constexpr int kStay = 0, kMigrate = 1, kNumMoves = 2;

struct Columns {
  int max_tokens = 0;
  constexpr int delta(int token) const { return token; }
  constexpr int move(int token) const { return max_tokens + token; }
  constexpr int width() const { return 2 * max_tokens; }
};

// Mask row: delta per token (T x 3) then move per token (T x 2).
struct MaskLayout {
  int max_tokens = 0;
  constexpr int delta(int token) const { return token * kNumDeltas; }
  constexpr int move(int token) const { return kNumDeltas * max_tokens + token * kNumMoves; }
  constexpr int width() const { return (kNumDeltas + kNumMoves) * max_tokens; }
};

}  // namespace autoscale
}  // namespace opsrl::envs
