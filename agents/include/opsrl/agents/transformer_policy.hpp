#pragma once
// The learned policy: one transformer over the entity tokens for both task families.
// (Interface agreed between agents/ and train/; implementation in agents/src/.)
//
//   features (B,T,F) --normalise per token type (running mean/var buffers, clip +-10)-->
//     one linear embedding of [the token's features in its type's block | its linked service's
//     and node's features | the task one-hot]  (a per-type projection, links and task in one matmul)
//     --> pre-norm transformer encoder (key padding mask = !valid) --> final LayerNorm -->
//     heads: incident  verb (V) | target per chosen verb: pointer over tokens (T)
//                      diagnosis type (D) | diagnosis token per chosen type: pointer (T)
//            autoscale delta per token (3) | move per token (2)
//            value from the global token (separate MLP)
//
// Parameter     Default  Meaning
// feature_width required F, from the env spec
// d_model       64       width of the token embeddings
// layers        2        encoder layers
// heads         4        attention heads (d_model % heads == 0)
// ff            128      feed-forward width
// pointer_dim   32       width of the pointer heads' queries and keys
// value_hidden  64       hidden width of the value MLP
// max_tokens    0        informational (exports); any T works
// norm_clip     10       normalised features are clipped to [-norm_clip, norm_clip]
// norm_epsilon  1e-8     added to the running variance
// There is no dropout: PPO wants deterministic forward passes.
//
// Every head is a masked categorical (MaskedCategorical below): logits of masked choices are
// replaced by kMaskedLogit before the softmax, so log-probabilities and entropies are those of
// the distribution over the allowed choices only. A row's log-probability is the sum over its
// task's heads (conditional heads use the mask row selected by the value chosen in the head they
// depend on); a head whose mask row allows nothing (noop's target, padding tokens' deltas)
// contributes nothing (log-prob 0, entropy 0) and its written value is 0; heads of the other
// task contribute nothing. Works for any T (padding via `valid`) and for batches mixing tasks
// (every head is computed for every row and selected by task_id; no per-row loop).
//
// The exact forward computation (what an exporter must reproduce), K = 4 real token types:
//   type   = token_type clamped to [0, K-1]
//   xn     = clip((features - mean[type]) * rsqrt(var[type] + eps), -clip, clip)      (B,T,F)
//            mean = norm_mean, var = norm_m2 / norm_count (float64 buffers, per type and column)
//   input  = [ one_hot(token_type, K) (x) [xn, 1]     K*(F+1) columns: block k holds the token's
//                                                      [xn, 1] if its type is k, else 0 (padding: all 0)
//            | xn[links[.,.,0]] | xn[links[.,.,1]]    2F: the linked service's and node's xn (0 for -1)
//            | one_hot(task_id, 2) ]                  broadcast to every token
//   h      = input @ embed.weight^T                                                      (B,T,d)
//   layers: h = h + out(attn(ln1(h))); h = h + ff2(relu(ff1(ln2(h))))
//            attn: qkv = ln1(h) @ qkv.weight^T + qkv.bias, split [q | k | v], heads of d/H columns,
//                  softmax(q k^T / sqrt(d/H) + (valid ? 0 : kMaskedLogit) over keys) v
//   z      = final_norm(h)                                                               (B,T,d)
//   g      = z[:, 0]  (the global token)
//   global_head(g) = [verb (V) | diag_type (D) | target queries (V x P) | diag queries (D x P)]
//   token_head(z)  = [target keys (P) | diag keys (P) | delta (3) | move (2)]     per token
//   pointer logits(row r) = query_r . key_t / sqrt(P)
//   value  = value_out(relu(value_hidden(g)))
//   belief (remediation conditioned on the diagnosis, computed without gradient):
//     p_type = softmax(diag_type)                                  (B,D) unmasked logits
//     root   = max(kBeliefFloor, logsumexp_d(log p_type[d] + log_softmax_t(diag pointer logits row d,
//                                    padding tokens at kMaskedLogit)))                      (B,T)
//     verb logits        += kBeliefGain * p_type @ verb_from_belief (D,V) parameter, zero at init
//     target logits[v,t] += target_from_belief[v] * root[t]       (V) parameter, one at init
//   The auxiliary diagnosis loss trains diag_type and the diag pointer at every incident step on
//   the fault currently active, so the belief says what is wrong now and where; PPO learns which
//   verb fixes which fault (verb_from_belief) and how far to trust the belief's root for targets.
#include <cstdint>
#include <string>

#include <torch/torch.h>

#include <opsrl/envs/observation.hpp>
#include <opsrl/envs/spec.hpp>

