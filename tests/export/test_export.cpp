// The exporter against LibTorch: randomly initialised and briefly trained TransformerPolicies of
// several sizes exported, run in the real ONNX Runtime (Node.js + onnxruntime-node) on random and
// env observations of varying batch and token counts, compared output by output and greedy action
// by greedy action; checkpoints, their provenance, and every bad input.
#include <cstdio>
#include <fstream>
#include <functional>
#include <set>

#include <doctest/doctest.h>
#include <torch/torch.h>

#include <opsrl/agents/transformer_policy.hpp>
#include <opsrl/envs/actions.hpp>
#include <opsrl/export/exporter.hpp>
#include <opsrl/export/torch_policy.hpp>
#include <opsrl/train/config.hpp>

#include "graph_helpers.hpp"

namespace opsrl::exporter::test {
namespace {

constexpr double kTolerance = 1e-4;

std::string message_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "(no exception)";
}

agents::TransformerPolicy make_policy(agents::TransformerPolicyOptions o, std::uint64_t seed) {
  torch::manual_seed(seed);  // parameter initialisation draws from LibTorch's default generator
  return agents::TransformerPolicy(o.feature_width(48));
}

// The observation sets every test compares on (computed once: they do not depend on the policy).
const std::vector<ObservationSet>& sets() {
  static const std::vector<ObservationSet> s = verification_sets(48, 4, /*seed=*/11);
  return s;
}

// Trained-looking weights: every parameter moved by noise of its own scale (the heads' 0.01-gain
// init otherwise gives logits so small that any export would pass), and the normaliser fitted to
// env observations.
void perturb(agents::TransformerPolicy& p, std::uint64_t seed) {
  torch::NoGradGuard no_grad;
  torch::manual_seed(seed);
  for (auto& t : p->parameters()) {
    const double scale = t.numel() > 1 ? std::max(0.05, t.std().item<double>()) : 0.3;
    t.add_(torch::randn_like(t) * scale);
  }
  for (const ObservationSet& s : sets())
    if (s.label.rfind("env", 0) == 0) p->update_normalizer(agents::to_tensors(s.batch));
}

// A brief training: the normaliser fitted, then Adam steps of behaviour cloning on the policy's
// own samples plus a value regression, on env observations of both tasks.
void train_briefly(agents::TransformerPolicy& p, int steps) {
  std::vector<agents::ObsTensors> batches;
  for (const ObservationSet& s : sets())
    if (s.label.rfind("env", 0) == 0) {
      batches.push_back(agents::to_tensors(s.batch, torch::kCPU, s.action_width));
      p->update_normalizer(batches.back());
    }
  torch::optim::Adam adam(p->parameters(), torch::optim::AdamOptions(3e-3));
  torch::Generator g = at::detail::createCPUGenerator(7);
  for (int step = 0; step < steps; ++step)
    for (const agents::ObsTensors& obs : batches) {
      const agents::ActOutput sampled = p->act(obs, /*greedy=*/false, g);
      const agents::EvaluateOutput e = p->evaluate(obs, sampled.actions);
      const torch::Tensor loss = -e.log_prob.mean() + (e.value - 1.0).pow(2).mean();
      adam.zero_grad();
      loss.backward();
      adam.step();
    }
}

struct Exported {
  PolicySource source;
  VerifyReport report;
  std::size_t bytes;
};

Exported export_and_verify(agents::TransformerPolicy policy, const std::filesystem::path& out, int opset = 17) {
  PolicySource source = policy_source(std::move(policy));
  const ExportResult r = export_policy(source, out, opset);
  VerifyReport report = verify_model(source, out, {}, sets());
  return {std::move(source), std::move(report), r.bytes};
}

void check_passed(const VerifyReport& r, const std::string& what) {
  REQUIRE(r.output("value"));
  MESSAGE(what, ": max |diff| logits ", r.max_logit_diff(), ", value ", r.output("value")->max_abs_diff, "; greedy ",
          r.greedy_identical, "/", r.greedy_rows, " identical, ", r.greedy_ties, " near-ties");
  INFO(what, "\n", format_report(r));
  CHECK(r.passed());
  CHECK(r.problems.empty());
  CHECK(r.greedy_mismatches == 0);
  CHECK(r.greedy_identical >= r.greedy_rows - 2);  // near-ties are rare
  REQUIRE(r.outputs.size() == 7);
  for (const OutputDiff& o : r.outputs) {
    CHECK_MESSAGE(o.compared > 0, o.name);
    CHECK_MESSAGE(o.max_abs_diff <= kTolerance, o.name);
    CHECK(o.mask_mismatches == 0);
    CHECK(o.nan == 0);
  }
}

}  // namespace

