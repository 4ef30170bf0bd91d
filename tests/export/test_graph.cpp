// The ONNX side of the exporter, without LibTorch: the graph of made-up weights, its interface,
// metadata, every way it refuses to export, ONNX's checker and shape inference failing, atomic
// writes, and the model running in ONNX Runtime with dynamic batch and token counts.
#include <algorithm>
#include <cmath>
#include <fstream>
#include <functional>
#include <set>

#include <doctest/doctest.h>
#include <onnx/onnx_pb.h>

#include <opsrl/export/metadata.hpp>
#include <opsrl/export/observations.hpp>
#include <opsrl/export/ort_runner.hpp>
#include <opsrl/export/policy_graph.hpp>
#include <opsrl/export/verify.hpp>

#include "graph_helpers.hpp"

namespace opsrl::exporter::test {
namespace {

std::string message_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const ExportError& e) {
    return e.what();
  }
  return "(no ExportError)";
}

onnx::ModelProto parse(const std::string& bytes) {
  onnx::ModelProto m;
  REQUIRE(m.ParseFromString(bytes));
  return m;
}

std::string serialize(const onnx::ModelProto& m) {
  std::string bytes;
  REQUIRE(m.SerializeToString(&bytes));
  return bytes;
}

std::multiset<std::string> op_types(const std::string& bytes) {
  const onnx::ModelProto model = parse(bytes);
  std::multiset<std::string> ops;
  for (const auto& n : model.graph().node()) ops.insert(n.op_type());
  return ops;
}

}  // namespace

TEST_CASE("export graph: the model declares the observation inputs and one output per head, with dynamic axes") {
  const PolicyWeights w = synthetic_weights();
  ModelProvenance from;
  from.run_id = "exp7";
  from.history = 4;
  GraphOptions o;
  o.metadata = policy_metadata(w, from);
  const ModelSummary s = describe_model(build_policy_model(w, o));
  CHECK(s.opset == 17);
  CHECK(s.ir_version >= 8);
  CHECK(s.producer.rfind("opsrl ", 0) == 0);
  REQUIRE(s.inputs.size() == 6);
  const std::vector<std::tuple<std::string, std::string, std::vector<std::string>>> inputs{
      {"features", "float32", {"batch", "tokens", "48"}}, {"token_type", "int32", {"batch", "tokens"}},
      {"valid", "uint8", {"batch", "tokens"}},           {"links", "int32", {"batch", "tokens", "2"}},
      {"task_id", "int32", {"batch"}},                   {"action_mask", "uint8", {"batch", "mask_width"}}};
  for (std::size_t k = 0; k < inputs.size(); ++k) {
    CHECK(s.inputs[k].name == std::get<0>(inputs[k]));
    CHECK(s.inputs[k].dtype == std::get<1>(inputs[k]));
    CHECK(s.inputs[k].shape == std::get<2>(inputs[k]));
  }
  REQUIRE(s.outputs.size() == output_names().size());
  for (std::size_t k = 0; k < s.outputs.size(); ++k) {
    CHECK(s.outputs[k].name == output_names()[k]);
    CHECK(s.outputs[k].dtype == "float32");
    CHECK(s.outputs[k].shape.front() == "batch");
  }
  CHECK(s.outputs[1].shape == std::vector<std::string>{"batch", "11", "tokens"});
  CHECK(s.outputs[4].shape == std::vector<std::string>{"batch", "tokens", "3"});
  CHECK(s.outputs[6].shape == std::vector<std::string>{"batch"});
  // Metadata: version, schema, vocabulary with the envs' names, the run id.
  REQUIRE(s.meta("opsrl.version"));
  CHECK(*s.meta("opsrl.format") == kFormat);
  CHECK(*s.meta("opsrl.run_id") == "exp7");
  const std::string& vocab = *s.meta("opsrl.action_vocabulary");
  for (const char* name : {"\"noop\"", "\"restart_replica\"", "\"escalate\"", "\"none\"", "\"memory_leak\"",
                           "\"network_degradation\"", "\"scale_out\"", "\"migrate\"", "\"row_of\": \"verb\""})
    CHECK_MESSAGE(vocab.find(name) != std::string::npos, name);
  const std::string& schema = *s.meta("opsrl.observation_schema");
  CHECK(schema.find(R"("name": "action_mask", "dtype": "uint8", "shape": ["batch", "mask_width"])") != std::string::npos);
  CHECK(schema.find(R"("history": 4)") != std::string::npos);
  CHECK(s.meta("opsrl.outputs")->find(R"("masked_logit": -1e9)") != std::string::npos);
}

