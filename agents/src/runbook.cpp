#include "runbook.hpp"

#include <algorithm>
#include <cmath>

namespace opsrl::agents::detail {

CallGraph::CallGraph(const sim::Scenario& scenario) : n_(static_cast<int>(scenario.services.size())) {
  reach_.assign(static_cast<std::size_t>(n_) * n_, 0);
  // Callees come after their callers in topological order: walk it backwards so that every
  // callee's row is complete before a caller copies it.
  const std::vector<int> order = scenario.topological_order();
  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    const int s = *it;
    std::uint8_t* row = reach_.data() + static_cast<std::size_t>(s) * n_;
    for (const sim::CallSpec& c : scenario.services[s].calls) {
      if (c.target < 0) continue;
      row[c.target] = 1;
      const std::uint8_t* callee = reach_.data() + static_cast<std::size_t>(c.target) * n_;
      for (int k = 0; k < n_; ++k) row[k] |= callee[k];
    }
  }
}

int replicas_for(const sim::ServiceSpec& s, double rate, double utilisation) {
  const double need = std::ceil(rate * s.cpu_seconds_per_request / (s.cpu_request * utilisation) - 1e-9);
  return std::clamp(static_cast<int>(std::max(0.0, need)), s.min_replicas, s.max_replicas);
}

}  // namespace opsrl::agents::detail
