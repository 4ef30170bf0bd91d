// Output-by-output comparison and greedy decoding (verify.hpp).
#include <opsrl/export/verify.hpp>

#include <cmath>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <opsrl/envs/actions.hpp>
#include <opsrl/envs/spec.hpp>
#include <opsrl/export/policy_graph.hpp>

namespace opsrl::exporter {

namespace {

constexpr float kMaskedLogit = -1e9f;  // agents::kMaskedLogit
constexpr std::size_t kMaxProblems = 8;

void problem(VerifyReport& r, std::string text) {
  if (r.problems.size() < kMaxProblems) r.problems.push_back(std::move(text));
}

// Index of the first largest of n values at stride 1.
int argmax(const float* x, int n) {
  int best = 0;
  for (int i = 1; i < n; ++i)
    if (x[i] > x[best]) best = i;
  return best;
}

enum class Verdict { kSame, kTie, kDiffer };

// The ONNX choice against LibTorch's over the same n choices.
Verdict choose(const float* onnx, const float* torch_logits, int n, int torch_choice, double tol, int& onnx_choice) {
  onnx_choice = argmax(onnx, n);
  if (onnx_choice == torch_choice) return Verdict::kSame;
  return std::abs(static_cast<double>(torch_logits[onnx_choice]) - torch_logits[torch_choice]) <= tol ? Verdict::kTie
                                                                                                      : Verdict::kDiffer;
}

}  // namespace

const std::vector<std::string>& output_names() {
  static const std::vector<std::string> names{"verb", "target", "diag_type", "diag_target", "delta", "move", "value"};
  return names;
}

bool VerifyReport::passed() const {
  if (outputs.size() != output_names().size() || !problems.empty() || greedy_mismatches > 0) return false;
  for (const OutputDiff& o : outputs)
    if (o.mask_mismatches > 0 || o.nan > 0 || !(o.max_abs_diff <= tolerance)) return false;
  return true;
}

double VerifyReport::max_logit_diff() const {
  double m = 0;
  for (const OutputDiff& o : outputs)
    if (o.name != "value") m = std::max(m, o.max_abs_diff);
  return m;
}

const OutputDiff* VerifyReport::output(const std::string& name) const {
  for (const OutputDiff& o : outputs)
    if (o.name == name) return &o;
  return nullptr;
}

void compare_outputs(const ObservationSet& set, const ReferenceOutputs& ref, const std::map<std::string, RawArray>& onnx,
                     VerifyReport& r) {
  if (r.outputs.empty())
    for (const std::string& name : output_names()) {
      OutputDiff o;
      o.name = name;
      r.outputs.push_back(o);
    }
  r.sets.push_back(set.label);
  const int B = set.batch.num_envs(), T = set.batch.max_tokens();
  r.rows += B;

  // ---- every output, entry by entry ----
  bool complete = true;
  for (OutputDiff& o : r.outputs) {
    const auto t = ref.heads.find(o.name);
    const auto x = onnx.find(o.name);
    if (t == ref.heads.end() || x == onnx.end()) {
      problem(r, fmt::format("{}: output {} missing from {}", set.label, o.name, t == ref.heads.end() ? "LibTorch" : "ONNX Runtime"));
      complete = false;
      continue;
    }
    if (t->second.shape != x->second.shape || x->second.dtype != "float32") {
      problem(r, fmt::format("{}: output {} is [{}] {} in ONNX Runtime, [{}] in LibTorch", set.label, o.name,
                             fmt::join(x->second.shape, ", "), x->second.dtype, fmt::join(t->second.shape, ", ")));
      complete = false;
      continue;
    }
    const float* a = t->second.floats();
    const float* b = x->second.floats();
    for (std::int64_t i = 0, n = t->second.numel(); i < n; ++i) {
      if (std::isnan(a[i]) || std::isnan(b[i])) {
        ++o.nan;
        continue;
      }
      const bool ma = a[i] == kMaskedLogit, mb = b[i] == kMaskedLogit;
      if (ma && mb) {
        ++o.masked;
      } else if (ma != mb) {
        ++o.mask_mismatches;
      } else {
        ++o.compared;
        const double diff = std::abs(static_cast<double>(a[i]) - b[i]);
        if (diff > o.max_abs_diff) {
          o.max_abs_diff = diff;
          o.worst_set = set.label;
        }
      }
    }
  }
  if (!complete) return;

  // ---- greedy actions ----
  const int V = envs::incident::kNumVerbs, D = envs::incident::kNumDiagTypes, ND = envs::autoscale::kNumDeltas,
            NM = envs::autoscale::kNumMoves, A = ref.action_width;
  const auto of = [](const std::map<std::string, RawArray>& m, const char* name) { return m.at(name).floats(); };
  const float *tv = of(ref.heads, "verb"), *tt = of(ref.heads, "target"), *td = of(ref.heads, "diag_type"),
              *tw = of(ref.heads, "diag_target"), *tde = of(ref.heads, "delta"), *tm = of(ref.heads, "move");
  const float *ov = of(onnx, "verb"), *ot = of(onnx, "target"), *od = of(onnx, "diag_type"), *ow = of(onnx, "diag_target"),
              *ode = of(onnx, "delta"), *om = of(onnx, "move");
  for (int b = 0; b < B; ++b) {
    const std::int32_t* row = ref.greedy.data() + static_cast<std::ptrdiff_t>(b) * A;
    const bool incident = set.batch.task_id()[b] == static_cast<int>(envs::TaskId::kIncident);
    std::vector<std::pair<std::string, Verdict>> heads;  // (head, verdict) in order
    int c = 0;
    if (incident) {
      const Verdict verb = choose(ov + b * V, tv + b * V, V, row[envs::incident::kVerb], r.tolerance, c);
      heads.emplace_back("verb", verb);
      if (verb == Verdict::kSame) {
        const std::ptrdiff_t at = (static_cast<std::ptrdiff_t>(b) * V + c) * T;
        heads.emplace_back("target", choose(ot + at, tt + at, T, row[envs::incident::kTarget], r.tolerance, c));
      }
      const Verdict type = choose(od + b * D, td + b * D, D, row[envs::incident::kDiagType], r.tolerance, c);
      heads.emplace_back("diag_type", type);
      if (type == Verdict::kSame) {
        const std::ptrdiff_t at = (static_cast<std::ptrdiff_t>(b) * D + c) * T;
        heads.emplace_back("diag_target", choose(ow + at, tw + at, T, row[envs::incident::kDiagTarget], r.tolerance, c));
      }
    } else {
      for (int t = 0; t < T; ++t) {
        const std::ptrdiff_t at = static_cast<std::ptrdiff_t>(b) * T + t;
        heads.emplace_back(fmt::format("delta[{}]", t), choose(ode + at * ND, tde + at * ND, ND, row[t], r.tolerance, c));
        heads.emplace_back(fmt::format("move[{}]", t), choose(om + at * NM, tm + at * NM, NM, row[T + t], r.tolerance, c));
      }
    }
    ++r.greedy_rows;
    Verdict worst = Verdict::kSame;
    for (const auto& [head, v] : heads) {
      if (v == Verdict::kDiffer)
        problem(r, fmt::format("{} row {}: greedy {} differs from LibTorch's beyond the tolerance", set.label, b, head));
      worst = std::max(worst, v);
    }
    if (worst == Verdict::kSame) ++r.greedy_identical;
    else if (worst == Verdict::kTie) ++r.greedy_ties;
    else ++r.greedy_mismatches;
  }
}

std::string format_report(const VerifyReport& r) {
  std::string out = fmt::format("verify: {} vs LibTorch, {} observation sets, {} rows (tolerance {:g})\n", r.runtime,
                                r.sets.size(), r.rows, r.tolerance);
  out += fmt::format("  {:<12} {:>12} {:>10} {:>10} {:>14}  {}\n", "output", "max |diff|", "compared", "masked",
                     "mask mismatch", "worst set");
  for (const OutputDiff& o : r.outputs)
    out += fmt::format("  {:<12} {:>12.3e} {:>10} {:>10} {:>14}  {}{}\n", o.name, o.max_abs_diff, o.compared, o.masked,
                       o.mask_mismatches, o.worst_set.empty() ? "-" : o.worst_set, o.nan ? fmt::format(" ({} NaN)", o.nan) : "");
  out += fmt::format("  greedy actions: {}/{} rows identical, {} near-ties (within the tolerance), {} mismatches\n",
                     r.greedy_identical, r.greedy_rows, r.greedy_ties, r.greedy_mismatches);
  for (const std::string& p : r.problems) out += fmt::format("  problem: {}\n", p);
  out += fmt::format("verify: {} (max |diff| {:.3e} on logits, {:.3e} on value; tolerance {:g})\n",
                     r.passed() ? "passed" : "FAILED", r.max_logit_diff(),
                     r.output("value") ? r.output("value")->max_abs_diff : 0.0, r.tolerance);
  return out;
}

}  // namespace opsrl::exporter
