// `noop`: never acts. On incident the "do nothing" reference (faults that heal by themselves
// still end resolved); on autoscale the static scaler that keeps the initial replica counts.
#include <opsrl/agents/baselines.hpp>
#include <opsrl/agents/per_env_policy.hpp>

namespace opsrl::agents {
namespace {

struct NoState {};

class NoopPolicy final : public PerEnvPolicy<NoState> {
 public:
  std::string_view name() const override { return "noop"; }
  std::string unsupported_reason(envs::TaskId) const override { return {}; }

 protected:
  void decide(const envs::VecEnv&, int, NoState&, std::span<std::int32_t>) override {}  // the row is all 0
};

}  // namespace

std::unique_ptr<Policy> make_noop_policy() { return std::make_unique<NoopPolicy>(); }

}  // namespace opsrl::agents

OPSRL_REGISTER_POLICY(noop, "never acts: no remediation, no claim, keeps every replica count",
                      [](const opsrl::agents::PolicyOptions&) { return opsrl::agents::make_noop_policy(); });