TEST_CASE("export graph: without a run directory the model carries no run id") {
  const PolicyWeights w = synthetic_weights();
  GraphOptions o;
  o.metadata = policy_metadata(w, {});
  const ModelSummary s = describe_model(build_policy_model(w, o));
  CHECK(s.meta("opsrl.run_id") == nullptr);
  CHECK(s.meta("opsrl.observation_schema")->find(R"("history": null)") != std::string::npos);
}

TEST_CASE("export graph: opsets 13..16 write LayerNorm as primitive ops, other opsets are refused naming the layer") {
  const PolicyWeights w = synthetic_weights();
  CHECK(op_types(build_policy_model(w, {17, {}, ""})).count("LayerNormalization") == 2 * 2 + 1);
  CHECK(op_types(build_policy_model(w, {13, {}, ""})).count("LayerNormalization") == 0);
  CHECK(min_opset() == 13);
  CHECK(max_opset() >= 17);
  const std::string old = message_of([&] { build_policy_model(w, {12, {}, ""}); });
  CHECK_MESSAGE(old.find("layer \"embed\"") != std::string::npos, old);
  CHECK_MESSAGE(old.find("Unsqueeze with axes as an input") != std::string::npos, old);
  CHECK_MESSAGE(old.find("opset >= 13") != std::string::npos, old);
  const std::string ancient = message_of([&] { build_policy_model(w, {4, {}, ""}); });
  CHECK_MESSAGE(ancient.find("layer \"inputs\"") != std::string::npos, ancient);
  const std::string future = message_of([&] { build_policy_model(w, {max_opset() + 1, {}, ""}); });
  CHECK_MESSAGE(future.find("knows opsets up to") != std::string::npos, future);
}

TEST_CASE("export graph: a parameter the graph does not express, lacks or sizes otherwise is an error naming its layer") {
  SUBCASE("unknown parameter") {
    PolicyWeights w = synthetic_weights();
    w.parameters["layers.1.gate.weight"] = Array{{32}, std::vector<float>(32, 1.0f)};
    const std::string m = message_of([&] { build_policy_model(w); });
    CHECK_MESSAGE(m.find("layer \"layers.1.gate\"") != std::string::npos, m);
    CHECK_MESSAGE(m.find("does not express") != std::string::npos, m);
  }
  SUBCASE("missing parameter") {
    PolicyWeights w = synthetic_weights();
    w.parameters.erase("layers.1.ff2.bias");
    const std::string m = message_of([&] { build_policy_model(w); });
    CHECK_MESSAGE(m.find("layer \"layers.1.ff2\"") != std::string::npos, m);
    CHECK_MESSAGE(m.find("no parameter \"layers.1.ff2.bias\"") != std::string::npos, m);
  }
  SUBCASE("wrong shape") {
    PolicyWeights w = synthetic_weights();
    w.parameters["global_head.weight"].shape = {10, 32 * 4};
    const std::string m = message_of([&] { build_policy_model(w); });
    CHECK_MESSAGE(m.find("layer \"global_head\"") != std::string::npos, m);
    CHECK_MESSAGE(m.find("expected [") != std::string::npos, m);
  }
  SUBCASE("LayerNorm without its epsilon") {
    PolicyWeights w = synthetic_weights();
    w.layer_norm_eps.erase("final_norm");
    CHECK(message_of([&] { build_policy_model(w); }).find("layer \"final_norm\"") != std::string::npos);
  }
  SUBCASE("normaliser of another width") {
    PolicyWeights w = synthetic_weights();
    w.norm_scale.shape = {4, 40};
    CHECK(message_of([&] { build_policy_model(w); }).find("layer \"normaliser\"") != std::string::npos);
  }
}

