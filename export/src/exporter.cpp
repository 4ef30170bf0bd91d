// export_policy and verify_model (exporter.hpp): glue between the policy, the graph and ONNX Runtime.
#include <opsrl/export/exporter.hpp>

#include <fmt/format.h>

#include <opsrl/export/ort_runner.hpp>

namespace opsrl::exporter {

ExportResult export_policy(const PolicySource& policy, const std::filesystem::path& out, int opset) {
  GraphOptions o;
  o.opset = opset;
  o.metadata = policy_metadata(policy.weights(), policy.provenance());
  o.doc = fmt::format("opsrl {} transformer policy ({}){}. Inputs: the observation arrays (docs/observation.md); outputs: "
                      "every head's masked logits and the value (docs/export.md).",
                      opsrl_version(), policy.describe(),
                      policy.provenance().run_id.empty() ? "" : fmt::format(", run {}", policy.provenance().run_id));
  const std::string bytes = build_policy_model(policy.weights(), o);
  if (out.has_parent_path() && !std::filesystem::is_directory(out.parent_path()))
    throw ExportError(fmt::format("--out {}: the directory {} does not exist", out.string(), out.parent_path().string()));
  write_file_atomically(out, bytes);
  return {out, bytes.size(), describe_model(bytes)};
}

VerifyReport verify_model(const PolicySource& policy, const std::filesystem::path& model, const VerifyOptions& options,
                          std::vector<ObservationSet> sets) {
  const OrtRuntime runtime = OrtRuntime::find(options.node_modules);
  if (sets.empty()) sets = verification_sets(policy.weights().feature_width, policy.provenance().history, options.seed);
  std::vector<std::vector<RawArray>> inputs;
  for (const ObservationSet& s : sets) inputs.push_back(model_inputs(s.batch));
  const OrtRunResult ort = runtime.run(model, inputs, {options.threads, 0, 1});
  VerifyReport report;
  report.tolerance = options.tolerance;
  report.runtime = fmt::format("ONNX Runtime {} (Node.js {})", ort.version, ort.node_version);
  for (std::size_t k = 0; k < sets.size(); ++k) compare_outputs(sets[k], policy.reference(sets[k]), ort.batches[k].outputs, report);
  return report;
}

}  // namespace opsrl::exporter
