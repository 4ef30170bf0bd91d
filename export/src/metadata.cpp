// metadata_props of an exported policy (metadata.hpp): JSON written by hand, from the envs' and
// the simulator's own tables, so that the names can never drift from what the envs use.
#include <opsrl/export/metadata.hpp>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <opsrl/envs/actions.hpp>
#include <opsrl/envs/spec.hpp>
#include <opsrl/sim/actions.hpp>
#include <opsrl/sim/entities.hpp>
#include <opsrl/sim/faults.hpp>

namespace opsrl::exporter {

std::string_view opsrl_version() { return OPSRL_VERSION; }

std::string json_string(std::string_view s) {
  std::string out = "\"";
  for (const char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) out += fmt::format("\\u{:04x}", static_cast<int>(c));
        else out += c;
    }
  }
  return out + "\"";
}

namespace {

std::string strings(const std::vector<std::string>& items) {
  std::vector<std::string> quoted;
  for (const auto& s : items) quoted.push_back(json_string(s));
  return fmt::format("[{}]", fmt::join(quoted, ", "));
}

std::string observation_schema(const PolicyWeights& w, const ModelProvenance& from) {
  envs::EnvSpec spec;  // only for the arrays' names, dtypes and meanings
  spec.feature_width = w.feature_width;
  std::vector<std::string> inputs;
  for (const envs::ArraySpec& a : spec.observation_arrays()) {
    std::vector<std::string> shape{json_string("batch")};
    if (a.name == "action_mask") shape.push_back(json_string("mask_width"));
    else if (a.name != "task_id") shape.push_back(json_string("tokens"));
    if (a.name == "features") shape.push_back(std::to_string(w.feature_width));
    if (a.name == "links") shape.push_back("2");
    inputs.push_back(fmt::format(R"({{"name": {}, "dtype": {}, "shape": [{}], "meaning": {}}})", json_string(a.name),
                                 json_string(envs::dtype_name(a.dtype)), fmt::join(shape, ", "), json_string(a.meaning)));
  }
  return fmt::format(
      R"({{"inputs": [{}], "token_types": {}, "tasks": {}, "feature_width": {}, "history": {}, )"
      R"("features": "raw, as the envs write them: the model normalises them with the statistics it was trained with; )"
      R"(columns in docs/observation.md", )"
      R"("mask_layout": {{"incident": "verb (11) | target per verb (11 x T) | diag_type (10) | diag_target per type (10 x T): )"
      R"(21T + 21", "autoscale": "delta per token (T x 3) | move per token (T x 2): 5T"}}, )"
      R"("mask_width": "the widest task's layout present; a shorter row reads as padded with 0"}})",
      fmt::join(inputs, ", "), strings({"global", "node", "service", "replica", "padding"}),
      strings({"incident", "autoscale"}), w.feature_width, from.history > 0 ? std::to_string(from.history) : "null");
}

std::string action_vocabulary() {
  std::vector<std::string> verbs, diag_types{R"({"name": "none", "root_kind": "none"})"};
  for (int v = 0; v < sim::kNumVerbs; ++v) {
    const sim::VerbInfo& info = sim::verb_info(static_cast<sim::Verb>(v));
    verbs.push_back(fmt::format(R"({{"name": {}, "target_kind": {}}})", json_string(info.name),
                                json_string(sim::entity_kind_name(info.target_kind))));
  }
  for (int f = 0; f < sim::kNumFaultTypes; ++f) {
    const sim::FaultInfo& info = sim::fault_info(static_cast<sim::FaultType>(f));
    diag_types.push_back(fmt::format(R"({{"name": {}, "root_kind": {}}})", json_string(info.name),
                                     json_string(sim::entity_kind_name(info.root_kind))));
  }
  static_assert(envs::incident::kNumDiagTypes == 1 + sim::kNumFaultTypes);
  static_assert(envs::autoscale::kKeep == 0 && envs::autoscale::kScaleIn == 1 && envs::autoscale::kScaleOut == 2);
  static_assert(envs::autoscale::kStay == 0 && envs::autoscale::kMigrate == 1);
  return fmt::format(
      R"({{"verbs": [{}], "diag_types": [{}], "delta": {}, "move": {}, "tasks": {{)"
      R"("incident": {{"action_width": 4, "heads": [)"
      R"({{"name": "verb", "column": 0, "output": "verb", "choices": "verbs"}}, )"
      R"({{"name": "target", "column": 1, "output": "target", "choices": "tokens", "row_of": "verb"}}, )"
      R"({{"name": "diag_type", "column": 2, "output": "diag_type", "choices": "diag_types"}}, )"
      R"({{"name": "diag_target", "column": 3, "output": "diag_target", "choices": "tokens", "row_of": "diag_type"}}]}}, )"
      R"("autoscale": {{"action_width": "2T", "heads": [)"
      R"({{"name": "delta", "columns": "0..T-1, one per token", "output": "delta", "choices": "delta"}}, )"
      R"({{"name": "move", "columns": "T..2T-1, one per token", "output": "move", "choices": "move"}}]}}}}, )"
      R"("greedy": "take each head's argmax in order; a head with row_of reads the row chosen in that head"}})",
      fmt::join(verbs, ", "), fmt::join(diag_types, ", "), strings({"keep", "scale_in", "scale_out"}),
      strings({"stay", "migrate"}));
}

