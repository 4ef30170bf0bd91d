// The transformer policy: normaliser, token embedding, encoder, heads (transformer_policy.hpp
// has the exact forward computation).
//
// Performance notes (CPU, the update phase is what counts):
// - The input projection is ONE matmul: each token's normalised features (plus a constant 1,
//   the per-type bias) are written into its type's block of a K*(F+1) row, the other blocks 0,
//   followed by its linked service's and node's features and the task one-hot, and multiplied
//   by one weight. A Linear per type would need a gather or scatter per type; one shared Linear
//   plus a type embedding would mix the meaning of columns that differ per type. The input
//   carries no gradient, so the backward pass is a single weight-gradient matmul: the links and
//   the task cost no gather/scatter of embeddings. The block product executes K = 4 times the
//   FLOPs of its own-feature part (a small layer: about 4% of the model's).
// - QKV is one Linear; attention runs a fused CPU kernel straight on its output
//   (transformer_attention.hpp).
// - The heads are two fused Linears: one on the global token (verb, diagnosis type and the
//   pointer queries of every row), one on every token (pointer keys, delta, move).
#include <opsrl/agents/transformer_policy.hpp>

#include <cmath>
#include <functional>
#include <stdexcept>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <opsrl/envs/actions.hpp>

#include "transformer_attention.hpp"

namespace opsrl::agents {
namespace {

namespace nn = torch::nn;
using torch::Tensor;

constexpr int64_t kTypes = 4;  // real token types: global, node, service, replica (padding = 4)
constexpr int64_t V = envs::incident::kNumVerbs;
constexpr int64_t D = envs::incident::kNumDiagTypes;
constexpr int64_t kDeltas = envs::autoscale::kNumDeltas;
constexpr int64_t kMoves = envs::autoscale::kNumMoves;
static_assert(static_cast<int>(envs::TokenType::kPadding) == kTypes, "padding must be the last token type");

constexpr double kHiddenGain = 1.4142135623730951;  // sqrt(2), CleanRL's hidden layers
constexpr double kPolicyGain = 0.01;
constexpr double kValueGain = 1.0;
constexpr double kLeaveItBias = 3.0;  // initial logit of "keep" / "stay" against 0 for the others

// Orthogonal init of rows [begin, begin + rows) of a (out, in) weight.
void orthogonal_rows(const Tensor& weight, int64_t begin, int64_t rows, double gain) {
  torch::NoGradGuard no_grad;
  Tensor block = torch::empty({rows, weight.size(1)});
  nn::init::orthogonal_(block, gain);
  weight.narrow(0, begin, rows).copy_(block);
}

void init_linear(const nn::Linear& layer, double gain) {
  orthogonal_rows(layer->weight, 0, layer->weight.size(0), gain);
  if (layer->bias.defined()) {
    torch::NoGradGuard no_grad;
    layer->bias.zero_();
  }
}

// One pre-norm encoder layer: h + attn(ln1(h)), then + ff(ln2(h)).
class EncoderLayerImpl : public nn::Module {
 public:
  EncoderLayerImpl(int64_t d, int64_t heads, int64_t ff) : heads_(heads) {
    ln1_ = register_module("ln1", nn::LayerNorm(nn::LayerNormOptions({d})));
    qkv_ = register_module("qkv", nn::Linear(d, 3 * d));
    out_ = register_module("out", nn::Linear(d, d));
    ln2_ = register_module("ln2", nn::LayerNorm(nn::LayerNormOptions({d})));
    ff1_ = register_module("ff1", nn::Linear(d, ff));
    ff2_ = register_module("ff2", nn::Linear(ff, d));
    for (const nn::Linear& l : {qkv_, out_, ff1_, ff2_}) init_linear(l, kHiddenGain);
  }

  // x (B,T,d); valid (B,T): the keys attention may look at.
  Tensor forward(const Tensor& x, const Tensor& valid) {
    const Tensor h = x + out_(detail::attention(qkv_(ln1_(x)), valid, heads_));
    return h + ff2_(torch::relu(ff1_(ln2_(h))));
  }

