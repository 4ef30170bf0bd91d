// MaskedCategorical: a categorical over the last axis restricted to a mask.
#include <opsrl/agents/transformer_policy.hpp>

#include <stdexcept>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace opsrl::agents {

MaskedCategorical::MaskedCategorical(const torch::Tensor& logits, const torch::Tensor& mask) {
  if (logits.sizes() != mask.sizes())
    throw std::invalid_argument(fmt::format("MaskedCategorical: logits {} and mask {} differ in shape",
                                            fmt::join(logits.sizes(), "x"), fmt::join(mask.sizes(), "x")));
  const torch::Tensor allowed = mask.scalar_type() == torch::kBool ? mask : mask.to(torch::kBool);
  masked_ = logits.masked_fill(allowed.logical_not(), kMaskedLogit);
  log_probs_ = torch::log_softmax(masked_, -1);
  any_ = allowed.any(-1);
}

torch::Tensor MaskedCategorical::probs() const {
  return log_probs_.exp() * any_.unsqueeze(-1);
}

torch::Tensor MaskedCategorical::log_prob(const torch::Tensor& value) const {
  const torch::Tensor lp = log_probs_.gather(-1, value.to(torch::kInt64).unsqueeze(-1)).squeeze(-1);
  return torch::where(any_, lp, torch::zeros({}, lp.options()));
}

torch::Tensor MaskedCategorical::entropy() const {
  // Masked choices have p = exp(kMaskedLogit - lse) = 0 exactly: p * log p = 0, no NaN.
  const torch::Tensor h = -(log_probs_.exp() * log_probs_).sum(-1);
  return torch::where(any_, h, torch::zeros({}, h.options()));
}

torch::Tensor MaskedCategorical::sample(torch::Generator generator) const {
  // Gumbel-max: argmax(logits - log E), E ~ Exp(1). E is clamped away from 0 so that the
  // perturbation stays finite (a masked choice can never overtake an allowed one).
  torch::NoGradGuard no_grad;
  const torch::Tensor e = torch::empty_like(masked_).exponential_(1.0, generator).clamp_min_(1e-30);
  const torch::Tensor choice = (masked_ - e.log_()).argmax(-1);
  return choice.masked_fill(any_.logical_not(), 0);
}

torch::Tensor MaskedCategorical::mode() const {
  torch::NoGradGuard no_grad;
  return masked_.argmax(-1).masked_fill(any_.logical_not(), 0);
}

}  // namespace opsrl::agents
