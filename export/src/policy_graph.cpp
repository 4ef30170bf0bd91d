// The policy's ONNX graph (policy_graph.hpp), one builder call per operator, in the order of the
// forward computation of agents/transformer_policy.hpp:
//
//   inputs --casts--> normaliser --> embedding input row [type block | links | task] --> embed
//     --> layers.i (ln1, attention, out, ln2, ff1, ff2) --> final_norm --> global_head / token_head
//     --> value | belief --> masks --> outputs
//
// Node names are "<layer>/<Op>_<n>", so that a checker or shape-inference message names the
// layer. Linear layers are MatMul by the transposed weight (stored as "<name>.T") plus Add.
#include <opsrl/export/policy_graph.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <variant>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <onnx/checker.h>
#include <onnx/common/version.h>
#include <onnx/defs/schema.h>
#include <onnx/onnx_pb.h>
#include <onnx/shape_inference/implementation.h>

#include <opsrl/envs/actions.hpp>

namespace opsrl::exporter {

std::int64_t Array::numel() const {
  std::int64_t n = 1;
  for (const std::int64_t s : shape) n *= s;
  return n;
}

namespace {

constexpr int kTypes = 4;  // real token types (global, node, service, replica); padding is 4
constexpr int V = envs::incident::kNumVerbs;
constexpr int D = envs::incident::kNumDiagTypes;
constexpr int kDeltas = envs::autoscale::kNumDeltas;
constexpr int kMoves = envs::autoscale::kNumMoves;
constexpr float kMaskedLogit = -1e9f;  // agents::kMaskedLogit

// The oldest opset at which each operator has the form written here; below it the graph cannot
// be expressed. Operators absent from the table exist in that form since opset 1.
struct OpForm {
  int since;
  const char* form;
};
const std::map<std::string, OpForm>& op_forms() {
  static const std::map<std::string, OpForm> forms{
      {"Unsqueeze", {13, "axes as an input"}},
      {"Squeeze", {13, "axes as an input"}},
      {"Split", {13, "split sizes as an input"}},
      {"Softmax", {13, "a softmax over one axis"}},
      {"LogSoftmax", {13, "a log-softmax over one axis"}},
      {"Clip", {12, "int64 bounds as inputs"}},
      {"Max", {12, "int64 operands"}},
      {"GatherND", {12, "batch_dims"}},
      {"Equal", {11, "int64 operands"}},
      {"Pad", {11, "pads as an input"}},
      {"Slice", {10, "starts and ends as inputs"}},
      {"ConstantOfShape", {9, ""}},
      {"Where", {9, ""}},
      {"Less", {9, "broadcasting int64 operands"}},
      {"Expand", {8, ""}},
      {"Add", {7, "broadcasting"}},
      {"Sub", {7, "broadcasting"}},
      {"Mul", {7, "broadcasting"}},
      {"Div", {7, "broadcasting"}},
      {"Cast", {6, "an integer \"to\""}},
      {"Reshape", {5, "the shape as an input"}},
      {"Concat", {4, ""}},
      {"LayerNormalization", {17, ""}},
  };
  return forms;
}

std::string dtype_name(int type) {
  switch (type) {
    case onnx::TensorProto_DataType_FLOAT: return "float32";
    case onnx::TensorProto_DataType_INT32: return "int32";
    case onnx::TensorProto_DataType_INT64: return "int64";
    case onnx::TensorProto_DataType_UINT8: return "uint8";
    case onnx::TensorProto_DataType_BOOL: return "bool";
    default: return fmt::format("type {}", type);
  }
}

struct ScalarTensor {  // a one-element float32 tensor attribute (ConstantOfShape's value)
  float value;
};
struct Attr {
  std::string name;
  std::variant<std::int64_t, float, std::vector<std::int64_t>, ScalarTensor> value;
};

// The layer of a parameter or module name: "layers.0.qkv.weight" -> "layers.0.qkv".
std::string layer_of(const std::string& name) {
  const auto dot = name.rfind('.');
  return dot == std::string::npos ? name : name.substr(0, dot);
}

class GraphBuilder {
 public:
  GraphBuilder(onnx::GraphProto& graph, int opset, const PolicyWeights& w) : g_(graph), opset_(opset), w_(w) {}

  int opset() const { return opset_; }
  void layer(std::string name) { layer_ = std::move(name); }
  const std::string& layer() const { return layer_; }