 private:
  int64_t heads_;
  nn::LayerNorm ln1_{nullptr}, ln2_{nullptr};
  nn::Linear qkv_{nullptr}, out_{nullptr}, ff1_{nullptr}, ff2_{nullptr};
};
TORCH_MODULE(EncoderLayer);

// Column ranges of the fused heads.
struct GlobalColumns {
  int64_t P;
  int64_t verb() const { return 0; }
  int64_t diag_type() const { return V; }
  int64_t target_queries() const { return V + D; }
  int64_t diag_queries() const { return V + D + V * P; }
  int64_t width() const { return V + D + (V + D) * P; }
};
struct TokenColumns {
  int64_t P;
  int64_t target_keys() const { return 0; }
  int64_t diag_keys() const { return P; }
  int64_t delta() const { return 2 * P; }
  int64_t move() const { return 2 * P + kDeltas; }
  int64_t width() const { return 2 * P + kDeltas + kMoves; }
};

// Columns of the embedding's input row (transformer_policy.hpp): the token's own normalised
// features in its type's block (with a constant 1: the type's bias), its linked service's and
// node's normalised features, the task one-hot.
struct InputColumns {
  int64_t F;
  int64_t links() const { return kTypes * (F + 1); }
  int64_t task() const { return links() + 2 * F; }
  int64_t width() const { return task() + envs::kNumTasks; }
};

std::vector<double> architecture_of(const TransformerPolicyOptions& o) {
  return {static_cast<double>(o.feature_width()), static_cast<double>(o.d_model()), static_cast<double>(o.layers()),
          static_cast<double>(o.heads()),         static_cast<double>(o.ff()),      static_cast<double>(o.pointer_dim()),
          static_cast<double>(o.value_hidden()),  static_cast<double>(o.max_tokens()), o.norm_clip(),
          o.norm_epsilon()};
}

}  // namespace

// ---- construction -----------------------------------------------------------------------

TransformerPolicyImpl::TransformerPolicyImpl(TransformerPolicyOptions options) : options_(options) {
  const int64_t F = options.feature_width(), d = options.d_model(), P = options.pointer_dim();
  if (F <= 0) throw std::invalid_argument(fmt::format("TransformerPolicy: feature_width must be > 0, got {}", F));
  if (d <= 0 || options.heads() <= 0 || d % options.heads() != 0)
    throw std::invalid_argument(fmt::format("TransformerPolicy: d_model must be a positive multiple of heads, got "
                                            "d_model = {}, heads = {}", d, options.heads()));
  if (options.layers() < 0 || options.ff() <= 0 || P <= 0 || options.value_hidden() <= 0)
    throw std::invalid_argument(fmt::format("TransformerPolicy: need layers >= 0 and ff, pointer_dim, value_hidden > 0, "
                                            "got layers = {}, ff = {}, pointer_dim = {}, value_hidden = {}",
                                            options.layers(), options.ff(), P, options.value_hidden()));

  embed_ = register_module("embed", nn::Linear(nn::LinearOptions(InputColumns{F}.width(), d).bias(false)));
  layers_ = register_module("layers", nn::ModuleList());
  for (int i = 0; i < options.layers(); ++i) layers_->push_back(EncoderLayer(d, options.heads(), options.ff()));
  final_norm_ = register_module("final_norm", nn::LayerNorm(nn::LayerNormOptions({d})));
  global_head_ = register_module("global_head", nn::Linear(d, GlobalColumns{P}.width()));
  token_head_ = register_module("token_head", nn::Linear(d, TokenColumns{P}.width()));
  value_hidden_ = register_module("value_hidden", nn::Linear(d, options.value_hidden()));
  value_out_ = register_module("value_out", nn::Linear(options.value_hidden(), 1));
  // Remediation conditioned on the diagnosis belief (transformer_policy.hpp): no verb preference
  // at first, targets drawn toward the believed root cause from the start.
  verb_from_belief_ = register_parameter("verb_from_belief", torch::zeros({D, V}));
  target_from_belief_ = register_parameter("target_from_belief", torch::ones({V}));

  // CleanRL's orthogonal init: sqrt(2) hidden, 0.01 policy logits (and pointer queries, so that
  // the first pointer distributions are near uniform), 1 value; biases 0.
  init_linear(embed_, kHiddenGain);
  init_linear(global_head_, kPolicyGain);
  const TokenColumns tc{P};
  init_linear(token_head_, 1.0);  // pointer keys
  orthogonal_rows(token_head_->weight, tc.delta(), kDeltas + kMoves, kPolicyGain);
  {
    // Start near "leave it": each service keeps its replica count (each replica stays) with
    // probability ~0.9, where uniform logits would scale two thirds of the services every step
    // and bury the effect of any one decision in that churn.
    torch::NoGradGuard no_grad;
    token_head_->bias[tc.delta() + envs::autoscale::kKeep].fill_(kLeaveItBias);
    token_head_->bias[tc.move() + envs::autoscale::kStay].fill_(kLeaveItBias);
  }
  init_linear(value_hidden_, kHiddenGain);
  init_linear(value_out_, kValueGain);

  const auto f64 = torch::TensorOptions().dtype(torch::kFloat64);
  norm_count_ = register_buffer("norm_count", torch::full({kTypes}, 1e-4, f64));
  norm_mean_ = register_buffer("norm_mean", torch::zeros({kTypes, F}, f64));
  norm_m2_ = register_buffer("norm_m2", torch::full({kTypes, F}, 1e-4, f64));  // variance 1
  architecture_ = register_buffer("architecture", torch::tensor(architecture_of(options), f64));
}

TransformerPolicyOptions read_policy_options(torch::serialize::InputArchive& archive) {
  Tensor a;
  archive.read("architecture", a, /*is_buffer=*/true);
  const std::vector<double> expected = architecture_of(TransformerPolicyOptions());
  if (a.dim() != 1 || a.size(0) != static_cast<int64_t>(expected.size()))
    throw std::invalid_argument(fmt::format("policy archive: \"architecture\" has {} entries, expected {}", a.numel(),
                                            expected.size()));
  a = a.to(torch::kCPU, torch::kFloat64).contiguous();
  const double* v = a.data_ptr<double>();
  const auto i = [&](int k) { return static_cast<int>(v[k]); };
  return TransformerPolicyOptions()
      .feature_width(i(0))
      .d_model(i(1))
      .layers(i(2))
      .heads(i(3))
      .ff(i(4))
      .pointer_dim(i(5))
      .value_hidden(i(6))
      .max_tokens(i(7))
      .norm_clip(v[8])
      .norm_epsilon(v[9]);
}

TransformerPolicyOptions read_policy_options(const std::string& path) {
  torch::serialize::InputArchive archive;
  archive.load_from(path, torch::kCPU);
  return read_policy_options(archive);
}

TransformerPolicy load_policy(const std::string& path, torch::Device device) {
  TransformerPolicy policy(read_policy_options(path));
  torch::load(policy, path, device);
  policy->to(device);
  return policy;
}

// ---- normaliser -------------------------------------------------------------------------

Tensor TransformerPolicyImpl::normalize(const Tensor& features, const Tensor& token_type) const {
  torch::NoGradGuard no_grad;
  const int64_t B = features.size(0), T = features.size(1), F = features.size(2);
  const Tensor mean = norm_mean_.to(torch::kFloat32);
  const Tensor scale = (norm_m2_ / norm_count_.unsqueeze(1) + options_.norm_epsilon()).rsqrt().to(torch::kFloat32);
  const Tensor type = token_type.clamp(0, kTypes - 1).reshape({-1});
  const Tensor m = mean.index_select(0, type).view({B, T, F});
  const Tensor s = scale.index_select(0, type).view({B, T, F});
  const double c = options_.norm_clip();
  return ((features - m) * s).clamp_(-c, c);
}

void TransformerPolicyImpl::update_normalizer(const ObsTensors& obs) {
  torch::NoGradGuard no_grad;
  const int64_t F = obs.features.size(2);
  const Tensor x = obs.features.reshape({-1, F}).to(torch::kFloat64);
  const Tensor type = obs.token_type.reshape({-1});
  const Tensor onehot = (type.unsqueeze(1) == torch::arange(kTypes, type.options())).logical_and_(obs.valid.reshape({-1, 1}))
                            .to(torch::kFloat64);  // (N,K): valid tokens of each type
  const Tensor n = onehot.sum(0);                                                   // (K)
  const Tensor batch_mean = onehot.t().mm(x) / n.clamp_min(1).unsqueeze(1);         // (K,F)
  const Tensor dev = x - batch_mean.index_select(0, type.clamp(0, kTypes - 1));      // (N,F)
  const Tensor batch_m2 = onehot.t().mm(dev * dev);                                  // (K,F)
  // Chan et al.'s merge of (count, mean, M2) with the batch's; a type absent from the batch
  // (n = 0) keeps its statistics exactly.
  const Tensor total = norm_count_ + n;
  const Tensor delta = batch_mean - norm_mean_;
  const Tensor w = (n / total).unsqueeze(1);
  norm_m2_.add_(batch_m2 + delta * delta * (norm_count_ * w.squeeze(1)).unsqueeze(1));
  norm_mean_.add_(delta * w);
  norm_count_.copy_(total);
}

// ---- trunk ------------------------------------------------------------------------------

struct detail::Trunk {
  Tensor z;  // (B,T,d) token embeddings
  // Global head (B, .): verb (V), diag type (D), target queries (V,P), diag queries (D,P).
  Tensor verb, diag_type, target_queries, diag_queries;
  // Token head (B,T, .): target keys (P), diag keys (P), delta (3), move (2).
  Tensor target_keys, diag_keys, delta, move;
  Tensor value;  // (B)
};

Tensor TransformerPolicyImpl::encode(const ObsTensors& obs) {
  const int64_t B = obs.batch(), T = obs.tokens(), F = obs.features.size(2), d = options_.d_model();
  if (F != options_.feature_width())
    throw std::invalid_argument(fmt::format("TransformerPolicy: observation feature width {} differs from the policy's {}",
                                            F, options_.feature_width()));
  const int64_t N = B * T;
  const InputColumns ic{F};
  // The embedding's input carries no gradient: built once, under no_grad, into one buffer,
  // every part written with contiguous rows (broadcast products into strided rows are slow).
  const Tensor input = [&] {
    torch::NoGradGuard no_grad;
    const Tensor xn = normalize(obs.features, obs.token_type).view({N, F});
    const Tensor type = obs.token_type.reshape({N});
    Tensor in = torch::empty({N, ic.width()}, xn.options());
    // Type blocks: zero, then each real token's [xn, 1] into its type's block.
    Tensor blocks = in.narrow(1, 0, ic.links()).view({N, kTypes, F + 1});
    blocks.zero_();
    Tensor own = torch::empty({N, F + 1}, xn.options());
    own.narrow(1, 0, F).copy_(xn);
    own.select(1, F).fill_(1.0);
    own.masked_fill_((type >= kTypes).unsqueeze(1), 0.0);  // padding: its block stays 0
    blocks.index_put_({torch::arange(N, type.options()), type.clamp(0, kTypes - 1)}, own);
    // Linked service and node: their xn rows, a zero row for -1.
    Tensor linked = in.narrow(1, ic.links(), 2 * F);
    if (obs.links.defined()) {
      const Tensor rows = torch::arange(B, obs.links.options()).mul_(T).view({B, 1, 1});
      const Tensor index = torch::where(obs.links >= 0, obs.links + rows, torch::full({}, N, obs.links.options())).view({-1});
      const Tensor table = torch::cat({xn, torch::zeros({1, F}, xn.options())});
      linked.copy_(table.index_select(0, index).view({N, 2 * F}));
    } else {
      linked.zero_();
    }
    const Tensor task = (obs.task_id.view({B, 1}) == torch::arange(envs::kNumTasks, obs.task_id.options())).to(xn.scalar_type());
    in.narrow(1, ic.task(), envs::kNumTasks).view({B, T, envs::kNumTasks}).copy_(task.unsqueeze(1).expand({B, T, envs::kNumTasks}));
    return in;
  }();
  Tensor h = embed_(input).view({B, T, d});
  for (const auto& layer : *layers_) h = layer->as<EncoderLayer>()->forward(h, obs.valid);
  return final_norm_(h);
}

detail::Trunk TransformerPolicyImpl::trunk(const ObsTensors& obs) {
  const int64_t B = obs.batch(), P = options_.pointer_dim();
  detail::Trunk t;
  t.z = encode(obs);
  const Tensor g = t.z.select(1, 0);
  // One split per fused head: its backward is one concatenation, where a narrow per part would
  // cost a zero-filled gradient buffer each.
  const auto global = global_head_(g).split_with_sizes({V, D, V * P, D * P}, 1);
  t.verb = global[0];
  t.diag_type = global[1];
  t.target_queries = global[2].view({B, V, P});
  t.diag_queries = global[3].view({B, D, P});
  const auto tokens = token_head_(t.z).split_with_sizes({P, P, kDeltas, kMoves}, 2);
  t.target_keys = tokens[0];
  t.diag_keys = tokens[1];
  t.delta = tokens[2];
  t.move = tokens[3];
  t.value = value_out_(torch::relu(value_hidden_(g))).squeeze(-1);
  return t;
}

Tensor TransformerPolicyImpl::value(const ObsTensors& obs) {
  const Tensor z = encode(obs);
  return value_out_(torch::relu(value_hidden_(z.select(1, 0)))).squeeze(-1);
}

// ---- heads ------------------------------------------------------------------------------

namespace {

// Chooses a head's value from its distribution: the given action column (evaluate), a sample
// or the mode (act).
// `column` and `count`: the head's entries in the task's action row.
using Choose = std::function<Tensor(const MaskedCategorical& dist, envs::TaskId task, int64_t column, int64_t count)>;

struct HeadResult {
  Tensor actions;   // (B, task's action width) int64
  Tensor log_prob;  // (B)
  Tensor entropy;   // (B) (undefined without entropy)
  Tensor diag_type_logits;
  Tensor diag_target_logits;
};

struct TaskRows {
  Tensor is_incident;  // (B) bool
  bool any_incident = false, any_autoscale = false;
};

TaskRows task_rows(const ObsTensors& obs) {
  TaskRows r;
  r.is_incident = obs.task_id == static_cast<int64_t>(envs::TaskId::kIncident);
  const int64_t n = r.is_incident.sum().item<int64_t>();
  r.any_incident = n > 0;
  r.any_autoscale = n < obs.batch();
  return r;
}

// The queries of row `rows` (B) of a (B, R, P) table dotted with every token's key: (B,T).
// (A broadcast product and a sum: bmm would loop over B with a select and a gemm per row.)
Tensor pointer(const Tensor& queries, const Tensor& rows, const Tensor& keys) {
  const int64_t B = queries.size(0), P = queries.size(2);
  const Tensor q = queries.gather(1, rows.view({B, 1, 1}).expand({B, 1, P}));  // (B,1,P)
  return (keys * q).sum(2) * (1.0 / std::sqrt(static_cast<double>(P)));
}

Tensor mask_row(const Tensor& table, const Tensor& rows) {  // (B,R,T) bool, rows (B) -> (B,T)
  const int64_t B = table.size(0), T = table.size(2);
  return table.gather(1, rows.view({B, 1, 1}).expand({B, 1, T})).squeeze(1);
}

void accumulate(HeadResult& r, const MaskedCategorical& dist, const Tensor& value, bool with_entropy) {
  Tensor lp = dist.log_prob(value), ent = with_entropy ? dist.entropy() : Tensor();
  if (lp.dim() == 2) {  // one entry per token
    lp = lp.sum(1);
    if (ent.defined()) ent = ent.sum(1);
  }
  r.log_prob = r.log_prob.defined() ? r.log_prob + lp : lp;
  if (with_entropy) r.entropy = r.entropy.defined() ? r.entropy + ent : ent;
}

// The diagnosis heads' unmasked reading of the current fault (the auxiliary loss trains it at
// every step, the claim's one-shot mask aside), without gradient: remediation may lean on it,
// but PPO's remediation gradient must not bend the diagnosis.
struct Belief {
  Tensor type_probs;      // (B,D) softmax of the unmasked diagnosis-type logits
  Tensor root_log_probs;  // (B,T) log sum_d p(d) p(token | d), valid tokens only, clamped at kBeliefFloor
};

Belief belief(const detail::Trunk& t, const Tensor& valid) {
  torch::NoGradGuard no_grad;
  const double scale = 1.0 / std::sqrt(static_cast<double>(t.diag_queries.size(2)));
  const Tensor type_log = torch::log_softmax(t.diag_type, 1);                                  // (B,D)
  const Tensor roots = torch::matmul(t.diag_queries, t.diag_keys.transpose(1, 2)).mul_(scale);  // (B,D,T)
  const Tensor root_log = torch::log_softmax(roots.masked_fill(valid.logical_not().unsqueeze(1), kMaskedLogit), 2);
  return {type_log.exp(), torch::logsumexp(root_log + type_log.unsqueeze(2), 1).clamp_min(kBeliefFloor)};
}

HeadResult incident_heads(const detail::Trunk& t, const Tensor& valid, const Tensor& mask, const Choose& choose,
                          bool with_entropy, const Tensor& aux_type, const Tensor& verb_from_belief,
                          const Tensor& target_from_belief) {
  const int64_t B = t.z.size(0), T = t.z.size(1);
  const envs::incident::MaskLayout layout{static_cast<int>(T)};
  const Tensor target_masks = mask.narrow(1, layout.target(0), V * T).view({B, V, T});
  const Tensor diag_masks = mask.narrow(1, layout.diag_target(0), D * T).view({B, D, T});
  const Belief b = belief(t, valid);
  HeadResult r;

  const MaskedCategorical verb_dist(t.verb + b.type_probs.mm(verb_from_belief).mul_(kBeliefGain), mask.narrow(1, layout.verb(), V));
  const Tensor verb = choose(verb_dist, envs::TaskId::kIncident, envs::incident::kVerb, 1);
  accumulate(r, verb_dist, verb, with_entropy);

  const Tensor target_logits =
      pointer(t.target_queries, verb, t.target_keys) + target_from_belief.index_select(0, verb).unsqueeze(1) * b.root_log_probs;
  const MaskedCategorical target_dist(target_logits, mask_row(target_masks, verb));
  const Tensor target = choose(target_dist, envs::TaskId::kIncident, envs::incident::kTarget, 1);
  accumulate(r, target_dist, target, with_entropy);

  const MaskedCategorical type_dist(t.diag_type, mask.narrow(1, layout.diag_type(), D));
  const Tensor type = choose(type_dist, envs::TaskId::kIncident, envs::incident::kDiagType, 1);
  accumulate(r, type_dist, type, with_entropy);
  r.diag_type_logits = t.diag_type;

  const MaskedCategorical where_dist(pointer(t.diag_queries, type, t.diag_keys), mask_row(diag_masks, type));
  const Tensor where = choose(where_dist, envs::TaskId::kIncident, envs::incident::kDiagTarget, 1);
  accumulate(r, where_dist, where, with_entropy);
  r.diag_target_logits = aux_type.defined()
                             ? pointer(t.diag_queries, aux_type, t.diag_keys).masked_fill(valid.logical_not(), kMaskedLogit)
                             : where_dist.masked_logits();

  r.actions = torch::stack({verb, target, type, where}, 1);
  return r;
}

HeadResult autoscale_heads(const detail::Trunk& t, const Tensor& mask, const Choose& choose, bool with_entropy) {
  const int64_t B = t.z.size(0), T = t.z.size(1);
  const envs::autoscale::MaskLayout layout{static_cast<int>(T)};
  const envs::autoscale::Columns cols{static_cast<int>(T)};
  HeadResult r;
  const MaskedCategorical delta_dist(t.delta, mask.narrow(1, layout.delta(0), T * kDeltas).view({B, T, kDeltas}));
  const Tensor delta = choose(delta_dist, envs::TaskId::kAutoscale, cols.delta(0), T);
  accumulate(r, delta_dist, delta, with_entropy);
  const MaskedCategorical move_dist(t.move, mask.narrow(1, layout.move(0), T * kMoves).view({B, T, kMoves}));
  const Tensor move = choose(move_dist, envs::TaskId::kAutoscale, cols.move(0), T);
  accumulate(r, move_dist, move, with_entropy);
  r.actions = torch::cat({delta, move}, 1);
  return r;
}

void check_width(const char* what, int64_t have, int64_t need, envs::TaskId task, int64_t T) {
  if (have < need)
    throw std::invalid_argument(fmt::format("TransformerPolicy: the batch has {} rows but its {} width is {}, less than "
                                            "the {} needs for T = {} ({})",
                                            task == envs::TaskId::kIncident ? "incident" : "autoscale", what, have,
                                            task == envs::TaskId::kIncident ? "incident task" : "autoscale task", T, need));
}

// Runs both tasks' heads (each only if the batch has rows of it) and selects per row.
struct Combined {
  Tensor actions, log_prob, entropy, diag_type_logits, diag_target_logits;
};

Combined run_heads(const ObsTensors& obs, const detail::Trunk& t, const Choose& choose, bool with_entropy,
                   const Tensor& aux_type, int64_t action_width, const Tensor& verb_from_belief,
                   const Tensor& target_from_belief) {
  const int64_t B = obs.batch(), T = obs.tokens(), M = obs.action_mask.size(1);
  const TaskRows rows = task_rows(obs);
  HeadResult inc, aut;
  if (rows.any_incident) {
    check_width("mask", M, task_mask_width(envs::TaskId::kIncident, T), envs::TaskId::kIncident, T);
    check_width("action", action_width, task_action_width(envs::TaskId::kIncident, T), envs::TaskId::kIncident, T);
    inc = incident_heads(t, obs.valid, obs.action_mask, choose, with_entropy, aux_type, verb_from_belief,
                         target_from_belief);
  }
  if (rows.any_autoscale) {
    check_width("mask", M, task_mask_width(envs::TaskId::kAutoscale, T), envs::TaskId::kAutoscale, T);
    check_width("action", action_width, task_action_width(envs::TaskId::kAutoscale, T), envs::TaskId::kAutoscale, T);
    aut = autoscale_heads(t, obs.action_mask, choose, with_entropy);
  }
  const auto pad = [&](const Tensor& a) { return torch::constant_pad_nd(a, {0, action_width - a.size(1)}, 0); };
  Combined c;
  if (rows.any_incident && rows.any_autoscale) {
    const Tensor inc_rows = rows.is_incident;
    c.actions = torch::where(inc_rows.unsqueeze(1), pad(inc.actions), pad(aut.actions));
    c.log_prob = torch::where(inc_rows, inc.log_prob, aut.log_prob);
    if (with_entropy) c.entropy = torch::where(inc_rows, inc.entropy, aut.entropy);
  } else {
    const HeadResult& only = rows.any_incident ? inc : aut;
    c.actions = pad(only.actions);
    c.log_prob = only.log_prob;
    c.entropy = only.entropy;
  }
  if (rows.any_incident) {
    c.diag_type_logits = inc.diag_type_logits;
    c.diag_target_logits = inc.diag_target_logits;
  } else {
    c.diag_type_logits = torch::full({B, D}, kMaskedLogit, t.z.options());
    c.diag_target_logits = torch::full({B, T}, kMaskedLogit, t.z.options());
  }
  return c;
}

int64_t action_width_of(const ObsTensors& obs) {
  if (obs.action_width > 0) return obs.action_width;
  const TaskRows rows = task_rows(obs);
  int64_t a = 0;
  if (rows.any_incident) a = std::max(a, task_action_width(envs::TaskId::kIncident, obs.tokens()));
  if (rows.any_autoscale) a = std::max(a, task_action_width(envs::TaskId::kAutoscale, obs.tokens()));
  return a;
}

}  // namespace

ActOutput TransformerPolicyImpl::act(const ObsTensors& obs, bool greedy, torch::Generator generator) {
  torch::NoGradGuard no_grad;
  const detail::Trunk t = trunk(obs);
  const Choose choose = [&](const MaskedCategorical& dist, envs::TaskId, int64_t, int64_t) {
    return greedy ? dist.mode() : dist.sample(generator);
  };
  const Combined c = run_heads(obs, t, choose, /*with_entropy=*/false, Tensor(), action_width_of(obs), verb_from_belief_,
                               target_from_belief_);
  return {c.actions.to(torch::kInt32), c.log_prob, t.value};
}

EvaluateOutput TransformerPolicyImpl::evaluate(const ObsTensors& obs, const Tensor& actions, const Tensor& aux_type,
                                               const Tensor& teacher_actions) {
  const int64_t B = obs.batch();
  for (const Tensor* rows : {&actions, &teacher_actions})
    if (rows->defined() && (rows->dim() != 2 || rows->size(0) != B))
      throw std::invalid_argument(fmt::format("TransformerPolicy::evaluate: {} must be (B, A) with B = {}, got {}",
                                              rows == &actions ? "actions" : "teacher_actions", B,
                                              fmt::join(rows->sizes(), "x")));
  const detail::Trunk t = trunk(obs);
  // A row of the other task may hold values out of this head's range: read only this task's rows.
  const Tensor is_incident = (obs.task_id == static_cast<int64_t>(envs::TaskId::kIncident)).unsqueeze(1);
  const auto choose_from = [&](const Tensor& rows) -> Choose {
    const Tensor a = rows.to(torch::kInt64);
    return [&is_incident, a](const MaskedCategorical&, envs::TaskId task, int64_t column, int64_t count) {
      const Tensor mine = task == envs::TaskId::kIncident ? is_incident : is_incident.logical_not();
      const Tensor v = a.narrow(1, column, count).masked_fill(mine.logical_not(), 0);
      return count == 1 && task == envs::TaskId::kIncident ? v.squeeze(1) : v;
    };
  };
  const Tensor aux = aux_type.defined() ? aux_type.to(torch::kInt64).masked_fill(is_incident.squeeze(1).logical_not(), 0) : Tensor();
  const Combined c = run_heads(obs, t, choose_from(actions), /*with_entropy=*/true, aux, actions.size(1),
                               verb_from_belief_, target_from_belief_);
  EvaluateOutput out{c.log_prob, c.entropy, t.value, c.diag_type_logits, c.diag_target_logits, {}};
  if (teacher_actions.defined())
    out.teacher_log_prob = run_heads(obs, t, choose_from(teacher_actions), /*with_entropy=*/false, Tensor(),
                                     teacher_actions.size(1), verb_from_belief_, target_from_belief_)
                               .log_prob;
  return out;
}

PolicyHeads TransformerPolicyImpl::heads(const ObsTensors& obs) {
  const detail::Trunk t = trunk(obs);
  const int64_t B = obs.batch(), T = obs.tokens(), P = options_.pointer_dim(), M = obs.action_mask.size(1);
  // The mask row padded to the widest layout, so that both tasks' heads can be read from it.
  const int64_t width = std::max(task_mask_width(envs::TaskId::kIncident, T), task_mask_width(envs::TaskId::kAutoscale, T));
  const Tensor mask = torch::constant_pad_nd(obs.action_mask, {0, width - M}, 0);
  const envs::incident::MaskLayout il{static_cast<int>(T)};
  const envs::autoscale::MaskLayout al{static_cast<int>(T)};
  const double scale = 1.0 / std::sqrt(static_cast<double>(P));
  const auto masked = [](const Tensor& logits, const Tensor& m) { return logits.masked_fill(m.logical_not(), kMaskedLogit); };
  const Belief b = belief(t, obs.valid);
  PolicyHeads h;
  h.verb = masked(t.verb + b.type_probs.mm(verb_from_belief_).mul_(kBeliefGain), mask.narrow(1, il.verb(), V));
  h.target = masked(torch::matmul(t.target_queries, t.target_keys.transpose(1, 2)) * scale +
                        target_from_belief_.view({1, V, 1}) * b.root_log_probs.unsqueeze(1),
                    mask.narrow(1, il.target(0), V * T).view({B, V, T}));
  h.diag_type = masked(t.diag_type, mask.narrow(1, il.diag_type(), D));
  h.diag_target = masked(torch::matmul(t.diag_queries, t.diag_keys.transpose(1, 2)) * scale,
                         mask.narrow(1, il.diag_target(0), D * T).view({B, D, T}));
  h.delta = masked(t.delta, mask.narrow(1, al.delta(0), T * kDeltas).view({B, T, kDeltas}));
  h.move = masked(t.move, mask.narrow(1, al.move(0), T * kMoves).view({B, T, kMoves}));
  h.value = t.value;
  return h;
}

}  // namespace opsrl::agents
