// `opsrl export`: a trained policy as an ONNX model (docs/export.md), optionally checked in ONNX
// Runtime against LibTorch (--verify); and, for the deployment example, one observation as JSON
// (--sample-observation).
#include <cstdio>
#include <memory>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <opsrl/export/exporter.hpp>

#include "commands.hpp"

namespace opsrl::cli {

namespace {

struct ExportArgs {
  std::string checkpoint;
  std::string out;
  int opset = 17;
  bool verify = false;
  double tolerance = 1e-4;
  std::uint64_t seed = 0;
  int threads = 1;
  std::string node_modules;
  std::string sample_observation;
  std::string task = "incident";
  std::string scenario = "default";
  int steps = 20;
};

std::string shape_text(const exporter::ModelSummary::Value& v) {
  return fmt::format("{} ({}) {}", v.name, fmt::join(v.shape, ","), v.dtype);
}

void write_sample(const ExportArgs& a) {
  if (!a.checkpoint.empty() || !a.out.empty() || a.verify)
    throw std::runtime_error("--sample-observation writes an observation only; it takes no --checkpoint, --out or --verify");
  if (a.task != "incident" && a.task != "autoscale")
    throw std::runtime_error(fmt::format("--task must be incident or autoscale, got \"{}\"", a.task));
  if (a.steps < 0) throw std::runtime_error(fmt::format("--steps must be >= 0, got {}", a.steps));
  exporter::SampleObservationOptions o;
  o.task = a.task;
  o.scenario = a.scenario;
  o.seed = a.seed;
  o.steps = a.steps;
  exporter::write_file_atomically(a.sample_observation, exporter::sample_observation_json(o));
  fmt::print("wrote {}: one {} observation on {} (seed {}, after {} noop steps)\n", a.sample_observation, a.task, a.scenario,
             a.seed, a.steps);
}

void run(const ExportArgs& a) {
  if (!a.sample_observation.empty()) return write_sample(a);
  if (a.checkpoint.empty() || a.out.empty())
    throw std::runtime_error("--checkpoint and --out are required, e.g. opsrl export --checkpoint runs/exp1 --out policy.onnx");
  if (!(a.tolerance > 0)) throw std::runtime_error(fmt::format("--tolerance must be > 0, got {}", a.tolerance));
  if (a.threads < 1) throw std::runtime_error(fmt::format("--threads must be >= 1, got {}", a.threads));

  const exporter::PolicySource policy = exporter::PolicySource::load(a.checkpoint);
  const exporter::ModelProvenance& from = policy.provenance();
  const exporter::ExportResult r = exporter::export_policy(policy, a.out, a.opset);
  const exporter::ModelSummary& s = r.summary;
  std::string origin = from.kind;
  if (!from.run_id.empty()) origin += fmt::format(", run {}", from.run_id);
  if (from.update >= 0) origin += fmt::format(", update {}, {} env steps", from.update, from.global_step);
  fmt::print("exported {} ({})\n  {}\n", a.checkpoint, origin, policy.describe());
  std::vector<std::string> inputs, outputs;
  for (const auto& v : s.inputs) inputs.push_back(shape_text(v));
  for (const auto& v : s.outputs) outputs.push_back(shape_text(v));
  fmt::print("wrote {}: {:.1f} KiB, opset {}, IR version {}, {} nodes, {} parameters\n", r.out.string(), r.bytes / 1024.0,
             s.opset, s.ir_version, s.nodes, s.parameters);
  fmt::print("  inputs   {}\n  outputs  {}\n", fmt::join(inputs, ", "), fmt::join(outputs, ", "));
  fmt::print("  checked  {} checker and strict shape inference\n", exporter::onnx_library_version());
  if (!a.verify) return;

  exporter::set_torch_threads(1);
  exporter::VerifyOptions vo;
  vo.seed = a.seed;
  vo.tolerance = a.tolerance;
  vo.threads = a.threads;
  vo.node_modules = a.node_modules;
  const exporter::VerifyReport report = exporter::verify_model(policy, r.out, vo);
  fmt::print("{}", exporter::format_report(report));
  if (!report.passed())
    throw std::runtime_error(fmt::format("--verify: {} differs from the LibTorch policy (see above)", r.out.string()));
}

}  // namespace

void add_export(CLI::App& app) {
  auto args = std::make_shared<ExportArgs>();
  CLI::App* cmd = app.add_subcommand("export", "Export a trained policy as an ONNX model, verified in ONNX Runtime (docs/export.md)");
  cmd->footer(
      "Examples:\n"
      "  opsrl export --checkpoint runs/exp1 --out policy.onnx            a run directory (its latest checkpoint)\n"
      "  opsrl export --checkpoint runs/exp1/checkpoints/update_000100.pt --out policy.onnx --verify\n"
      "  opsrl export --sample-observation obs.json --task incident       an observation for examples/onnx/act.js");
  cmd->add_option("--checkpoint", args->checkpoint, "an opsrl train run directory or checkpoint, or a saved TransformerPolicy");
  cmd->add_option("--out", args->out, "the ONNX file to write (atomically)");
  cmd->add_option("--opset", args->opset, fmt::format("ONNX opset, {}..{}", exporter::min_opset(), exporter::max_opset()))
      ->capture_default_str();
  cmd->add_flag("--verify", args->verify,
                "run the model in ONNX Runtime on random and env observations and compare with LibTorch");
  cmd->add_option("--tolerance", args->tolerance, "--verify: largest absolute difference allowed")->capture_default_str();
  cmd->add_option("--seed", args->seed, "--verify: seed of the observations; --sample-observation: episode seed")
      ->capture_default_str();
  cmd->add_option("--threads", args->threads, "--verify: ONNX Runtime's intra-op threads")->capture_default_str();
  cmd->add_option("--node-modules", args->node_modules,
                  "--verify: a node_modules directory holding onnxruntime-node (default: third_party/node/node_modules)");
  cmd->add_option("--sample-observation", args->sample_observation, "write one observation as JSON to this file and exit");
  cmd->add_option("--task", args->task, "--sample-observation: incident or autoscale")->capture_default_str();
  cmd->add_option("--scenario", args->scenario, "--sample-observation: built-in scenario or TOML file")->capture_default_str();
  cmd->add_option("--steps", args->steps, "--sample-observation: noop steps after reset")->capture_default_str();
  cmd->callback([args] { run(*args); });
}

}  // namespace opsrl::cli