TEST_CASE("export graph: ONNX's checker and strict shape inference reject broken models, naming the layer") {
  const std::string good = build_policy_model(synthetic_weights());
  CHECK_NOTHROW(check_model_bytes(good));
  SUBCASE("not a model") {
    CHECK(message_of([] { check_model_bytes("definitely not protobuf \xff\xff\xff"); }).find("not an ONNX model") !=
          std::string::npos);
  }
  SUBCASE("checker: a node reads a value nothing produces") {
    onnx::ModelProto m = parse(good);
    for (auto& n : *m.mutable_graph()->mutable_node())
      if (n.name().rfind("layers.1.attention/", 0) == 0) {
        n.set_input(0, "no_such_value");
        break;
      }
    const std::string e = message_of([&] { check_model_bytes(serialize(m)); });
    CHECK_MESSAGE(e.find("ONNX checker rejected the model") != std::string::npos, e);
    CHECK_MESSAGE(e.find("layers.1.attention") != std::string::npos, e);
  }
  SUBCASE("checker: an operator that does not exist") {
    onnx::ModelProto m = parse(good);
    for (auto& n : *m.mutable_graph()->mutable_node())
      if (n.name().rfind("belief/", 0) == 0) {
        n.set_op_type("LogSoftMaximum");
        break;
      }
    const std::string e = message_of([&] { check_model_bytes(serialize(m)); });
    CHECK_MESSAGE(e.find("checker") != std::string::npos, e);
    CHECK_MESSAGE(e.find("belief") != std::string::npos, e);
  }
  SUBCASE("shape inference: a weight whose rows do not match its input") {
    onnx::ModelProto m = parse(good);
    for (auto& t : *m.mutable_graph()->mutable_initializer())
      if (t.name() == "value_out.weight.T") {  // (32, 1) -> (30, 1)
        t.set_dims(0, 30);
        t.set_raw_data(t.raw_data().substr(0, 30 * sizeof(float)));
      }
    const std::string e = message_of([&] { check_model_bytes(serialize(m)); });
    CHECK_MESSAGE(e.find("shape inference rejected the model at layer \"value_out\"") != std::string::npos, e);
  }
}

TEST_CASE("export graph: files are written atomically") {
  ScratchDir dir;
  const auto path = dir / "model.onnx";
  write_file_atomically(path, "first");
  CHECK(read_file(path) == "first");
  write_file_atomically(path, "second");
  CHECK(read_file(path) == "second");
  CHECK_FALSE(std::filesystem::exists(dir / "model.onnx.tmp"));
  // A destination that cannot be replaced: the error names it, nothing is left behind.
  std::filesystem::create_directories(dir / "taken.onnx" / "inside");
  const std::string e = message_of([&] { write_file_atomically(dir / "taken.onnx", "x"); });
  CHECK_MESSAGE(e.find("taken.onnx") != std::string::npos, e);
  CHECK_FALSE(std::filesystem::exists(dir / "taken.onnx.tmp"));
  CHECK(std::filesystem::is_directory(dir / "taken.onnx" / "inside"));
  CHECK(message_of([&] { write_file_atomically(dir / "missing" / "m.onnx", "x"); }).find("cannot create") !=
        std::string::npos);
}

TEST_CASE("export graph: a missing ONNX Runtime is a clear error") {
  const std::string e = message_of([] { OrtRuntime::find("/nonexistent/node_modules"); });
  CHECK_MESSAGE(e.find("onnxruntime-node is not installed") != std::string::npos, e);
  CHECK_MESSAGE(e.find("scripts/setup") != std::string::npos, e);
}

