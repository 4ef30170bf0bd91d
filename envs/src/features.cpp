// TokenLayout: token index <-> entity.
#include <opsrl/envs/features.hpp>

namespace opsrl::envs {

int TokenLayout::token_of(sim::EntityRef e) const {
  switch (e.kind) {
    case sim::EntityKind::kNode: return node_token(e.index);
    case sim::EntityKind::kService: return service_token(e.index);
    case sim::EntityKind::kReplica: return replica_token(e.index);
    default: return 0;
  }
}

sim::EntityRef TokenLayout::entity_of(int token) const {
  if (token <= 0 || token >= num_real()) return {};
  int i = token - 1;
  if (i < num_nodes) return {sim::EntityKind::kNode, i};
  i -= num_nodes;
  if (i < num_services) return {sim::EntityKind::kService, i};
  return {sim::EntityKind::kReplica, i - num_services};
}

TokenType TokenLayout::type_of(int token) const {
  if (token == 0) return TokenType::kGlobal;
  if (token < 0 || token >= num_real()) return TokenType::kPadding;
  return static_cast<TokenType>(entity_of(token).kind);
}

}  // namespace opsrl::envs
