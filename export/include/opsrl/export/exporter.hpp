#pragma once
// `opsrl export` as a library: a policy from a checkpoint, its ONNX model written atomically,
// and the model checked in ONNX Runtime against LibTorch. No LibTorch header here (the CLI
// includes this); torch_policy.hpp wraps an in-memory policy.
//
//   checkpoint --PolicySource::load--> weights + provenance --export_policy--> build_policy_model
//     (checker, strict shape inference) --> metadata --> write_file_atomically --> policy.onnx
//   policy.onnx + verification_sets --OrtRuntime--> outputs <--compare_outputs--> PolicySource::reference
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <opsrl/export/metadata.hpp>
#include <opsrl/export/observations.hpp>
#include <opsrl/export/policy_graph.hpp>
#include <opsrl/export/verify.hpp>

namespace opsrl::exporter {

// A TransformerPolicy ready to export, behind an interface without LibTorch types.
class PolicySource {
 public:
  struct Impl;  // torch_policy.cpp
  explicit PolicySource(std::shared_ptr<Impl> impl);

  // `checkpoint`: an `opsrl train` run directory (its checkpoints/latest.pt), a training
  // checkpoint (.pt), or a file holding torch::save(TransformerPolicy). Throws ExportError saying
  // what the file is not.
  static PolicySource load(const std::filesystem::path& checkpoint);

  const PolicyWeights& weights() const;
  const ModelProvenance& provenance() const;
  // LibTorch's heads() and act(greedy = true) on a set (CPU, no gradient).
  ReferenceOutputs reference(const ObservationSet& set) const;
  // One line: kind, options, parameter count.
  std::string describe() const;

  const std::shared_ptr<Impl>& impl() const { return impl_; }  // torch_policy.hpp reads it

 private:
  std::shared_ptr<Impl> impl_;
};

// LibTorch's intra-op (and OpenBLAS) threads, for the reference computations.
void set_torch_threads(int threads);

struct ExportResult {
  std::filesystem::path out;
  std::size_t bytes = 0;
  ModelSummary summary;
};
// Builds, checks and writes the model (atomically: nothing at `out` changes unless every check
// passed and the whole file was written).
ExportResult export_policy(const PolicySource& policy, const std::filesystem::path& out, int opset = 17);

struct VerifyOptions {
  std::uint64_t seed = 0;      // of the random observations and the env episodes
  double tolerance = 1e-4;
  int threads = 1;             // ONNX Runtime's intra-op threads
  std::string node_modules;    // where onnxruntime-node is (ort_runner.hpp: the default search)
};
// Runs `model` in ONNX Runtime on `sets` (empty: verification_sets for the policy's feature width
// and history) and compares with the policy.
VerifyReport verify_model(const PolicySource& policy, const std::filesystem::path& model, const VerifyOptions& options = {},
                          std::vector<ObservationSet> sets = {});

}  // namespace opsrl::exporter