TEST_CASE("export graph: random observations are well formed") {
  const envs::ObservationBatch obs = random_observations({20, 9, 48, 3, false});
  CHECK(obs.mask_width() == 21 * 9 + 21);
  for (int b = 0; b < 20; ++b) {
    CHECK(obs.token_type()[static_cast<std::size_t>(b) * 9] == 0);
    CHECK(obs.valid()[static_cast<std::size_t>(b) * 9] == 1);
    bool padding = false;  // padding only after the real tokens
    for (int t = 1; t < 9; ++t) {
      const std::size_t i = static_cast<std::size_t>(b) * 9 + t;
      CHECK((obs.valid()[i] == 0) == (obs.token_type()[i] == 4));
      if (padding) CHECK(obs.valid()[i] == 0);
      padding = padding || obs.valid()[i] == 0;
    }
  }
  CHECK(random_observations({5, 7, 48, 3, true}).mask_width() == 5 * 7);
  CHECK(history_for_width(48) == 4);
  CHECK(history_for_width(47) == 0);
  const std::string json = sample_observation_json({"incident", "small", 4, 1, 2});
  for (const char* key : {"\"features\"", "\"token_type\"", "\"valid\"", "\"links\"", "\"task_id\": 0", "\"action_mask\"",
                          "\"token_names\"", "\"ground_truth\""})
    CHECK_MESSAGE(json.find(key) != std::string::npos, key);
}