namespace opsrl::agents {

namespace detail {
struct Trunk;  // the encoder's output and every head's raw output (transformer_policy.cpp)
}

// The logit given to masked choices: exp() of it underflows to exactly 0 next to any allowed
// choice, and unlike -inf it never produces 0 * inf = NaN in entropies and gradients.
inline constexpr float kMaskedLogit = -1e9f;

// The belief terms' constants (the forward computation above; exporters read them here).
// verb_from_belief is one small table that must reach logits of several units: scaled up so that
// Adam's per-parameter steps (about the learning rate) move it as fast as the trunk's logits.
inline constexpr double kBeliefGain = 10.0;
inline constexpr double kBeliefFloor = -30.0;  // lower clamp of the belief's root log-probabilities

struct TransformerPolicyOptions {
  TORCH_ARG(int, feature_width) = 0;  // F, from the env spec (required)
  TORCH_ARG(int, d_model) = 64;
  TORCH_ARG(int, layers) = 2;
  TORCH_ARG(int, heads) = 4;
  TORCH_ARG(int, ff) = 128;
  TORCH_ARG(int, pointer_dim) = 32;
  TORCH_ARG(int, value_hidden) = 64;
  TORCH_ARG(int, max_tokens) = 0;     // informational (exports); any T works
  TORCH_ARG(double, norm_clip) = 10.0;
  TORCH_ARG(double, norm_epsilon) = 1e-8;
};

// An observation batch as tensors on a device (copied from envs::ObservationBatch).
struct ObsTensors {
  torch::Tensor features;     // (B,T,F) float32, raw (the policy normalises)
  torch::Tensor token_type;   // (B,T) int64, envs::TokenType
  torch::Tensor valid;        // (B,T) bool
  torch::Tensor links;        // (B,T,2) int64: replica tokens [service token, node token or -1], others -1
                              // (undefined: read as all -1)
  torch::Tensor task_id;      // (B) int64, envs::TaskId
  torch::Tensor action_mask;  // (B,M) bool, envs' mask row layout (widest task's M)
  // A of act()'s rows: the widest task's action width in the batch it came from (VecEnv's
  // action_width()); 0 = infer from the tasks present in task_id.
  int64_t action_width = 0;

  int64_t batch() const { return features.size(0); }
  int64_t tokens() const { return features.size(1); }
};

// Widths of one task's action row and mask row for T tokens (envs' layouts, actions.hpp).
int64_t task_action_width(envs::TaskId task, int64_t tokens);
int64_t task_mask_width(envs::TaskId task, int64_t tokens);

// One copy per array (int32 -> int64 and uint8 -> bool conversions happen in that copy).
// action_width 0: the widest of the tasks present in obs.task_id().
ObsTensors to_tensors(const envs::ObservationBatch& obs, torch::Device device = torch::kCPU, int64_t action_width = 0);
// Into `out`'s tensors when they already have the batch's shapes (e.g. views of one step of a
// rollout buffer), else into new tensors on out.features' device (CPU if undefined). Keeps
// out.action_width unless it is 0.
void to_tensors(const envs::ObservationBatch& obs, ObsTensors& out);
// Rows [begin, end) of a batch (views).
ObsTensors slice(const ObsTensors& obs, int64_t begin, int64_t end);
// Rows `rows` (int64 indices) of a batch (copies).
ObsTensors index(const ObsTensors& obs, const torch::Tensor& rows);
ObsTensors to_device(const ObsTensors& obs, torch::Device device);

// A categorical distribution over the last axis restricted to `mask` (true = allowed).
// Rows whose mask allows nothing are "empty": log_prob 0, entropy 0, sample and mode 0.
class MaskedCategorical {
 public:
  // logits (...,C) floating, mask (...,C) bool, same shape.
  MaskedCategorical(const torch::Tensor& logits, const torch::Tensor& mask);

  const torch::Tensor& masked_logits() const { return masked_; }  // (...,C) kMaskedLogit where masked
  const torch::Tensor& log_probs() const { return log_probs_; }   // (...,C) log_softmax(masked_logits)
  torch::Tensor probs() const;                                     // (...,C) exactly 0 where masked; 0 rows when empty
  const torch::Tensor& allowed() const { return any_; }            // (...) bool, the row allows a choice
  torch::Tensor log_prob(const torch::Tensor& value) const;        // (...) of int64 values
  torch::Tensor entropy() const;                                   // (...)
  torch::Tensor sample(torch::Generator generator = {}) const;     // (...) int64, Gumbel-max
  torch::Tensor mode() const;                                      // (...) int64, argmax

