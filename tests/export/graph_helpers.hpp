#pragma once
// Shared by the export tests: a policy's weights made up without LibTorch (every parameter the
// transformer has, random values), and a scratch directory.
#include <cstdint>
#include <filesystem>
#include <string>
#include <unistd.h>

#include <fmt/format.h>

#include <opsrl/envs/actions.hpp>
#include <opsrl/export/policy_graph.hpp>
#include <opsrl/sim/rng.hpp>

namespace opsrl::exporter::test {

struct Sizes {
  int feature_width = 48, d_model = 32, layers = 2, heads = 4, ff = 64, pointer_dim = 16, value_hidden = 32;
};

inline PolicyWeights synthetic_weights(const Sizes& s = {}, std::uint64_t seed = 1) {
  constexpr int K = 4, V = envs::incident::kNumVerbs, D = envs::incident::kNumDiagTypes;
  sim::Rng rng(seed, sim::Stream::kPolicy, 77);
  const auto random = [&](std::vector<std::int64_t> shape, double scale) {
    Array a{std::move(shape), {}};
    a.data.resize(static_cast<std::size_t>(a.numel()));
    for (float& x : a.data) x = static_cast<float>(rng.normal(0.0, scale));
    return a;
  };
  PolicyWeights w;
  w.feature_width = s.feature_width;
  w.d_model = s.d_model;
  w.layers = s.layers;
  w.heads = s.heads;
  w.ff = s.ff;
  w.pointer_dim = s.pointer_dim;
  w.value_hidden = s.value_hidden;
  const std::int64_t F = s.feature_width, d = s.d_model, P = s.pointer_dim;
  w.norm_mean = random({K, F}, 0.5);
  w.norm_scale = random({K, F}, 0.3);
  for (float& x : w.norm_scale.data) x = 1.0f + std::abs(x);
  const auto linear = [&](const std::string& name, std::int64_t in, std::int64_t out, bool bias = true) {
    w.parameters[name + ".weight"] = random({out, in}, 1.0 / std::sqrt(static_cast<double>(in)));
    if (bias) w.parameters[name + ".bias"] = random({out}, 0.1);
  };
  const auto norm = [&](const std::string& name) {
    w.parameters[name + ".weight"] = random({d}, 0.1);
    for (float& x : w.parameters[name + ".weight"].data) x += 1.0f;
    w.parameters[name + ".bias"] = random({d}, 0.1);
    w.layer_norm_eps[name] = 1e-5;
  };
  linear("embed", K * (F + 1) + 2 * F + 2, d, /*bias=*/false);
  for (int i = 0; i < s.layers; ++i) {
    const std::string l = fmt::format("layers.{}", i);
    norm(l + ".ln1");
    linear(l + ".qkv", d, 3 * d);
    linear(l + ".out", d, d);
    norm(l + ".ln2");
    linear(l + ".ff1", d, s.ff);
    linear(l + ".ff2", s.ff, d);
  }
  norm("final_norm");
  linear("global_head", d, V + D + (V + D) * P);
  linear("token_head", d, 2 * P + 5);
  linear("value_hidden", d, s.value_hidden);
  linear("value_out", s.value_hidden, 1);
  w.parameters["verb_from_belief"] = random({D, V}, 0.2);
  w.parameters["target_from_belief"] = random({V}, 0.2);
  return w;
}

// A fresh directory under the system's temporary directory, removed at the end of the scope.
class ScratchDir {
 public:
  ScratchDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "opsrl-export-test-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace opsrl::exporter::test
