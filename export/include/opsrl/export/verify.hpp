#pragma once
// Parity of an exported model with LibTorch: every output compared entry by entry, and the greedy
// action rows decoded from ONNX Runtime's logits compared with TransformerPolicyImpl::act(greedy).
//
// Rules (docs/export.md):
//   logits   compared where both are unmasked; an entry masked (kMaskedLogit) in one and not in
//            the other is a mask mismatch; max |diff| <= tolerance over the compared entries
//   value    max |diff| <= tolerance
//   greedy   each head's argmax taken in order (target from the chosen verb's row, diag_target from
//            the chosen type's row), first index on equal values as torch::argmax; a choice that
//            differs from LibTorch's counts as a near-tie, not a mismatch, only when LibTorch's own
//            logits of the two choices are within the tolerance (then the heads that depend on it
//            are not compared)
//   passed   no mask mismatch, no NaN, every max |diff| within the tolerance, no greedy mismatch
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <opsrl/export/observations.hpp>
#include <opsrl/export/ort_runner.hpp>

namespace opsrl::exporter {

// The output names, in the model's order.
const std::vector<std::string>& output_names();

// LibTorch's answer for one observation set.
struct ReferenceOutputs {
  std::map<std::string, RawArray> heads;  // output_names(): PolicyHeads as float32
  std::vector<std::int32_t> greedy;       // (B x action_width) act(greedy = true) rows
  int action_width = 0;
};

struct OutputDiff {
  std::string name;
  double max_abs_diff = 0;
  std::string worst_set;             // the set holding the largest difference
  std::int64_t compared = 0;         // entries compared (unmasked in both)
  std::int64_t masked = 0;           // entries masked in both
  std::int64_t mask_mismatches = 0;  // masked in one only
  std::int64_t nan = 0;              // NaN in either
};

struct VerifyReport {
  std::string runtime;  // e.g. "ONNX Runtime 1.30.0 (Node.js 20.20.2)"
  double tolerance = 1e-4;
  std::vector<std::string> sets;
  std::int64_t rows = 0;
  std::vector<OutputDiff> outputs;  // output_names() order
  std::int64_t greedy_rows = 0, greedy_identical = 0, greedy_ties = 0, greedy_mismatches = 0;
  std::vector<std::string> problems;  // shape mismatches, missing outputs, the first greedy mismatches

  bool passed() const;
  double max_logit_diff() const;  // over every output but value
  const OutputDiff* output(const std::string& name) const;
};

// Adds one set's comparison to `report` (creating its rows on first use).
void compare_outputs(const ObservationSet& set, const ReferenceOutputs& reference,
                     const std::map<std::string, RawArray>& onnx, VerifyReport& report);

// The report as a table with a verdict line.
std::string format_report(const VerifyReport& report);

}  // namespace opsrl::exporter
