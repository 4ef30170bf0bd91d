#pragma once
// Runs an ONNX model in the real ONNX Runtime: Node.js with the onnxruntime-node package (its CPU
// runtime library), driven through a script compiled into the binary (export/node/ort_run.js).
//
//   arrays --raw files + request.json in a temporary directory--> node ort_run.js
//          --session.run per batch (warm-up and timed repeats)--> raw output files + response.txt --> arrays
//
// Where things are found:
//   node           $OPSRL_NODE, else `node` on PATH
//   node_modules   the `node_modules` argument, else $OPSRL_NODE_MODULES, else the checkout's
//                  third_party/node/node_modules (where scripts/setup installs it), else
//                  ./third_party/node/node_modules
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace opsrl::exporter {

// One tensor as raw little-endian bytes.
struct RawArray {
  std::string name;
  std::string dtype;  // "float32", "int32", "uint8", "int64"
  std::vector<std::int64_t> shape;
  std::string bytes;

  std::int64_t numel() const;
  const float* floats() const;  // dtype float32 only
};

struct OrtRunOptions {
  int threads = 1;   // intra-op threads of the session
  int warmup = 0;    // untimed runs per batch
  int repeats = 1;   // timed runs per batch (the outputs are the last run's)
};

struct OrtBatchResult {
  std::map<std::string, RawArray> outputs;
  std::vector<double> run_ms;  // wall time of each timed session.run, measured inside the script
};

struct OrtRunResult {
  std::string version;   // ONNX Runtime's
  std::string node_version;
  double load_ms = 0;    // creating the session
  std::vector<std::string> input_names, output_names;
  std::vector<OrtBatchResult> batches;
};

class OrtRuntime {
 public:
  // Finds node and onnxruntime-node; throws ExportError saying how to install them.
  static OrtRuntime find(const std::string& node_modules = "");

  // Runs `model` once per batch (each a complete set of named inputs).
  OrtRunResult run(const std::filesystem::path& model, const std::vector<std::vector<RawArray>>& batches,
                   const OrtRunOptions& options = {}) const;

  const std::string& node() const { return node_; }
  const std::filesystem::path& node_modules() const { return node_modules_; }

 private:
  std::string node_;
  std::filesystem::path node_modules_;
};

}  // namespace opsrl::exporter
