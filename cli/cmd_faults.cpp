// `opsrl faults list`: the fault catalogue and the remediation actions.
#include <fmt/format.h>

#include <opsrl/sim/actions.hpp>
#include <opsrl/sim/faults.hpp>
#include <opsrl/sim/time.hpp>

#include "commands.hpp"
#include "format.hpp"

namespace opsrl::cli {

void add_faults(CLI::App& app) {
  auto* faults = app.add_subcommand("faults", "The fault catalogue: symptoms and remedies");
  faults->require_subcommand(1);
  auto* list = faults->add_subcommand("list", "List every fault type with its symptoms and correct remedy, then the actions");
  list->callback([] {
    using namespace opsrl::sim;
    for (const FaultInfo& f : fault_catalogue()) {
      fmt::print("{}  (root: {})\n", f.name, entity_kind_name(f.root_kind));
      fmt::print("  symptoms: {}\n", wrap(std::string(f.symptoms), 96, 12));
      fmt::print("  remedy:   {}{}\n\n", f.remedy, f.alternative.empty() ? "" : fmt::format("  (also: {})", f.alternative));
    }
    Table actions({"action", "target", "delay", "cost USD", "effect"});
    for (const VerbInfo& v : verb_catalogue())
      actions.add({std::string(v.name), std::string(entity_kind_name(v.target_kind)), format_time(v.delay),
                   fmt::format("{:.0f}", v.cost_usd), std::string(v.effect)});
    fmt::print("Actions:\n{}", actions.str());
  });
}

}  // namespace opsrl::cli
