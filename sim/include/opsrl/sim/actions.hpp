#pragma once
// Remediation actions: a verb applied to a target entity. Every verb has a target kind, a
// delay before it takes effect, a cost in USD (operator toil and disruption) and side
// effects; an action invalid in the current state is refused with a reason.
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include <opsrl/sim/entities.hpp>
#include <opsrl/sim/time.hpp>

namespace opsrl::sim {

enum class Verb : std::uint8_t {
  kNoop,
  kRestartReplica,   // replica: down for start-up, comes back fresh
  kRestartService,   // service: rolling restart, one replica at a time
  kKillProcess,      // replica: kill the hottest process inside the container
  kRollback,         // service: rolling restart onto the previous version
  kScaleOut,         // service: one more replica
  kScaleIn,          // service: one replica fewer
  kMigrateReplica,   // replica: reschedule onto another node (down for start-up)
  kDrainNode,        // node: cordon and move every replica elsewhere
  kCleanDisk,        // node: delete old logs and fix rotation
  kEscalate,         // none: page a human; slow and costly, always works
  kCount
};
inline constexpr int kNumVerbs = static_cast<int>(Verb::kCount);

struct VerbInfo {
  Verb verb;
  std::string_view name;    // e.g. "restart_replica"
  EntityKind target_kind;   // kNone for noop and escalate
  SimTime delay;            // time until the action's effect (before any start-up time)
  double cost_usd;          // toil and disruption cost of taking the action
  std::string_view effect;  // one line for `opsrl faults list` and the docs
};

const VerbInfo& verb_info(Verb v);
std::span<const VerbInfo> verb_catalogue();
std::optional<Verb> verb_from_name(std::string_view name);

struct Action {
  Verb verb = Verb::kNoop;
  EntityRef target;
};

struct ActionResult {
  bool accepted = false;
  std::string reason;  // why it was refused; empty when accepted
  static ActionResult ok() { return {true, {}}; }
  static ActionResult refused(std::string why) { return {false, std::move(why)}; }
};

}  // namespace opsrl::sim