  // One node; returns its outputs (named "<layer>/<Op>_<n>[:i]" unless `names` gives them).
  std::vector<std::string> ops(const std::string& type, const std::vector<std::string>& inputs, int outputs,
                               const std::vector<Attr>& attrs = {}, std::vector<std::string> names = {}) {
    if (const auto f = op_forms().find(type); f != op_forms().end() && opset_ < f->second.since)
      throw ExportError(fmt::format("layer \"{}\": needs ONNX operator {}{}{}, which opset {} does not have (it needs "
                                    "opset >= {}); export with --opset {}..{}",
                                    layer_, type, *f->second.form ? " with " : "", f->second.form, opset_,
                                    f->second.since, min_opset(), max_opset()));
    const std::string node_name = fmt::format("{}/{}_{}", layer_, type, ++count_[layer_ + "/" + type]);
    onnx::NodeProto* n = g_.add_node();
    n->set_op_type(type);
    n->set_name(node_name);
    for (const std::string& in : inputs) n->add_input(in);
    if (names.empty())
      for (int i = 0; i < outputs; ++i) names.push_back(outputs == 1 ? node_name : fmt::format("{}:{}", node_name, i));
    for (const std::string& out : names) n->add_output(out);
    for (const Attr& a : attrs) {
      onnx::AttributeProto* p = n->add_attribute();
      p->set_name(a.name);
      if (const auto* i = std::get_if<std::int64_t>(&a.value)) {
        p->set_type(onnx::AttributeProto_AttributeType_INT);
        p->set_i(*i);
      } else if (const auto* f = std::get_if<float>(&a.value)) {
        p->set_type(onnx::AttributeProto_AttributeType_FLOAT);
        p->set_f(*f);
      } else if (const auto* t = std::get_if<ScalarTensor>(&a.value)) {
        p->set_type(onnx::AttributeProto_AttributeType_TENSOR);
        p->mutable_t()->set_data_type(onnx::TensorProto_DataType_FLOAT);
        p->mutable_t()->add_dims(1);
        p->mutable_t()->add_float_data(t->value);
      } else {
        p->set_type(onnx::AttributeProto_AttributeType_INTS);
        for (const std::int64_t v : std::get<std::vector<std::int64_t>>(a.value)) p->add_ints(v);
      }
    }
    return names;
  }
  std::string op(const std::string& type, const std::vector<std::string>& inputs, const std::vector<Attr>& attrs = {},
                 const std::string& name = "") {
    return ops(type, inputs, 1, attrs, name.empty() ? std::vector<std::string>{} : std::vector<std::string>{name})[0];
  }

  // ---- constants and parameters ----
  std::string ints(const std::vector<std::int64_t>& values, bool scalar = false) {
    const std::string key = fmt::format("const/i64{}_{}", scalar ? "s" : "", fmt::join(values, "_"));
    if (consts_.insert(key).second) {
      onnx::TensorProto* t = g_.add_initializer();
      t->set_name(key);
      t->set_data_type(onnx::TensorProto_DataType_INT64);
      if (!scalar) t->add_dims(static_cast<std::int64_t>(values.size()));
      for (const std::int64_t v : values) t->add_int64_data(v);
    }
    return key;
  }
  std::string scalar_int(std::int64_t v) { return ints({v}, /*scalar=*/true); }
  std::string scalar_float(float v) {
    const std::string key = fmt::format("const/f32_{}", v);
    if (consts_.insert(key).second) {
      onnx::TensorProto* t = g_.add_initializer();
      t->set_name(key);
      t->set_data_type(onnx::TensorProto_DataType_FLOAT);
      t->add_float_data(v);
    }
    return key;
  }
  std::string tensor(const std::string& name, const Array& a, const std::string& doc = "") {
    onnx::TensorProto* t = g_.add_initializer();
    t->set_name(name);
    t->set_data_type(onnx::TensorProto_DataType_FLOAT);
    for (const std::int64_t s : a.shape) t->add_dims(s);
    t->set_raw_data(std::string(reinterpret_cast<const char*>(a.data.data()), a.data.size() * sizeof(float)));
    if (!doc.empty()) t->set_doc_string(doc);
    return name;
  }