TEST_CASE("export parity: the sets cover both tasks, real and random observations, several batch and token counts") {
  std::set<int> tasks, tokens, batches;
  int env = 0;
  for (const ObservationSet& s : sets()) {
    tokens.insert(s.batch.max_tokens());
    batches.insert(s.batch.num_envs());
    for (const std::int32_t t : s.batch.task_id()) tasks.insert(t);
    env += s.label.rfind("env", 0) == 0;
  }
  CHECK(tasks == std::set<int>{0, 1});
  CHECK(tokens.size() >= 6);
  CHECK(batches.size() >= 5);
  CHECK(env >= 5);
}

TEST_CASE("export parity: randomly initialised policies of several sizes and seeds match LibTorch in ONNX Runtime") {
  agents::set_compute_threads(1);
  ScratchDir dir;
  struct Case {
    const char* name;
    agents::TransformerPolicyOptions options;
    std::uint64_t seed;
    bool perturbed;
  };
  const Case cases[] = {
      {"default sizes, as initialised", agents::TransformerPolicyOptions(), 1, false},
      {"default sizes, perturbed", agents::TransformerPolicyOptions(), 2, true},
      {"d 32, 1 layer, 2 heads", agents::TransformerPolicyOptions().d_model(32).layers(1).heads(2).ff(48).pointer_dim(8).value_hidden(16), 3, true},
      {"d 48, 3 layers, 3 heads", agents::TransformerPolicyOptions().d_model(48).layers(3).heads(3).ff(96).pointer_dim(16).value_hidden(32), 4, true},
      {"no encoder layer", agents::TransformerPolicyOptions().d_model(16).layers(0).heads(1).ff(16).pointer_dim(4).value_hidden(8), 5, true},
  };
  for (const Case& c : cases) {
    agents::TransformerPolicy p = make_policy(c.options, c.seed);
    if (c.perturbed) perturb(p, c.seed);
    const Exported e = export_and_verify(p, dir / fmt::format("policy{}.onnx", c.seed));
    check_passed(e.report, c.name);
  }
}

TEST_CASE("export parity: a briefly trained policy matches at opset 17 and at opset 13 (LayerNorm as primitive ops)") {
  agents::set_compute_threads(1);
  ScratchDir dir;
  agents::TransformerPolicy p = make_policy(agents::TransformerPolicyOptions(), 21);
  train_briefly(p, 4);
  {
    torch::NoGradGuard no_grad;
    const auto params = p->named_parameters();
    REQUIRE(params["verb_from_belief"].abs().max().item<double>() > 0);  // the belief terms are exercised
    REQUIRE((params["target_from_belief"] - 1).abs().max().item<double>() > 0);
  }
  const Exported e17 = export_and_verify(p, dir / "trained17.onnx", 17);
  check_passed(e17.report, "briefly trained, opset 17");
  MESSAGE("model file: ", e17.bytes, " bytes");
  const Exported e13 = export_and_verify(p, dir / "trained13.onnx", 13);
  check_passed(e13.report, "briefly trained, opset 13");
}

TEST_CASE("export checkpoint: a training checkpoint in a run directory carries its run id, update and scenario") {
  ScratchDir dir;
  const auto run = dir / "exp-42";
  std::filesystem::create_directories(run / "checkpoints");
  train::TrainConfig config = train::default_config();
  config.env.scenario = "small";
  std::ofstream(run / "config.toml") << train::to_toml(config);
  agents::TransformerPolicy p = make_policy(agents::TransformerPolicyOptions().d_model(16).heads(2).layers(1).ff(16), 3);
  torch::serialize::OutputArchive ar;
  p->save(ar);
  ar.write("format", c10::IValue(std::string("opsrl-checkpoint")));
  ar.write("policy_kind", c10::IValue(std::string("transformer")));
  ar.write("config", c10::IValue(train::to_toml(config)));
  ar.write("update", c10::IValue(std::int64_t{7}));
  ar.write("global_step", c10::IValue(std::int64_t{1234}));
  ar.save_to((run / "checkpoints" / "latest.pt").string());

  const PolicySource source = PolicySource::load(run);  // the directory: its latest.pt
  CHECK(source.provenance().run_id == "exp-42");
  CHECK(source.provenance().kind == "training checkpoint");
  CHECK(source.provenance().update == 7);
  CHECK(source.provenance().global_step == 1234);
  CHECK(source.provenance().scenario == "small");
  CHECK(source.provenance().history == 4);
  const ExportResult r = export_policy(source, dir / "m.onnx");
  REQUIRE(r.summary.meta("opsrl.run_id"));
  CHECK(*r.summary.meta("opsrl.run_id") == "exp-42");
  CHECK(r.summary.meta("opsrl.checkpoint")->find(R"("update": 7)") != std::string::npos);
  CHECK(r.summary.meta("opsrl.policy")->find(R"("d_model": 16)") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(dir / "m.onnx.tmp"));

  // A checkpoint outside a run directory has no run id.
  std::filesystem::copy_file(run / "checkpoints" / "latest.pt", dir / "loose.pt");
  CHECK(PolicySource::load(dir / "loose.pt").provenance().run_id.empty());
}

