#pragma once
// The LibTorch side of the exporter: a TransformerPolicy's weights as plain arrays, and an
// in-memory policy as a PolicySource (tests, benchmarks).
#include <opsrl/agents/transformer_policy.hpp>
#include <opsrl/export/exporter.hpp>

namespace opsrl::exporter {

// The parameters, LayerNorm epsilons and normaliser of `policy`. Throws ExportError naming the
// module for a module type or buffer the exporter does not know.
PolicyWeights weights_of(agents::TransformerPolicyImpl& policy);

PolicySource policy_source(agents::TransformerPolicy policy, ModelProvenance provenance = {});
// The policy behind a source (shared, not copied).
agents::TransformerPolicy policy_of(const PolicySource& source);

}  // namespace opsrl::exporter