  // The parameter `name`, checked against `shape`, marked as expressed.
  const Array& param(const std::string& name, const std::vector<std::int64_t>& shape) {
    const auto it = w_.parameters.find(name);
    if (it == w_.parameters.end())
      throw ExportError(fmt::format("layer \"{}\": the policy has no parameter \"{}\"; the exporter follows "
                                    "agents/transformer_policy.hpp and cannot express this policy",
                                    layer_of(name), name));
    if (it->second.shape != shape)
      throw ExportError(fmt::format("layer \"{}\": parameter \"{}\" has shape [{}], expected [{}] from the policy's "
                                    "options",
                                    layer_of(name), name, fmt::join(it->second.shape, ", "), fmt::join(shape, ", ")));
    if (static_cast<std::int64_t>(it->second.data.size()) != it->second.numel())
      throw ExportError(fmt::format("layer \"{}\": parameter \"{}\" holds {} values for shape [{}]", layer_of(name), name,
                                    it->second.data.size(), fmt::join(shape, ", ")));
    used_.insert(name);
    return it->second;
  }
  std::string param_init(const std::string& name, const std::vector<std::int64_t>& shape,
                         const std::vector<std::int64_t>& stored_shape = {}) {
    Array a = param(name, shape);
    if (!stored_shape.empty()) a.shape = stored_shape;
    return tensor(name, a);
  }
  // A Linear layer's weight (out, in), transposed for MatMul: "<name>.weight.T" (in, out).
  std::string weight_t(const std::string& name, std::int64_t in, std::int64_t out) {
    const Array& w = param(name + ".weight", {out, in});
    Array t{{in, out}, std::vector<float>(w.data.size())};
    for (std::int64_t o = 0; o < out; ++o)
      for (std::int64_t i = 0; i < in; ++i) t.data[i * out + o] = w.data[o * in + i];
    return tensor(name + ".weight.T", t, "transposed: (in, out)");
  }
  // Parameters the graph never consumed: something the exporter does not know how to express.
  void check_all_used() const {
    for (const auto& [name, array] : w_.parameters)
      if (!used_.count(name))
        throw ExportError(fmt::format("layer \"{}\": the policy has a parameter \"{}\" (shape [{}]) that the exporter "
                                      "does not express; the exported model would compute something else. "
                                      "export/src/policy_graph.cpp must learn it first",
                                      layer_of(name), name, fmt::join(array.shape, ", ")));
  }

  // ---- layers ----
  std::string linear(const std::string& x, const std::string& name, std::int64_t in, std::int64_t out, bool bias = true) {
    layer(name);
    std::string y = op("MatMul", {x, weight_t(name, in, out)});
    if (bias) y = op("Add", {y, param_init(name + ".bias", {out})});
    return y;
  }
  // LayerNorm over the last axis (width d) with the module's weight, bias and epsilon.
  std::string layer_norm(const std::string& x, const std::string& name, std::int64_t d) {
    layer(name);
    const auto eps_it = w_.layer_norm_eps.find(name);
    if (eps_it == w_.layer_norm_eps.end())
      throw ExportError(fmt::format("layer \"{}\": no epsilon given for this LayerNorm", name));
    const auto eps = static_cast<float>(eps_it->second);
    const std::string weight = param_init(name + ".weight", {d});
    const std::string bias = param_init(name + ".bias", {d});
    if (opset_ >= 17) return op("LayerNormalization", {x, weight, bias}, {{"axis", std::int64_t{-1}}, {"epsilon", eps}});
    // Opsets 13..16: mean and biased variance over the last axis, as LayerNormalization defines.
    const std::string mean = reduce("ReduceMean", x, {-1}, true);
    const std::string centred = op("Sub", {x, mean});
    const std::string var = reduce("ReduceMean", op("Mul", {centred, centred}), {-1}, true);
    const std::string normed = op("Div", {centred, op("Sqrt", {op("Add", {var, scalar_float(eps)})})});
    return op("Add", {op("Mul", {normed, weight}), bias});
  }
  // Reduce* over `axes`: an attribute before opset 18, an input from 18 on.
  std::string reduce(const std::string& type, const std::string& x, const std::vector<std::int64_t>& axes, bool keepdims) {
    const Attr keep{"keepdims", std::int64_t{keepdims ? 1 : 0}};
    if (opset_ >= 18) return op(type, {x, ints(axes)}, {keep});
    return op(type, {x}, {{"axes", axes}, keep});
  }
  std::string unsqueeze(const std::string& x, const std::vector<std::int64_t>& axes) { return op("Unsqueeze", {x, ints(axes)}); }
  std::string reshape(const std::string& x, const std::vector<std::int64_t>& shape) { return op("Reshape", {x, ints(shape)}); }
  std::string transpose(const std::string& x, const std::vector<std::int64_t>& perm) { return op("Transpose", {x}, {{"perm", perm}}); }
  std::string cast(const std::string& x, int to) { return op("Cast", {x}, {{"to", std::int64_t{to}}}); }
  std::vector<std::string> split(const std::string& x, std::int64_t axis, const std::vector<std::int64_t>& sizes) {
    return ops("Split", {x, ints(sizes)}, static_cast<int>(sizes.size()), {{"axis", axis}});
  }
  // x[..., start:end] along `axis`, start and end 1-D int64 tensors (names).
  std::string slice(const std::string& x, const std::string& start, const std::string& end, std::int64_t axis) {
    return op("Slice", {x, start, end, ints({axis})});
  }
  std::string masked(const std::string& mask, const std::string& logits, const std::string& name) {
    return op("Where", {mask, logits, scalar_float(kMaskedLogit)}, {}, name);
  }