 private:
  torch::Tensor masked_, log_probs_, any_;
};

struct ActOutput {
  torch::Tensor actions;   // (B,A) int32 action rows in envs' layout (A = obs.action_width)
  torch::Tensor log_prob;  // (B)
  torch::Tensor value;     // (B)
};

struct EvaluateOutput {
  torch::Tensor log_prob;  // (B) of the given actions
  torch::Tensor entropy;   // (B) sum of the heads' entropies (conditional heads at the taken choice)
  torch::Tensor value;     // (B)
  // (B,D) incident diagnosis-type logits WITHOUT the action mask (the belief), for the
  // auxiliary loss at every incident step; rows of the other task carry kMaskedLogit.
  torch::Tensor diag_type_logits;
  // (B,T) pointer logits of the aux_type row (see evaluate()) with only padding tokens masked;
  // without aux_type, the taken type's row under the action mask.
  torch::Tensor diag_target_logits;
  // (B) log-probability of evaluate()'s teacher_actions (kickstarting); undefined without them.
  torch::Tensor teacher_log_prob;
};

// Every head's masked logits for every row (the other task's heads too: select by task_id), for
// exports and inspection.
struct PolicyHeads {
  torch::Tensor verb;         // (B,V)
  torch::Tensor target;       // (B,V,T) row v: targets of verb v
  torch::Tensor diag_type;    // (B,D)
  torch::Tensor diag_target;  // (B,D,T) row d: root-cause tokens of diagnosis type d
  torch::Tensor delta;        // (B,T,3)
  torch::Tensor move;         // (B,T,2)
  torch::Tensor value;        // (B)
};

class TransformerPolicyImpl : public torch::nn::Module {
 public:
  explicit TransformerPolicyImpl(TransformerPolicyOptions options);

  // Samples (or, greedy, takes the argmax of) every head. Uses `generator` if defined. Runs
  // under NoGradGuard (rollouts): the outputs carry no graph.
  ActOutput act(const ObsTensors& obs, bool greedy, torch::Generator generator = {});
  // Log-probability, entropy and value of given action rows (B,A) int32/int64.
  // diag_target_logits are computed for the diagnosis-type row given by `aux_type` (B) int64 if
  // defined (the true fault type, for the auxiliary loss), else for the taken diagnosis type.
  // teacher_actions (B,A), if defined: a second set of rows whose log-probability comes from the
  // same encoder pass (teacher_log_prob), for the kickstarting loss.
  EvaluateOutput evaluate(const ObsTensors& obs, const torch::Tensor& actions, const torch::Tensor& aux_type = {},
                          const torch::Tensor& teacher_actions = {});
  // (B); follows the caller's grad mode.
  torch::Tensor value(const ObsTensors& obs);
  PolicyHeads heads(const ObsTensors& obs);
  // (B,T,d) token embeddings after the encoder's final LayerNorm.
  torch::Tensor encode(const ObsTensors& obs);
  // (B,T,F) normalised, clipped features (no grad).
  torch::Tensor normalize(const torch::Tensor& features, const torch::Tensor& token_type) const;

  // Running mean/variance of the features of valid tokens, per token type and feature column
  // (Chan/Welford merge in float64), stored as buffers (norm_count (K), norm_mean (K,F),
  // norm_m2 (K,F)) so that they are saved and exported with the model. Starts at mean 0,
  // variance 1 with a count of 1e-4 (as CleanRL's RunningMeanStd).
  void update_normalizer(const ObsTensors& obs);

  const TransformerPolicyOptions& options() const { return options_; }

 private:
  detail::Trunk trunk(const ObsTensors& obs);

  TransformerPolicyOptions options_;
  torch::nn::Linear embed_{nullptr};
  torch::nn::ModuleList layers_{nullptr};
  torch::nn::LayerNorm final_norm_{nullptr};
  torch::nn::Linear global_head_{nullptr}, token_head_{nullptr};
  torch::nn::Linear value_hidden_{nullptr}, value_out_{nullptr};
  torch::Tensor verb_from_belief_, target_from_belief_;  // see "belief" above
  torch::Tensor norm_count_, norm_mean_, norm_m2_;  // float64 buffers
  torch::Tensor architecture_;                     // float64 buffer: the options, see read_policy_options
};
TORCH_MODULE(TransformerPolicy);

// Sets LibTorch's intra-op threads and, when LibTorch's BLAS is OpenBLAS, OpenBLAS's own thread
// pool, which torch::set_num_threads does not reach (its matrix products would use every core).
void set_compute_threads(int threads);

// The options a policy was saved with (torch::save(policy, path), or an archive holding it):
// read from its "architecture" buffer.
TransformerPolicyOptions read_policy_options(torch::serialize::InputArchive& archive);
TransformerPolicyOptions read_policy_options(const std::string& path);
// Builds a policy with the saved options and loads its parameters and buffers.
TransformerPolicy load_policy(const std::string& path, torch::Device device = torch::kCPU);

}  // namespace opsrl::agents