std::string outputs() {
  return fmt::format(
      R"({{"masked_logit": -1e9, "select_by": "task_id: every row has every head; read its own task's", )"
      R"("verb": {{"task": "incident", "shape": ["batch", {}]}}, )"
      R"("target": {{"task": "incident", "shape": ["batch", {}, "tokens"], "row": "the chosen verb"}}, )"
      R"("diag_type": {{"task": "incident", "shape": ["batch", {}]}}, )"
      R"("diag_target": {{"task": "incident", "shape": ["batch", {}, "tokens"], "row": "the chosen diagnosis type"}}, )"
      R"("delta": {{"task": "autoscale", "shape": ["batch", "tokens", {}]}}, )"
      R"("move": {{"task": "autoscale", "shape": ["batch", "tokens", {}]}}, )"
      R"("value": {{"task": "both", "shape": ["batch"]}}}})",
      envs::incident::kNumVerbs, envs::incident::kNumVerbs, envs::incident::kNumDiagTypes, envs::incident::kNumDiagTypes,
      envs::autoscale::kNumDeltas, envs::autoscale::kNumMoves);
}

}  // namespace

std::vector<std::pair<std::string, std::string>> policy_metadata(const PolicyWeights& w, const ModelProvenance& from) {
  std::vector<std::pair<std::string, std::string>> m{
      {"opsrl.version", OPSRL_VERSION},
      {"opsrl.format", kFormat},
      {"opsrl.observation_schema", observation_schema(w, from)},
      {"opsrl.action_vocabulary", action_vocabulary()},
      {"opsrl.outputs", outputs()},
      {"opsrl.policy",
       fmt::format(R"({{"kind": "transformer", "feature_width": {}, "d_model": {}, "layers": {}, "heads": {}, "ff": {}, )"
                   R"("pointer_dim": {}, "value_hidden": {}, "norm_clip": {}}})",
                   w.feature_width, w.d_model, w.layers, w.heads, w.ff, w.pointer_dim, w.value_hidden, w.norm_clip)},
  };
  if (!from.run_id.empty()) m.emplace_back("opsrl.run_id", from.run_id);
  std::vector<std::string> ck;
  if (!from.checkpoint.empty()) ck.push_back(fmt::format(R"("file": {})", json_string(from.checkpoint)));
  if (!from.kind.empty()) ck.push_back(fmt::format(R"("kind": {})", json_string(from.kind)));
  if (from.update >= 0) ck.push_back(fmt::format(R"("update": {})", from.update));
  if (from.global_step >= 0) ck.push_back(fmt::format(R"("global_step": {})", from.global_step));
  if (!from.scenario.empty()) ck.push_back(fmt::format(R"("scenario": {})", json_string(from.scenario)));
  if (!ck.empty()) m.emplace_back("opsrl.checkpoint", fmt::format("{{{}}}", fmt::join(ck, ", ")));
  return m;
}

}  // namespace opsrl::exporter