 private:
  onnx::GraphProto& g_;
  int opset_;
  const PolicyWeights& w_;
  std::string layer_ = "inputs";
  std::map<std::string, int> count_;
  std::set<std::string> consts_, used_;
};

void add_value_info(google::protobuf::RepeatedPtrField<onnx::ValueInfoProto>* list, const std::string& name, int type,
                    const std::vector<std::variant<std::int64_t, std::string>>& dims, const std::string& doc) {
  onnx::ValueInfoProto* v = list->Add();
  v->set_name(name);
  v->set_doc_string(doc);
  onnx::TypeProto_Tensor* t = v->mutable_type()->mutable_tensor_type();
  t->set_elem_type(type);
  onnx::TensorShapeProto* shape = t->mutable_shape();
  for (const auto& d : dims) {
    if (const auto* n = std::get_if<std::int64_t>(&d)) shape->add_dim()->set_dim_value(*n);
    else shape->add_dim()->set_dim_param(std::get<std::string>(d));
  }
}

void check_weights(const PolicyWeights& w) {
  if (w.feature_width <= 0 || w.d_model <= 0 || w.heads <= 0 || w.d_model % w.heads != 0 || w.layers < 0 || w.ff <= 0 ||
      w.pointer_dim <= 0 || w.value_hidden <= 0)
    throw ExportError(fmt::format("policy options out of range: feature_width = {}, d_model = {}, heads = {}, layers = {}, "
                                  "ff = {}, pointer_dim = {}, value_hidden = {}",
                                  w.feature_width, w.d_model, w.heads, w.layers, w.ff, w.pointer_dim, w.value_hidden));
  const std::vector<std::int64_t> kf{kTypes, w.feature_width};
  for (const auto* a : {&w.norm_mean, &w.norm_scale})
    if (a->shape != kf || static_cast<std::int64_t>(a->data.size()) != a->numel())
      throw ExportError(fmt::format("layer \"normaliser\": the normaliser's statistics must be ({}, {}), got [{}]", kTypes,
                                    w.feature_width, fmt::join(a->shape, ", ")));
}

onnx::ModelProto build(const PolicyWeights& w, const GraphOptions& o) {
  check_weights(w);
  // Below min_opset() the first operator without its form here names its layer (GraphBuilder::ops).
  if (o.opset < 1 || o.opset > max_opset())
    throw ExportError(fmt::format("opset {} is outside what the exporter can write: {}..{} ({} knows opsets up to {}, and "
                                  "its checker cannot vouch for a newer one)",
                                  o.opset, min_opset(), max_opset(), onnx_library_version(), max_opset()));
  const std::int64_t F = w.feature_width, d = w.d_model, H = w.heads, dh = d / H, P = w.pointer_dim;
  const std::int64_t inputs_width = kTypes * (F + 1) + 2 * F + 2;  // InputColumns in transformer_policy.cpp

  onnx::ModelProto model;
  model.set_ir_version(onnx::IR_VERSION);
  model.set_producer_name("opsrl");
  model.set_producer_version(OPSRL_VERSION);
  model.set_model_version(1);
  model.set_doc_string(o.doc);
  onnx::OperatorSetIdProto* opset = model.add_opset_import();
  opset->set_domain("");
  opset->set_version(o.opset);
  for (const auto& [key, value] : o.metadata) {
    onnx::StringStringEntryProto* e = model.add_metadata_props();
    e->set_key(key);
    e->set_value(value);
  }
  onnx::GraphProto& graph = *model.mutable_graph();
  graph.set_name("opsrl_transformer_policy");
  graph.set_doc_string("agents::TransformerPolicy: every head's masked logits and the value (docs/export.md)");

  using Dim = std::variant<std::int64_t, std::string>;
  const Dim B = std::string("batch"), T = std::string("tokens");
  auto* in = graph.mutable_input();
  add_value_info(in, "features", onnx::TensorProto_DataType_FLOAT, {B, T, F}, "raw token features (the model normalises)");
  add_value_info(in, "token_type", onnx::TensorProto_DataType_INT32, {B, T}, "0 global, 1 node, 2 service, 3 replica, 4 padding");
  add_value_info(in, "valid", onnx::TensorProto_DataType_UINT8, {B, T}, "1 for real tokens, 0 for padding");
  add_value_info(in, "links", onnx::TensorProto_DataType_INT32, {B, T, std::int64_t{2}},
                 "replica tokens: [service token, node token or -1]; others -1");
  add_value_info(in, "task_id", onnx::TensorProto_DataType_INT32, {B}, "0 incident, 1 autoscale");
  add_value_info(in, "action_mask", onnx::TensorProto_DataType_UINT8, {B, std::string("mask_width")},
                 "1 = allowed; incident layout (21T + 21) or autoscale (5T), shorter rows padded with 0");

  GraphBuilder b(graph, o.opset, w);
  constexpr int kF32 = onnx::TensorProto_DataType_FLOAT, kI64 = onnx::TensorProto_DataType_INT64,
                kBool = onnx::TensorProto_DataType_BOOL;

  // ---- inputs: casts and the dynamic sizes ----
  b.layer("inputs");
  const std::string type64 = b.cast("token_type", kI64);
  const std::string valid = b.cast("valid", kBool);
  const std::string links = b.cast("links", kI64);
  const std::string task = b.cast("task_id", kI64);
  const std::string shape = b.op("Shape", {"features"});
  const std::string BT = b.slice(shape, b.ints({0}), b.ints({2}), 0);  // [B, T]
  const std::string T1 = b.slice(shape, b.ints({1}), b.ints({2}), 0);  // [T]

  // ---- normaliser: xn = clip((x - mean[type]) * scale[type], -clip, clip), type clamped to 0..3 ----
  b.layer("normaliser");
  const std::string type_c = b.op("Clip", {type64, b.scalar_int(0), b.scalar_int(kTypes - 1)});
  const std::string mean = b.tensor("normaliser.mean", w.norm_mean, "norm_mean as float32, (K,F)");
  const std::string scale = b.tensor("normaliser.scale", w.norm_scale, "rsqrt(norm_m2 / norm_count + eps) as float32, (K,F)");
  const auto clip = static_cast<float>(w.norm_clip);
  const std::string xn = b.op("Clip", {b.op("Mul", {b.op("Sub", {"features", b.op("Gather", {mean, type_c}, {{"axis", std::int64_t{0}}})}),
                                                    b.op("Gather", {scale, type_c}, {{"axis", std::int64_t{0}}})}),
                                       b.scalar_float(-clip), b.scalar_float(clip)});

  // ---- embedding input: [one_hot(type) (x) [xn, 1] | xn[link 0] | xn[link 1] | one_hot(task)] ----
  b.layer("embed");
  const std::string ones = b.op("ConstantOfShape", {b.op("Concat", {BT, b.ints({1})}, {{"axis", std::int64_t{0}}})},
                                {{"value", ScalarTensor{1.0f}}});  // (B,T,1)
  const std::string own = b.op("Concat", {xn, ones}, {{"axis", std::int64_t{2}}});  // (B,T,F+1)
  // A block per real type; padding (4) matches none, a negative type reads as 0 (as index_put).
  const std::string onehot = b.cast(b.op("Equal", {b.unsqueeze(b.op("Max", {type64, b.scalar_int(0)}), {-1}),
                                                   b.ints({0, 1, 2, 3})}),
                                    kF32);  // (B,T,K)
  const std::string blocks = b.reshape(b.op("Mul", {b.unsqueeze(onehot, {3}), b.unsqueeze(own, {2})}),
                                       {0, 0, kTypes * (F + 1)});
  // Linked tokens: a zero row at index T stands for -1.
  const std::string xn_ext = b.op("Pad", {xn, b.ints({0, 0, 0, 0, 1, 0})});  // (B,T+1,F)
  const std::string link_index = b.op("Where", {b.op("Less", {links, b.scalar_int(0)}), T1, links});
  const std::string linked =
      b.reshape(b.op("GatherND", {xn_ext, b.reshape(link_index, {0, -1, 1})}, {{"batch_dims", std::int64_t{1}}}),
                {0, -1, 2 * F});  // (B,T,2F)
  const std::string task_onehot = b.cast(b.op("Equal", {b.unsqueeze(task, {1}), b.ints({0, 1})}), kF32);  // (B,2)
  const std::string task_tokens =
      b.op("Expand", {b.unsqueeze(task_onehot, {1}), b.op("Concat", {BT, b.ints({2})}, {{"axis", std::int64_t{0}}})});
  const std::string input = b.op("Concat", {blocks, linked, task_tokens}, {{"axis", std::int64_t{2}}});
  std::string h = b.linear(input, "embed", inputs_width, d, /*bias=*/false);  // (B,T,d)

  // ---- encoder: pre-norm layers; attention bias 0 on valid keys, kMaskedLogit on the others ----
  b.layer("attention_mask");
  const std::string key_bias = b.reshape(b.op("Where", {valid, b.scalar_float(0.0f), b.scalar_float(kMaskedLogit)}),
                                         {0, 1, 1, -1});  // (B,1,1,T)
  const auto att_scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(dh)));
  for (int i = 0; i < w.layers; ++i) {
    const std::string name = fmt::format("layers.{}", i);
    const std::string qkv = b.linear(b.layer_norm(h, name + ".ln1", d), name + ".qkv", d, 3 * d);
    b.layer(name + ".attention");
    const auto parts = b.split(qkv, 2, {d, d, d});
    const auto heads_of = [&](const std::string& x, const std::vector<std::int64_t>& perm) {
      return b.transpose(b.reshape(x, {0, 0, H, dh}), perm);
    };
    const std::string q = heads_of(parts[0], {0, 2, 1, 3});                                    // (B,H,T,dh)
    const std::string k = heads_of(b.op("Mul", {parts[1], b.scalar_float(att_scale)}), {0, 2, 3, 1});  // (B,H,dh,T)
    const std::string v = heads_of(parts[2], {0, 2, 1, 3});
    const std::string probs = b.op("Softmax", {b.op("Add", {b.op("MatMul", {q, k}), key_bias})}, {{"axis", std::int64_t{-1}}});
    const std::string mixed = b.reshape(b.transpose(b.op("MatMul", {probs, v}), {0, 2, 1, 3}), {0, 0, d});
    h = b.op("Add", {h, b.linear(mixed, name + ".out", d, d)});
    const std::string hidden = b.linear(b.layer_norm(h, name + ".ln2", d), name + ".ff1", d, w.ff);
    b.layer(name + ".ff1");
    const std::string ff = b.linear(b.op("Relu", {hidden}), name + ".ff2", w.ff, d);
    h = b.op("Add", {h, ff});
  }
  const std::string z = b.layer_norm(h, "final_norm", d);  // (B,T,d)

