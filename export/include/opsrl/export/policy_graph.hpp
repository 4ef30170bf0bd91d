#pragma once
// The transformer policy (agents/transformer_policy.hpp: its header comment is the forward
// computation reproduced here) as an ONNX graph, built node by node with ONNX's protobuf API.
// No LibTorch and no ONNX header here: the weights come in as plain float arrays
// (exporter.hpp reads them out of a policy), the model goes out serialized and checked.
//
// Inputs, named and typed as the observation arrays (docs/observation.md); B and T dynamic:
//   features (B,T,F) float32 raw    token_type (B,T) int32    valid (B,T) uint8
//   links (B,T,2) int32             task_id (B) int32         action_mask (B,M) uint8
//   M may be any width up to 21T + 21 (the incident layout): a narrower row reads as padded with 0,
//   as agents::TransformerPolicyImpl::heads pads it (an autoscale-only batch has M = 5T).
// Outputs, agents::PolicyHeads: every head for every row (select by task_id), masked choices at
// agents::kMaskedLogit (-1e9):
//   verb (B,11)  target (B,11,T)  diag_type (B,10)  diag_target (B,10,T)  delta (B,T,3)  move (B,T,2)
//   value (B)
//
// Parameter   Default  Meaning
// opset       17       opset of the default domain, min_opset()..max_opset(); below 17 every
//                      LayerNormalization is written as its primitive ops
// metadata    {}       metadata_props (key, value), in order
// doc         ""       the model's doc_string
//
// Anything the graph cannot express is an ExportError naming the layer: a parameter the graph
// does not know or lacks, a shape that differs from the options, an operator form missing at
// the opset. The model passes ONNX's checker and strict shape inference before it is returned.
#include <cstdint>
#include <filesystem>
#include <map>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace opsrl::exporter {

// Every failure to export or check a model; the message names the layer where one is concerned.
class ExportError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct Array {
  std::vector<std::int64_t> shape;
  std::vector<float> data;  // row major

  std::int64_t numel() const;
};

// What the graph is built from: the policy's options and its parameters by their LibTorch names.
struct PolicyWeights {
  int feature_width = 0;  // F
  int d_model = 0;
  int layers = 0;
  int heads = 0;
  int ff = 0;
  int pointer_dim = 0;
  int value_hidden = 0;
  double norm_clip = 10.0;
  // The belief's constants (transformer_policy.hpp): verb logits += belief_gain * p_type @
  // verb_from_belief; root = max(belief_floor, ...).
  double belief_gain = 10.0;
  double belief_floor = -30.0;
  // The normaliser as TransformerPolicyImpl::normalize applies it, per real token type (K = 4)
  // and feature column: mean (K,F) and scale = rsqrt(var + eps) (K,F), both as float32.
  Array norm_mean, norm_scale;
  // By their names in the module ("embed.weight", "layers.0.qkv.bias", "verb_from_belief", ...):
  // every one must be consumed by the graph.
  std::map<std::string, Array> parameters;
  // The epsilon of every LayerNorm, by module name ("layers.0.ln1", "final_norm").
  std::map<std::string, double> layer_norm_eps;
};

struct GraphOptions {
  int opset = 17;
  std::vector<std::pair<std::string, std::string>> metadata;
  std::string doc;
};

// The opsets the graph can be written in: min_opset() (axes and split sizes as inputs) up to the
// newest opset the linked ONNX library knows (its checker cannot vouch for newer ones).
int min_opset();
int max_opset();
std::string onnx_library_version();

// Builds, checks (check_model_bytes) and serializes the policy's model.
std::string build_policy_model(const PolicyWeights& weights, const GraphOptions& options = {});

// ONNX's checker, then shape inference in strict mode with type checks (what Python's
// onnx.checker.check_model(model, full_check=True) runs). Throws ExportError naming the node and
// its layer.
void check_model_bytes(const std::string& bytes);

// What a serialized model declares: for reports and tests.
struct ModelSummary {
  std::int64_t ir_version = 0;
  int opset = 0;
  std::string producer;  // "name version"
  struct Value {
    std::string name;
    std::string dtype;               // "float32", "int32", "uint8", ...
    std::vector<std::string> shape;  // a number or a dim_param ("batch", "tokens")
  };
  std::vector<Value> inputs, outputs;
  std::vector<std::pair<std::string, std::string>> metadata;
  std::int64_t nodes = 0, initializers = 0, parameters = 0;  // parameters: floats in initializers

  const std::string* meta(const std::string& key) const;  // nullptr if absent
};
ModelSummary describe_model(const std::string& bytes);

// Writes `bytes` to path + ".tmp", flushes and fsyncs it and renames it over `path`; on failure
// the temporary file is removed and `path` is left as it was.
void write_file_atomically(const std::filesystem::path& path, const std::string& bytes);
std::string read_file(const std::filesystem::path& path);

}  // namespace opsrl::exporter
