// opsrl: teach agents to run IT operations. See `opsrl --help` and README.md.
#include <cstdio>
#include <exception>

#include <fmt/format.h>

#include "commands.hpp"

int main(int argc, char** argv) {
  CLI::App app{
      "opsrl " OPSRL_VERSION " - a cluster simulator and reinforcement-learning toolkit for IT operations.\n\n"
      "Start with:\n"
      "  opsrl simulate                      simulate the default scenario with a few faults\n"
      "  opsrl scenarios list                the built-in scenarios\n"
      "  opsrl faults list                   the fault catalogue, symptoms and remedies\n"
      "  opsrl eval --policy threshold,oracle --task incident --episodes 200\n"
      "                                      evaluate baseline policies on held-out episodes\n"
      "  opsrl train                         train the transformer policy with PPO (docs/training.md)\n"
      "  opsrl export --checkpoint RUN --out policy.onnx --verify\n"
      "                                      export a trained policy to ONNX, checked in ONNX Runtime\n"
      "  opsrl record --policy oracle --episodes 100 --out oracle.h5\n"
      "                                      record episodes as an HDF5 dataset (docs/datasets.md)\n"
      "  opsrl offline --algo bc --dataset oracle.h5\n"
      "                                      train the policy from a dataset (behaviour cloning or IQL)\n"};
  app.set_version_flag("--version", "opsrl " OPSRL_VERSION);
  app.require_subcommand(1);
  opsrl::cli::add_simulate(app);
  opsrl::cli::add_scenarios(app);
  opsrl::cli::add_faults(app);
  opsrl::cli::add_eval(app);
  opsrl::cli::add_train(app);
  opsrl::cli::add_record(app);
  opsrl::cli::add_replay(app);
  opsrl::cli::add_dataset(app);
  opsrl::cli::add_export(app);
  opsrl::cli::add_offline(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const std::exception& e) {
    fmt::print(stderr, "opsrl: error: {}\n", e.what());
    return 1;
  }
  return 0;
}
