// bench_export: the exported policy against LibTorch on the same observations, one run each:
// inference latency at batch 1 and throughput at batch 256, and the model file's size.
//
//   LibTorch      TransformerPolicyImpl::heads() (every head and the value) under NoGradGuard, on
//                 tensors built once
//   ONNX Runtime  onnxruntime-node's session.run(), timed inside the Node.js script (inputs built
//                 once; copying the outputs into JavaScript arrays included)
//
// Observations: VecEnv on the default scenario (T = 52), 192 incident + 64 autoscale envs after two
// random steps; batch 1 is the first (incident) env's.
//
//   bench_export [--threads N] [--checkpoint RUN_OR_PT] [--repeats N]
//   default: 1 thread (both runtimes), 200 timed runs at batch 1 (20 at batch 256), a default-size
//   policy with its normaliser fitted to the observations
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

#include <fmt/format.h>

#include <opsrl/export/exporter.hpp>
#include <opsrl/export/ort_runner.hpp>
#include <opsrl/export/torch_policy.hpp>

namespace {

using namespace opsrl;

struct Stats {
  double median = 0, p90 = 0;
};

Stats stats(std::vector<double> ms) {
  std::sort(ms.begin(), ms.end());
  return {ms[ms.size() / 2], ms[std::min(ms.size() - 1, ms.size() * 9 / 10)]};
}

std::vector<double> time_torch(agents::TransformerPolicyImpl& policy, const agents::ObsTensors& obs, int warmup, int repeats) {
  torch::NoGradGuard no_grad;
  for (int i = 0; i < warmup; ++i) policy.heads(obs);
  std::vector<double> ms;
  for (int i = 0; i < repeats; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    const agents::PolicyHeads h = policy.heads(obs);
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  return ms;
}

}  // namespace

int main(int argc, char** argv) {
  int threads = 1, repeats = 200;
  std::string checkpoint;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--threads") threads = std::max(1, std::atoi(argv[i + 1]));
    else if (a == "--checkpoint") checkpoint = argv[i + 1];
    else if (a == "--repeats") repeats = std::max(10, std::atoi(argv[i + 1]));
  }
  const int big_repeats = std::max(5, repeats / 10);
  agents::set_compute_threads(threads);

  // The observations: batch 256 from the envs, batch 1 its first row.
  exporter::EnvObservationOptions eo;
  eo.incident = 192;
  eo.autoscale = 64;
  eo.steps = 2;
  eo.every = 2;
  const exporter::ObservationSet big = exporter::env_observations(eo).back();
  exporter::ObservationSet one{"batch 1",
                               envs::ObservationBatch(1, big.batch.max_tokens(), big.batch.feature_width(), big.batch.mask_width()),
                               big.action_width};
  one.batch.copy_slot(big.batch, 0, 0);

  // The policy, exported once.
  exporter::PolicySource source = [&] {
    if (!checkpoint.empty()) return exporter::PolicySource::load(checkpoint);
    torch::manual_seed(1);
    agents::TransformerPolicy p(agents::TransformerPolicyOptions().feature_width(big.batch.feature_width()));
    p->update_normalizer(agents::to_tensors(big.batch));
    return exporter::policy_source(p);
  }();
  agents::TransformerPolicy policy = exporter::policy_of(source);
  const std::filesystem::path model = std::filesystem::temp_directory_path() / fmt::format("bench_export_{}.onnx", ::getpid());
  const exporter::ExportResult exported = exporter::export_policy(source, model);

  // LibTorch.
  const agents::ObsTensors obs1 = agents::to_tensors(one.batch, torch::kCPU, one.action_width);
  const agents::ObsTensors obs256 = agents::to_tensors(big.batch, torch::kCPU, big.action_width);
  const Stats torch1 = stats(time_torch(*policy, obs1, 20, repeats));
  const Stats torch256 = stats(time_torch(*policy, obs256, 3, big_repeats));

  // ONNX Runtime, one session per batch size.
  const exporter::OrtRuntime ort = exporter::OrtRuntime::find();
  const exporter::OrtRunResult ort1 = ort.run(model, {exporter::model_inputs(one.batch)}, {threads, 20, repeats});
  const exporter::OrtRunResult ort256 = ort.run(model, {exporter::model_inputs(big.batch)}, {threads, 3, big_repeats});
  const Stats o1 = stats(ort1.batches[0].run_ms), o256 = stats(ort256.batches[0].run_ms);
  std::filesystem::remove(model);

  fmt::print("bench_export: {}\n", source.describe());
  fmt::print("  model file {:.1f} KiB ({} bytes), opset {}, {} nodes; T = {} tokens; {} thread(s) each, {} hardware threads\n",
             exported.bytes / 1024.0, exported.bytes, exported.summary.opset, exported.summary.nodes, big.batch.max_tokens(),
             threads, std::thread::hardware_concurrency());
  fmt::print("  {:<44} {:>22} {:>18} {:>16}\n", "runtime", "batch 1: median (p90)", "batch 256: median", "obs/s at 256");
  const auto row = [&](const std::string& name, Stats a, Stats b) {
    fmt::print("  {:<44} {:>13.3f} ms ({:.3f}) {:>15.2f} ms {:>16.0f}\n", name, a.median, a.p90, b.median, 256.0 / b.median * 1e3);
  };
  row("LibTorch heads()", torch1, torch256);
  row(fmt::format("ONNX Runtime {} (Node.js {})", ort1.version, ort1.node_version), o1, o256);
  fmt::print("  ONNX Runtime / LibTorch: batch 1 latency x{:.2f}, batch 256 throughput x{:.2f}; session load {:.0f} ms\n",
             o1.median / torch1.median, torch256.median / o256.median, ort1.load_ms);
  return 0;
}
