// `hpa`: the Kubernetes Horizontal Pod Autoscaler's rule on CPU utilisation (HpaOptions in
// baselines.hpp gives the formula), evaluated for every service at every step, stepping one
// replica toward its goal. Autoscale only: it never diagnoses and would only scale.
#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include <opsrl/envs/actions.hpp>
#include <opsrl/agents/baselines.hpp>
#include <opsrl/agents/per_env_policy.hpp>

namespace opsrl::agents {
namespace {

struct HpaState {
  int step = 0;
  int window = 0;                 // recommendations kept per service (the window in steps, + 1)
  std::vector<int> recommendations;  // (services x window) ring, -1 = none yet
};

class HpaPolicy final : public PerEnvPolicy<HpaState> {
 public:
  explicit HpaPolicy(HpaOptions o) : o_(o) {
    if (!(o_.target > 0 && o_.target <= 1.5))
      throw std::invalid_argument(fmt::format("hpa: target must be in (0, 1.5], got {}", o_.target));
    if (!(o_.tolerance >= 0 && o_.tolerance < 1))
      throw std::invalid_argument(fmt::format("hpa: tolerance must be in [0, 1), got {}", o_.tolerance));
    if (o_.stabilization_window < 0)
      throw std::invalid_argument(fmt::format("hpa: stabilization_window must be >= 0, got {} ms", o_.stabilization_window));
  }

  std::string_view name() const override { return "hpa"; }
  std::string unsupported_reason(envs::TaskId task) const override {
    if (task == envs::TaskId::kAutoscale) return {};
    return "the HPA rule only sets replica counts and makes no diagnosis; for incident use threshold, oracle, random or noop";
  }

 protected:
  void start(const envs::VecEnv& vec, int env, HpaState& s) override {
    const sim::SimTime interval = vec.spec(env).step_interval;
    s.window = 1 + static_cast<int>(o_.stabilization_window / std::max<sim::SimTime>(interval, 1));
    s.recommendations.assign(static_cast<std::size_t>(vec.env(env).cluster().num_services()) * s.window, -1);
  }

  void decide(const envs::VecEnv& vec, int env, HpaState& s, std::span<std::int32_t> row) override {
    const envs::Env& e = vec.env(env);
    const sim::Telemetry& tm = e.cluster().telemetry();
    const sim::Scenario& sc = e.cluster().scenario();
    const envs::TokenLayout& L = e.tokens();
    const std::uint8_t* m = mask(vec, env);
    const envs::autoscale::MaskLayout ml{vec.spec(env).max_tokens};
    const envs::autoscale::Columns cols{vec.spec(env).max_tokens};
    const int slot = s.step % s.window;
    for (int svc = 0; svc < L.num_services; ++svc) {
      const sim::ServiceSpec& spec = sc.services[static_cast<std::size_t>(svc)];
      const int desired = static_cast<int>(tm.services(svc, sim::kSvcDesiredReplicas));
      const int ready = static_cast<int>(tm.services(svc, sim::kSvcReadyReplicas));
      const double util = tm.services(svc, sim::kSvcCpuUtil);
      int rec = desired;
      // No ready replica: no metric, as the HPA skips a target without metrics.
      if (ready > 0 && std::abs(util / o_.target - 1.0) > o_.tolerance)
        rec = static_cast<int>(std::ceil(ready * util / o_.target - 1e-9));
      rec = std::clamp(rec, spec.min_replicas, spec.max_replicas);
      int* ring = s.recommendations.data() + static_cast<std::size_t>(svc) * s.window;
      ring[slot] = rec;
      int down = rec;
      for (int k = 0; k < s.window; ++k) down = std::max(down, ring[k]);
      const int goal = desired < rec ? rec : desired > down ? down : desired;
      int delta = envs::autoscale::kKeep;
      if (goal > desired) delta = envs::autoscale::kScaleOut;
      else if (goal < desired) delta = envs::autoscale::kScaleIn;
      const int token = L.service_token(svc);
      if (delta != envs::autoscale::kKeep && m[ml.delta(token) + delta]) row[static_cast<std::size_t>(cols.delta(token))] = delta;
    }
    ++s.step;
  }

 private:
  HpaOptions o_;
};

}  // namespace

std::unique_ptr<Policy> make_hpa_policy(HpaOptions hpa) { return std::make_unique<HpaPolicy>(hpa); }

}  // namespace opsrl::agents

OPSRL_REGISTER_POLICY(hpa,
                      "Kubernetes HPA rule on CPU (target 0.6, tolerance 0.1, 5 min window); autoscale only",
                      [](const opsrl::agents::PolicyOptions&) { return opsrl::agents::make_hpa_policy(); });
