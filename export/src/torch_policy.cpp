// The exporter's only LibTorch translation unit: loading a policy from a checkpoint, reading its
// weights out, and LibTorch's reference outputs for the parity check.
#include <opsrl/export/torch_policy.hpp>

#include <set>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <opsrl/train/config.hpp>
#include <opsrl/train/trainer.hpp>

namespace opsrl::exporter {

struct PolicySource::Impl {
  agents::TransformerPolicy policy{nullptr};
  PolicyWeights weights;
  ModelProvenance provenance;
};

namespace {

constexpr int kTypes = 4;

Array array_of(const torch::Tensor& t) {
  const torch::Tensor c = t.detach().to(torch::kCPU, torch::kFloat32).contiguous();
  Array a{std::vector<std::int64_t>(c.sizes().begin(), c.sizes().end()), {}};
  a.data.assign(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
  return a;
}

RawArray raw_of(const std::string& name, const torch::Tensor& t) {
  const torch::Tensor c = t.detach().to(torch::kCPU, torch::kFloat32).contiguous();
  RawArray a{name, "float32", std::vector<std::int64_t>(c.sizes().begin(), c.sizes().end()), {}};
  a.bytes.assign(reinterpret_cast<const char*>(c.data_ptr<float>()), static_cast<std::size_t>(c.numel()) * sizeof(float));
  return a;
}

std::string first_line(const std::string& s) { return s.substr(0, s.find('\n')); }

std::string torch_message(const std::exception& e) {
  if (const auto* c = dynamic_cast<const c10::Error*>(&e)) return first_line(c->what_without_backtrace());
  return first_line(e.what());
}

// The module types a TransformerPolicy is made of; anything else is a layer the graph lacks.
bool known_module(const std::string& type) {
  return type == "torch::nn::LinearImpl" || type == "torch::nn::LayerNormImpl" || type == "torch::nn::ModuleListImpl" ||
         type == "opsrl::agents::(anonymous namespace)::EncoderLayerImpl";
}

}  // namespace

PolicyWeights weights_of(agents::TransformerPolicyImpl& policy) {
  const agents::TransformerPolicyOptions& o = policy.options();
  PolicyWeights w;
  w.feature_width = o.feature_width();
  w.d_model = o.d_model();
  w.layers = o.layers();
  w.heads = o.heads();
  w.ff = o.ff();
  w.pointer_dim = o.pointer_dim();
  w.value_hidden = o.value_hidden();
  w.norm_clip = o.norm_clip();
  w.belief_gain = agents::kBeliefGain;
  w.belief_floor = agents::kBeliefFloor;

  for (const auto& item : policy.named_modules("", /*include_self=*/false)) {
    const std::string type = item.value()->name();
    if (!known_module(type))
      throw ExportError(fmt::format("layer \"{}\": a {} module, which the exporter cannot express", item.key(), type));
    if (const auto* ln = item.value()->as<torch::nn::LayerNormImpl>()) {
      if (!ln->options.elementwise_affine() || ln->options.normalized_shape() != std::vector<std::int64_t>{o.d_model()})
        throw ExportError(fmt::format("layer \"{}\": a LayerNorm over [{}] (affine: {}); the exporter expects an affine one "
                                      "over the last axis of width {}",
                                      item.key(), fmt::join(ln->options.normalized_shape(), ", "),
                                      ln->options.elementwise_affine(), o.d_model()));
      w.layer_norm_eps[item.key()] = ln->options.eps();
    }
  }
  for (const auto& p : policy.named_parameters(/*recurse=*/true)) w.parameters[p.key()] = array_of(p.value());

  std::map<std::string, torch::Tensor> buffers;
  for (const auto& b : policy.named_buffers(/*recurse=*/true)) buffers[b.key()] = b.value();
  const std::set<std::string> known{"norm_count", "norm_mean", "norm_m2", "architecture"};
  for (const auto& [name, t] : buffers)
    if (!known.count(name))
      throw ExportError(fmt::format("layer \"{}\": the policy has a buffer \"{}\" that the exporter does not express",
                                    name.substr(0, name.rfind('.') == std::string::npos ? name.size() : name.rfind('.')), name));
  for (const char* name : {"norm_count", "norm_mean", "norm_m2"})
    if (!buffers.count(name)) throw ExportError(fmt::format("layer \"normaliser\": the policy has no buffer \"{}\"", name));
  // Exactly as TransformerPolicyImpl::normalize: float64 statistics, cast to float32 at the end.
  torch::NoGradGuard no_grad;
  const torch::Tensor count = buffers["norm_count"].to(torch::kCPU, torch::kFloat64);
  const torch::Tensor mean = buffers["norm_mean"].to(torch::kCPU, torch::kFloat64);
  const torch::Tensor m2 = buffers["norm_m2"].to(torch::kCPU, torch::kFloat64);
  if (count.sizes() != torch::IntArrayRef{kTypes} || mean.sizes() != torch::IntArrayRef{kTypes, o.feature_width()} ||
      m2.sizes() != mean.sizes())
    throw ExportError(fmt::format("layer \"normaliser\": statistics of shapes [{}], [{}], [{}], expected [{}], [{}, {}], [{}, {}]",
                                  fmt::join(count.sizes(), ", "), fmt::join(mean.sizes(), ", "), fmt::join(m2.sizes(), ", "),
                                  kTypes, kTypes, o.feature_width(), kTypes, o.feature_width()));
  w.norm_mean = array_of(mean.to(torch::kFloat32));
  w.norm_scale = array_of((m2 / count.unsqueeze(1) + o.norm_epsilon()).rsqrt().to(torch::kFloat32));
  return w;
}

PolicySource policy_source(agents::TransformerPolicy policy, ModelProvenance provenance) {
  auto impl = std::make_shared<PolicySource::Impl>();
  policy->eval();
  impl->weights = weights_of(*policy);
  impl->policy = std::move(policy);
  impl->provenance = std::move(provenance);
  return PolicySource(std::move(impl));
}

agents::TransformerPolicy policy_of(const PolicySource& source) { return source.impl()->policy; }

PolicySource::PolicySource(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

const PolicyWeights& PolicySource::weights() const { return impl_->weights; }
const ModelProvenance& PolicySource::provenance() const { return impl_->provenance; }

std::string PolicySource::describe() const {
  const PolicyWeights& w = impl_->weights;
  std::int64_t n = 0;
  for (const auto& [name, a] : w.parameters) n += a.numel();
  return fmt::format("transformer: F {}, d_model {}, {} layers, {} heads, ff {}, pointer_dim {}, value_hidden {}; {} parameters",
                     w.feature_width, w.d_model, w.layers, w.heads, w.ff, w.pointer_dim, w.value_hidden, n);
}

PolicySource PolicySource::load(const std::filesystem::path& checkpoint) {
  std::filesystem::path file = checkpoint;
  try {
    file = train::resolve_checkpoint(checkpoint);
  } catch (const std::exception& e) {
    throw ExportError(fmt::format("--checkpoint: {}", e.what()));
  }
  if (!std::filesystem::is_regular_file(file))
    throw ExportError(fmt::format("--checkpoint {}: no such file", file.string()));

  ModelProvenance from;
  from.checkpoint = file.filename().string();
  torch::serialize::InputArchive archive;
  try {
    archive.load_from(file.string(), torch::kCPU);
  } catch (const std::exception& e) {
    throw ExportError(fmt::format("{}: not a LibTorch archive (a checkpoint of `opsrl train` or a torch::save'd policy): {}",
                                  file.string(), torch_message(e)));
  }
  c10::IValue v;
  if (archive.try_read("format", v)) {  // a training checkpoint (train/src/trainer.cpp)
    from.kind = "training checkpoint";
    const auto read_string = [&](const char* key) {
      c10::IValue s;
      if (!archive.try_read(key, s) || !s.isString())
        throw ExportError(fmt::format("{}: a training checkpoint without \"{}\"", file.string(), key));
      return s.toStringRef();
    };
    if (const std::string kind = read_string("policy_kind"); kind != "transformer")
      throw ExportError(fmt::format("{}: holds a \"{}\" policy; only the transformer policy exports", file.string(), kind));
    train::TrainConfig config;
    try {
      train::apply_toml(config, read_string("config"), file.string() + " (config)");
    } catch (const std::exception& e) {
      throw ExportError(fmt::format("{}: its config does not read: {}", file.string(), e.what()));
    }
    from.scenario = config.env.scenario;
    from.history = config.env.history;
    for (const auto& [key, out] : {std::pair{"update", &from.update}, std::pair{"global_step", &from.global_step}})
      if (c10::IValue i; archive.try_read(key, i) && i.isInt()) *out = i.toInt();
    // RUN/checkpoints/NAME.pt with RUN/config.toml: the run's id is its directory's name.
    const std::filesystem::path run = std::filesystem::absolute(file).parent_path().parent_path();
    if (std::filesystem::absolute(file).parent_path().filename() == "checkpoints" &&
        std::filesystem::is_regular_file(run / "config.toml"))
      from.run_id = std::filesystem::weakly_canonical(run).filename().string();
  } else {
    from.kind = "policy file";
  }
  agents::TransformerPolicy policy{nullptr};
  try {
    policy = agents::load_policy(file.string(), torch::kCPU);
  } catch (const std::exception& e) {
    throw ExportError(fmt::format("{}: cannot load a TransformerPolicy from it: {}", file.string(), torch_message(e)));
  }
  return policy_source(std::move(policy), std::move(from));
}

ReferenceOutputs PolicySource::reference(const ObservationSet& set) const {
  torch::NoGradGuard no_grad;
  const agents::ObsTensors obs = agents::to_tensors(set.batch, torch::kCPU, set.action_width);
  const agents::PolicyHeads h = impl_->policy->heads(obs);
  const agents::ActOutput act = impl_->policy->act(obs, /*greedy=*/true);
  ReferenceOutputs r;
  for (const auto& [name, t] : {std::pair{"verb", h.verb}, std::pair{"target", h.target}, std::pair{"diag_type", h.diag_type},
                                std::pair{"diag_target", h.diag_target}, std::pair{"delta", h.delta}, std::pair{"move", h.move},
                                std::pair{"value", h.value}})
    r.heads[name] = raw_of(name, t);
  const torch::Tensor rows = act.actions.to(torch::kCPU, torch::kInt32).contiguous();
  r.action_width = static_cast<int>(rows.size(1));
  r.greedy.assign(rows.data_ptr<std::int32_t>(), rows.data_ptr<std::int32_t>() + rows.numel());
  return r;
}

void set_torch_threads(int threads) { agents::set_compute_threads(threads); }

}  // namespace opsrl::exporter