  // ---- heads ----
  b.layer("global_token");
  const std::string g = b.op("Gather", {z, b.scalar_int(0)}, {{"axis", std::int64_t{1}}});  // (B,d)
  const std::string global = b.linear(g, "global_head", d, V + D + (V + D) * P);
  const auto gparts = b.split(global, 1, {V, D, V * P, D * P});
  const std::string tokens = b.linear(z, "token_head", d, 2 * P + kDeltas + kMoves);
  const auto tparts = b.split(tokens, 2, {P, P, kDeltas, kMoves});
  b.layer("pointers");
  const auto ptr_scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(P)));
  const auto pointer = [&](const std::string& queries, std::int64_t rows, const std::string& keys) {  // (B,rows,T)
    return b.op("Mul", {b.op("MatMul", {b.reshape(queries, {0, rows, P}), b.transpose(keys, {0, 2, 1})}),
                        b.scalar_float(ptr_scale)});
  };
  const std::string target_ptr = pointer(gparts[2], V, tparts[0]);
  const std::string diag_ptr = pointer(gparts[3], D, tparts[1]);

  const std::string value_hidden = b.linear(g, "value_hidden", d, w.value_hidden);
  b.layer("value_hidden");
  const std::string value_raw = b.linear(b.op("Relu", {value_hidden}), "value_out", w.value_hidden, 1);
  b.layer("value_out");
  b.op("Squeeze", {value_raw, b.ints({1})}, {}, "value");

  // ---- belief: p_type = softmax(diag_type), root = max(floor, logsumexp_d(log p_type + log_softmax_t(pointer))) ----
  b.layer("belief");
  const std::string type_log = b.op("LogSoftmax", {gparts[1]}, {{"axis", std::int64_t{1}}});  // (B,D)
  const std::string root_log = b.op(
      "LogSoftmax", {b.op("Where", {b.unsqueeze(valid, {1}), diag_ptr, b.scalar_float(kMaskedLogit)})},
      {{"axis", std::int64_t{2}}});  // (B,D,T)
  const std::string root = b.op("Max", {b.reduce("ReduceLogSumExp", b.op("Add", {root_log, b.unsqueeze(type_log, {2})}), {1}, false),
                                        b.scalar_float(static_cast<float>(w.belief_floor))});  // (B,T)
  const std::string verb_logits =
      b.op("Add", {gparts[0], b.op("Mul", {b.op("MatMul", {b.op("Exp", {type_log}), b.param_init("verb_from_belief", {D, V})}),
                                          b.scalar_float(static_cast<float>(w.belief_gain))})});
  const std::string target_logits =
      b.op("Add", {target_ptr, b.op("Mul", {b.param_init("target_from_belief", {V}, {1, V, 1}), b.unsqueeze(root, {1})})});

  // ---- masks: the row padded to 21T + 21, each head's part, logits at kMaskedLogit where 0 ----
  b.layer("masks");
  const auto affine = [&](std::int64_t a, std::int64_t c) {  // a*T + c as a 1-D int64 tensor
    return b.op("Add", {b.op("Mul", {T1, b.ints({a})}), b.ints({c})});
  };
  const std::string width = affine(V + D, V + D);
  const std::string mask_width = b.slice(b.op("Shape", {"action_mask"}), b.ints({1}), b.ints({2}), 0);
  const std::string pads = b.op("Concat", {b.ints({0, 0, 0}), b.op("Sub", {width, mask_width})}, {{"axis", std::int64_t{0}}});
  const std::string mask = b.cast(b.op("Pad", {"action_mask", pads}), kBool);
  const std::string target_end = affine(V, V), diag_type_end = affine(V, V + D), diag_target_end = affine(V + D, V + D);
  const std::string verb_mask = b.slice(mask, b.ints({0}), b.ints({V}), 1);
  const std::string target_mask = b.reshape(b.slice(mask, b.ints({V}), target_end, 1), {0, V, -1});
  const std::string diag_type_mask = b.slice(mask, target_end, diag_type_end, 1);
  const std::string diag_target_mask = b.reshape(b.slice(mask, diag_type_end, diag_target_end, 1), {0, D, -1});
  const std::string delta_mask = b.reshape(b.slice(mask, b.ints({0}), affine(kDeltas, 0), 1), {0, -1, kDeltas});
  const std::string move_mask =
      b.reshape(b.slice(mask, affine(kDeltas, 0), affine(kDeltas + kMoves, 0), 1), {0, -1, kMoves});
  b.layer("outputs");
  b.masked(verb_mask, verb_logits, "verb");
  b.masked(target_mask, target_logits, "target");
  b.masked(diag_type_mask, gparts[1], "diag_type");
  b.masked(diag_target_mask, diag_ptr, "diag_target");
  b.masked(delta_mask, tparts[2], "delta");
  b.masked(move_mask, tparts[3], "move");
  b.check_all_used();

  auto* out = graph.mutable_output();
  add_value_info(out, "verb", kF32, {B, std::int64_t{V}}, "remediation verb logits (incident)");
  add_value_info(out, "target", kF32, {B, std::int64_t{V}, T}, "row v: target-token logits of verb v (incident)");
  add_value_info(out, "diag_type", kF32, {B, std::int64_t{D}}, "diagnosis type logits, 0 = no claim (incident)");
  add_value_info(out, "diag_target", kF32, {B, std::int64_t{D}, T}, "row k: root-cause token logits of type k (incident)");
  add_value_info(out, "delta", kF32, {B, T, std::int64_t{kDeltas}}, "per token: keep, one fewer, one more (autoscale)");
  add_value_info(out, "move", kF32, {B, T, std::int64_t{kMoves}}, "per token: stay, migrate (autoscale)");
  add_value_info(out, "value", kF32, {B}, "state value");
  return model;
}