TEST_CASE("export checkpoint: a policy saved with torch::save exports without provenance") {
  ScratchDir dir;
  agents::TransformerPolicy p = make_policy(agents::TransformerPolicyOptions().d_model(16).heads(2).layers(1), 4);
  torch::save(p, (dir / "policy.pt").string());
  const PolicySource source = PolicySource::load(dir / "policy.pt");
  CHECK(source.provenance().kind == "policy file");
  CHECK(source.provenance().run_id.empty());
  CHECK(source.weights().d_model == 16);
  const ExportResult r = export_policy(source, dir / "policy.onnx");
  CHECK(r.summary.meta("opsrl.run_id") == nullptr);
  CHECK(r.summary.parameters > 0);
}

TEST_CASE("export checkpoint: bad checkpoints are clear errors") {
  ScratchDir dir;
  CHECK(message_of([&] { PolicySource::load(dir / "nope.pt"); }).find("no such file") != std::string::npos);
  CHECK(message_of([&] { PolicySource::load(dir.path()); }).find("without checkpoints/latest.pt") != std::string::npos);
  std::ofstream(dir / "garbage.pt") << "this is not a zip archive";
  CHECK(message_of([&] { PolicySource::load(dir / "garbage.pt"); }).find("not a LibTorch archive") != std::string::npos);
  torch::save(torch::ones({3}), (dir / "tensor.pt").string());
  CHECK(message_of([&] { PolicySource::load(dir / "tensor.pt"); }).find("cannot load a TransformerPolicy") != std::string::npos);

  agents::TransformerPolicy p = make_policy(agents::TransformerPolicyOptions().d_model(16).heads(2).layers(1), 5);
  {
    torch::serialize::OutputArchive ar;
    p->save(ar);
    ar.write("format", c10::IValue(std::string("opsrl-checkpoint")));
    ar.write("policy_kind", c10::IValue(std::string("mlp")));
    ar.write("config", c10::IValue(std::string("")));
    ar.save_to((dir / "mlp.pt").string());
  }
  CHECK(message_of([&] { PolicySource::load(dir / "mlp.pt"); }).find("holds a \"mlp\" policy") != std::string::npos);
  {  // A policy from before the belief parameters: every entry but verb_from_belief.
    torch::serialize::OutputArchive ar;
    for (const auto& t : p->named_parameters(/*recurse=*/false))
      if (t.key() != "verb_from_belief") ar.write(t.key(), t.value());
    for (const auto& t : p->named_buffers(/*recurse=*/false)) ar.write(t.key(), t.value(), /*is_buffer=*/true);
    for (const auto& c : p->named_children()) {
      torch::serialize::OutputArchive child;
      c.value()->save(child);
      ar.write(c.key(), child);
    }
    ar.save_to((dir / "old.pt").string());
  }
  const std::string old = message_of([&] { PolicySource::load(dir / "old.pt"); });
  CHECK_MESSAGE(old.find("cannot load a TransformerPolicy") != std::string::npos, old);
  CHECK_MESSAGE(old.find("verb_from_belief") != std::string::npos, old);
}

TEST_CASE("export: a module or parameter the graph does not know is an error naming the layer, and nothing is written") {
  ScratchDir dir;
  const auto out = dir / "policy.onnx";
  std::ofstream(out) << "previous model";
  {
    agents::TransformerPolicy p = make_policy(agents::TransformerPolicyOptions().d_model(16).heads(2).layers(1), 6);
    p->register_parameter("gate", torch::ones({16}));
    const std::string e = message_of([&] { export_policy(policy_source(p), out); });
    CHECK_MESSAGE(e.find("layer \"gate\"") != std::string::npos, e);
    CHECK_MESSAGE(e.find("does not express") != std::string::npos, e);
  }
  {
    agents::TransformerPolicy p = make_policy(agents::TransformerPolicyOptions().d_model(16).heads(2).layers(1), 7);
    p->register_module("smoother", torch::nn::Conv1d(torch::nn::Conv1dOptions(16, 16, 3)));
    const std::string e = message_of([&] { policy_source(p); });
    CHECK_MESSAGE(e.find("layer \"smoother\"") != std::string::npos, e);
    CHECK_MESSAGE(e.find("Conv1dImpl") != std::string::npos, e);
  }
  std::ifstream in(out);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  CHECK(text == "previous model");
  CHECK_FALSE(std::filesystem::exists(dir / "policy.onnx.tmp"));
  agents::TransformerPolicy p = make_policy(agents::TransformerPolicyOptions().d_model(16).heads(2).layers(1), 8);
  CHECK(message_of([&] { export_policy(policy_source(p), dir / "missing" / "m.onnx"); }).find("does not exist") !=
        std::string::npos);
}

}  // namespace opsrl::exporter::test
