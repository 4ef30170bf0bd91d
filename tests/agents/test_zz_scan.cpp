#include <doctest/doctest.h>
#include <cstdio>
#include <opsrl/agents/baselines.hpp>
#include <opsrl/agents/evaluate.hpp>
using namespace opsrl;
using namespace opsrl::agents;
TEST_CASE("zz scan autoscale") {
  envs::EnvConfig c;
  c.autoscale.surges_per_hour = 1;
  auto cfg = envs::make_config(c);
  auto run = [&](const char* label, Policy& p) {
    EvalOptions o;
    o.task = "autoscale";
    o.episodes = 100;
    o.config = cfg;
    o.num_threads = 2;
    const EvalResult r = evaluate(p, o);
    std::printf("%-28s slo %.2f cost %.3f return %.2f\n", label, r.summary.slo_violation_min.mean, r.summary.replica_cost_usd.mean, r.summary.return_.mean);
    std::fflush(stdout);
  };
  for (double target : {0.5, 0.6, 0.7})
    for (int win : {0, 1, 2, 5}) {
      HpaOptions h; h.target = target; h.stabilization_window = win * sim::kMinute;
      auto p = make_hpa_policy(h);
      char label[64]; std::snprintf(label, sizeof label, "hpa t%.1f w%d", target, win);
      run(label, *p);
    }
  for (double target : {0.5, 0.6, 0.7})
    for (double margin : {1.0, 1.15, 1.3}) {
      OracleOptions oo; oo.target_utilisation = target; oo.scale_in_margin = margin;
      auto p = make_oracle_policy(oo);
      char label[64]; std::snprintf(label, sizeof label, "oracle t%.1f m%.2f", target, margin);
      run(label, *p);
    }
}