// The layer of the first node name ("<layer>/<Op>_<n>") in a checker or inference message, e.g.
// "(op_type:Reshape, node name: layers.0.attention/Reshape_2): ..." -> "layers.0.attention".
std::string layer_in_message(const std::string& message) {
  static const std::regex node(R"(([A-Za-z_][A-Za-z0-9_.]*)/[A-Za-z]+_[0-9]+)");
  std::smatch m;
  return std::regex_search(message, m, node) ? m[1].str() : "";
}

onnx::ModelProto parse(const std::string& bytes) {
  onnx::ModelProto model;
  if (!model.ParseFromString(bytes))
    throw ExportError(fmt::format("not an ONNX model: {} bytes that do not parse as onnx.ModelProto", bytes.size()));
  return model;
}

}  // namespace

int min_opset() { return 13; }

int max_opset() {
  const auto& map = onnx::OpSchemaRegistry::DomainToVersionRange::Instance().Map();
  const auto it = map.find(onnx::ONNX_DOMAIN);
  return it == map.end() ? 0 : it->second.second;
}

std::string onnx_library_version() { return fmt::format("ONNX {}", onnx::LAST_RELEASE_VERSION); }

void check_model_bytes(const std::string& bytes) {
  onnx::ModelProto model = parse(bytes);
  const auto fail = [](const char* stage, const std::exception& e) {
    const std::string layer = layer_in_message(e.what());
    return ExportError(fmt::format("ONNX {} rejected the model{}: {}", stage,
                                   layer.empty() ? "" : fmt::format(" at layer \"{}\"", layer), e.what()));
  };
  try {
    onnx::checker::check_model(model);
  } catch (const std::exception& e) {
    throw fail("checker", e);
  }
  try {
    onnx::shape_inference::InferShapes(model, onnx::OpSchemaRegistry::Instance(),
                                       onnx::ShapeInferenceOptions(/*check_type=*/true, /*strict_mode=*/1,
                                                                   /*data_prop=*/true));
  } catch (const std::exception& e) {
    throw fail("shape inference", e);
  }
}

