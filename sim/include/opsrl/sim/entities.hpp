#pragma once
// Names of the things in a cluster. Replicas are addressed by slot: service s owns the
// max_replicas[s] slots starting at Cluster::replica_offset(s), and a slot is empty, starting
// or running. Slots never move, so an observation token always means the same replica slot.
#include <cstdint>
#include <string_view>

namespace opsrl::sim {

enum class EntityKind : std::uint8_t { kNone = 0, kNode = 1, kService = 2, kReplica = 3 };

struct EntityRef {
  EntityKind kind = EntityKind::kNone;
  int index = -1;  // into nodes, services or replica slots
  bool operator==(const EntityRef&) const = default;
};

constexpr std::string_view entity_kind_name(EntityKind k) {
  switch (k) {
    case EntityKind::kNode: return "node";
    case EntityKind::kService: return "service";
    case EntityKind::kReplica: return "replica";
    default: return "none";
  }
}

}  // namespace opsrl::sim
