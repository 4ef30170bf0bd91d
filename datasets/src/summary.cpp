#include <opsrl/datasets/summary.hpp>

#include <algorithm>

#include <opsrl/sim/faults.hpp>

namespace opsrl::datasets {

void Range::add(double x) {
  if (n == 0) {
    min = max = x;
  } else {
    min = std::min(min, x);
    max = std::max(max, x);
  }
  mean += (x - mean) / ++n;
}

DatasetSummary summarize(const Reader& reader) {
  DatasetSummary s;
  s.header = reader.header();
  s.episodes = reader.num_episodes();
  std::vector<int> by_type(static_cast<std::size_t>(sim::kNumFaultTypes), 0);
  std::map<std::string, int> by_source;
  for (int k = 0; k < s.episodes; ++k) {
    const Episode ep = reader.read_meta(k);
    const EpisodeMeta& m = ep.meta;
    ++s.tasks[m.task];
    ++s.policies[m.policy.empty() ? std::string("(none)") : m.policy];
    s.returns.add(m.return_);
    s.steps_per_episode.add(m.steps);
    s.steps += m.steps;
    s.slo_violation_minutes.add(m.slo_violation_minutes);
    s.cost_usd.add(m.cost_usd);
    if (ep.faults.empty()) ++s.control_episodes;
    else ++s.fault_episodes;
    s.resolved += m.resolved;
    for (const FaultRow& f : ep.faults) {
      if (f.type >= 0 && f.type < sim::kNumFaultTypes) ++by_type[static_cast<std::size_t>(f.type)];
      if (!f.source_type.empty()) ++by_source[f.source_type];
    }
  }
  for (int t = 0; t < sim::kNumFaultTypes; ++t)
    if (by_type[static_cast<std::size_t>(t)] > 0)
      s.fault_mix.emplace_back(std::string(sim::fault_info(static_cast<sim::FaultType>(t)).name), by_type[static_cast<std::size_t>(t)]);
  s.source_fault_mix.assign(by_source.begin(), by_source.end());
  s.storage = reader.storage();
  return s;
}

}  // namespace opsrl::datasets