TEST_CASE("export graph: the comparison catches differences, mask mismatches, NaN and greedy mismatches") {
  ObservationSet set{"test", random_observations({6, 4, 48, 9, false}), 0};
  {  // Row 0: an incident row with verbs 0 and 1 allowed (for the greedy cases below).
    const envs::ObservationView v = set.batch.view(0);
    v.task_id[0] = 0;
    v.action_mask[0] = v.action_mask[1] = 1;
  }
  const envs::ObservationBatch& obs = set.batch;
  const int B = 6, T = 4, V = 11, D = 10, M = obs.mask_width();
  // Reference heads: random logits, -1e9 where the mask row says so; greedy rows by argmax.
  sim::Rng rng(3, sim::Stream::kPolicy);
  ReferenceOutputs ref;
  const auto head = [&](const std::string& name, std::vector<std::int64_t> shape, auto mask_at) {
    RawArray a{name, "float32", shape, {}};
    std::vector<float> x(static_cast<std::size_t>(a.numel()));
    for (std::size_t i = 0; i < x.size(); ++i) x[i] = mask_at(static_cast<std::int64_t>(i)) ? static_cast<float>(rng.normal()) : -1e9f;
    a.bytes.assign(reinterpret_cast<const char*>(x.data()), x.size() * sizeof(float));
    ref.heads[name] = a;
  };
  const auto allowed = [&](std::int64_t b, std::int64_t m) { return obs.action_mask()[b * M + m] != 0; };
  head("verb", {B, V}, [&](std::int64_t i) { return allowed(i / V, i % V); });
  head("target", {B, V, T}, [&](std::int64_t i) { return allowed(i / (V * T), V + i % (V * T)); });
  head("diag_type", {B, D}, [&](std::int64_t i) { return allowed(i / D, V * (1 + T) + i % D); });
  head("diag_target", {B, D, T}, [&](std::int64_t i) { return allowed(i / (D * T), V * (1 + T) + D + i % (D * T)); });
  head("delta", {B, T, 3}, [&](std::int64_t i) { return allowed(i / (3 * T), i % (3 * T)); });
  head("move", {B, T, 2}, [&](std::int64_t i) { return allowed(i / (2 * T), 3 * T + i % (2 * T)); });
  head("value", {B}, [](std::int64_t) { return true; });
  const auto argmax = [](const float* x, int n) { return static_cast<int>(std::max_element(x, x + n) - x); };
  ref.action_width = 2 * T;
  ref.greedy.assign(static_cast<std::size_t>(B) * ref.action_width, 0);
  const auto f = [&](const char* name) { return ref.heads.at(name).floats(); };
  for (int b = 0; b < B; ++b) {
    std::int32_t* row = ref.greedy.data() + b * ref.action_width;
    if (obs.task_id()[b] == 0) {
      row[0] = argmax(f("verb") + b * V, V);
      row[1] = argmax(f("target") + (b * V + row[0]) * T, T);
      row[2] = argmax(f("diag_type") + b * D, D);
      row[3] = argmax(f("diag_target") + (b * D + row[2]) * T, T);
    } else {
      for (int t = 0; t < T; ++t) {
        row[t] = argmax(f("delta") + (b * T + t) * 3, 3);
        row[T + t] = argmax(f("move") + (b * T + t) * 2, 2);
      }
    }
  }
  const auto verify = [&](const std::function<void(std::map<std::string, RawArray>&)>& change) {
    std::map<std::string, RawArray> onnx = ref.heads;
    change(onnx);
    VerifyReport r;
    compare_outputs(set, ref, onnx, r);
    return r;
  };
  const auto at = [](std::map<std::string, RawArray>& m, const char* name, std::int64_t i) -> float& {
    return reinterpret_cast<float*>(m.at(name).bytes.data())[i];
  };
  // The first unmasked entry of an output.
  const auto unmasked = [&](const char* name) {
    const float* x = f(name);
    std::int64_t i = 0;
    while (x[i] == -1e9f) ++i;
    return i;
  };

  const VerifyReport same = verify([](auto&) {});
  CHECK(same.passed());
  CHECK(same.greedy_identical == B);
  CHECK(same.output("verb")->compared + same.output("verb")->masked == B * V);

  const VerifyReport off = verify([&](auto& m) { at(m, "diag_target", unmasked("diag_target")) += 2e-4f; });
  CHECK_FALSE(off.passed());
  CHECK(off.output("diag_target")->max_abs_diff == doctest::Approx(2e-4).epsilon(0.01));
  CHECK(format_report(off).find("verify: FAILED") != std::string::npos);

  const VerifyReport unmask = verify([&](auto& m) {
    const float* x = f("move");
    std::int64_t i = 0;
    while (x[i] != -1e9f) ++i;
    at(m, "move", i) = 0.5f;
  });
  CHECK_FALSE(unmask.passed());
  CHECK(unmask.output("move")->mask_mismatches == 1);

  const VerifyReport nan = verify([&](auto& m) { at(m, "value", 2) = std::nanf(""); });
  CHECK_FALSE(nan.passed());
  CHECK(nan.output("value")->nan == 1);

  // Greedy: a row whose reference choice loses by far is a mismatch; by less than the tolerance, a near-tie.
  const int row = 0, chosen = ref.greedy[0], other = chosen == 0 ? 1 : 0;
  const VerifyReport flipped = verify([&](auto& m) { at(m, "verb", row * V + other) = f("verb")[row * V + chosen] + 1e-5f; });
  if (f("verb")[row * V + chosen] - f("verb")[row * V + other] > 1e-4f) {
    CHECK(flipped.greedy_mismatches == 1);
    CHECK_FALSE(flipped.passed());
    REQUIRE_FALSE(flipped.problems.empty());
    CHECK(flipped.problems[0].find("greedy verb differs") != std::string::npos);
  }
  std::map<std::string, RawArray> tie_ref = ref.heads;
  float& runner_up = reinterpret_cast<float*>(tie_ref.at("verb").bytes.data())[row * V + other];
  runner_up = f("verb")[row * V + chosen] - 1e-6f;  // LibTorch: the two within the tolerance
  ReferenceOutputs tie = ref;
  tie.heads = tie_ref;
  std::map<std::string, RawArray> onnx = tie_ref;
  reinterpret_cast<float*>(onnx.at("verb").bytes.data())[row * V + other] = f("verb")[row * V + chosen] + 1e-6f;
  VerifyReport r;
  compare_outputs(set, tie, onnx, r);
  CHECK(r.greedy_ties == 1);
  CHECK(r.greedy_mismatches == 0);
  CHECK(r.passed());
}

