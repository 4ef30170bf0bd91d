#pragma once
// Each subcommand registers itself on the CLI11 app; main() only wires them together.
#include <CLI/CLI.hpp>

namespace opsrl::cli {
void add_simulate(CLI::App& app);
void add_scenarios(CLI::App& app);
void add_faults(CLI::App& app);
void add_eval(CLI::App& app);
void add_train(CLI::App& app);
void add_dataset(CLI::App& app);
void add_record(CLI::App& app);
void add_replay(CLI::App& app);
void add_export(CLI::App& app);
void add_offline(CLI::App& app);
}  // namespace opsrl::cli