std::string build_policy_model(const PolicyWeights& weights, const GraphOptions& options) {
  const onnx::ModelProto model = build(weights, options);
  std::string bytes;
  if (!model.SerializeToString(&bytes)) throw ExportError("cannot serialize the ONNX model (over 2 GiB?)");
  check_model_bytes(bytes);
  return bytes;
}

const std::string* ModelSummary::meta(const std::string& key) const {
  for (const auto& [k, v] : metadata)
    if (k == key) return &v;
  return nullptr;
}

ModelSummary describe_model(const std::string& bytes) {
  const onnx::ModelProto model = parse(bytes);
  ModelSummary s;
  s.ir_version = model.ir_version();
  for (const auto& o : model.opset_import())
    if (o.domain().empty() || o.domain() == "ai.onnx") s.opset = static_cast<int>(o.version());
  s.producer = fmt::format("{} {}", model.producer_name(), model.producer_version());
  const auto values = [](const auto& list) {
    std::vector<ModelSummary::Value> out;
    for (const onnx::ValueInfoProto& v : list) {
      ModelSummary::Value value{v.name(), dtype_name(v.type().tensor_type().elem_type()), {}};
      for (const auto& dim : v.type().tensor_type().shape().dim())
        value.shape.push_back(dim.has_dim_param() ? dim.dim_param() : std::to_string(dim.dim_value()));
      out.push_back(std::move(value));
    }
    return out;
  };
  s.inputs = values(model.graph().input());
  s.outputs = values(model.graph().output());
  for (const auto& e : model.metadata_props()) s.metadata.emplace_back(e.key(), e.value());
  s.nodes = model.graph().node_size();
  s.initializers = model.graph().initializer_size();
  for (const onnx::TensorProto& t : model.graph().initializer())
    if (t.data_type() == onnx::TensorProto_DataType_FLOAT) {
      std::int64_t n = 1;
      for (const std::int64_t dim : t.dims()) n *= dim;
      s.parameters += n;
    }
  return s;
}

void write_file_atomically(const std::filesystem::path& path, const std::string& bytes) {
  const std::filesystem::path tmp = path.string() + ".tmp";
  const auto fail = [&](const std::string& what) {
    const std::string why = std::strerror(errno);
    std::error_code ec;
    std::filesystem::remove(tmp, ec);
    return ExportError(fmt::format("cannot write {}: {} ({})", path.string(), what, why));
  };
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw fail(fmt::format("cannot create {}", tmp.string()));
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      ::close(fd);
      throw fail(fmt::format("writing {} failed", tmp.string()));
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0) {
    ::close(fd);
    throw fail(fmt::format("fsync of {} failed", tmp.string()));
  }
  if (::close(fd) != 0) throw fail(fmt::format("closing {} failed", tmp.string()));
  if (::rename(tmp.c_str(), path.c_str()) != 0) throw fail(fmt::format("cannot rename {} to it", tmp.string()));
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ExportError(fmt::format("cannot read {}", path.string()));
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace opsrl::exporter