TEST_CASE("export graph: the model runs in ONNX Runtime for any batch and token count, and opsets 13 and 17 agree") {
  ScratchDir dir;
  const PolicyWeights w = synthetic_weights({48, 32, 2, 4, 64, 16, 32}, 5);
  write_file_atomically(dir / "m17.onnx", build_policy_model(w, {17, {}, ""}));
  write_file_atomically(dir / "m13.onnx", build_policy_model(w, {13, {}, ""}));
  std::vector<ObservationSet> sets;
  for (const auto& [B, T, autoscale] : std::vector<std::tuple<int, int, bool>>{{1, 1, false}, {2, 7, false}, {13, 31, false}, {4, 10, true}})
    sets.push_back({fmt::format("B={} T={}", B, T), random_observations({B, T, 48, static_cast<std::uint64_t>(B * T), autoscale}), 0});
  std::vector<std::vector<RawArray>> inputs;
  for (const auto& s : sets) inputs.push_back(model_inputs(s.batch));
  const OrtRuntime ort = OrtRuntime::find();
  const OrtRunResult r17 = ort.run(dir / "m17.onnx", inputs);
  const OrtRunResult r13 = ort.run(dir / "m13.onnx", inputs);
  CHECK(r17.input_names == std::vector<std::string>{"features", "token_type", "valid", "links", "task_id", "action_mask"});
  CHECK(r17.output_names == output_names());
  for (std::size_t k = 0; k < sets.size(); ++k) {
    const envs::ObservationBatch& obs = sets[k].batch;
    const std::int64_t B = obs.num_envs(), T = obs.max_tokens();
    const auto& out = r17.batches[k].outputs;
    CHECK(out.at("verb").shape == std::vector<std::int64_t>{B, 11});
    CHECK(out.at("target").shape == std::vector<std::int64_t>{B, 11, T});
    CHECK(out.at("diag_type").shape == std::vector<std::int64_t>{B, 10});
    CHECK(out.at("diag_target").shape == std::vector<std::int64_t>{B, 10, T});
    CHECK(out.at("delta").shape == std::vector<std::int64_t>{B, T, 3});
    CHECK(out.at("move").shape == std::vector<std::int64_t>{B, T, 2});
    CHECK(out.at("value").shape == std::vector<std::int64_t>{B});
    // Masked exactly where the mask row (padded with 0 to 21T + 21) says so.
    const std::int64_t M = obs.mask_width();
    const auto allowed = [&](std::int64_t b, std::int64_t m) { return m < M && obs.action_mask()[b * M + m] != 0; };
    const float* verb = out.at("verb").floats();
    const float* move = out.at("move").floats();
    for (std::int64_t b = 0; b < B; ++b) {
      for (int v = 0; v < 11; ++v) CHECK((verb[b * 11 + v] == -1e9f) == !allowed(b, v));
      for (std::int64_t t = 0; t < T; ++t)
        for (int c = 0; c < 2; ++c) CHECK((move[(b * T + t) * 2 + c] == -1e9f) == !allowed(b, 3 * T + t * 2 + c));
    }
    // LayerNorm decomposed (opset 13) or native (17): the same numbers.
    for (const std::string& name : output_names()) {
      const float* a = r13.batches[k].outputs.at(name).floats();
      const float* b = out.at(name).floats();
      for (std::int64_t i = 0; i < out.at(name).numel(); ++i) {
        CHECK(std::isfinite(b[i]));
        CHECK(std::abs(a[i] - b[i]) <= 1e-4f);
      }
    }
  }
}

}  // namespace opsrl::exporter::test
