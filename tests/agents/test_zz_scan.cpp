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
    o.episodes = 200;
    o.config = cfg;
    o.num_threads = 1;
    const EvalResult r = evaluate(p, o);
    std::printf("%-28s slo %.3f replica %.3f total %.2f actions %.1f return %.2f\n", label, r.summary.slo_violation_min.mean, r.summary.replica_cost_usd.mean, r.summary.cost_usd.mean, r.summary.actions.mean, r.summary.return_.mean);
    std::fflush(stdout);
  };
  { auto p = make_hpa_policy(); run("hpa", *p); }
  for (double target : {0.65, 0.7, 0.75})
    for (double margin : {1.0, 1.05, 1.1, 1.15}) {
      OracleOptions oo; oo.target_utilisation = target; oo.scale_in_margin = margin;
      auto p = make_oracle_policy(oo);
      char label[64]; std::snprintf(label, sizeof label, "oracle t%.2f m%.2f", target, margin);
      run(label, *p);
    }
}
