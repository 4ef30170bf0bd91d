// TransformerPolicy on real observations: never a masked action, evaluate() agrees with act()
// and with brute force over the heads, any token count, padding changes nothing, the
// normaliser's statistics, determinism, save/load.
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include <doctest/doctest.h>
#include <torch/torch.h>

#include "policy_test_helpers.hpp"

using namespace opsrl;
using namespace opsrl::agents;
using namespace opsrl::agents::test;

namespace {

// Log-prob and entropy of one head from its (masked) logits, in double, over the allowed
// choices; an empty row gives (0, 0).
struct HeadBf {
  double log_prob = 0, entropy = 0;
};
HeadBf head_bf(const torch::Tensor& logits, const torch::Tensor& mask, int64_t choice) {
  const auto l = logits.to(torch::kFloat64).contiguous();
  const auto m = mask.to(torch::kBool).contiguous();
  const int64_t C = l.numel();
  double mx = -1e300;
  for (int64_t k = 0; k < C; ++k)
    if (m[k].item<bool>()) mx = std::max(mx, l[k].item<double>());
  if (mx == -1e300) return {};
  double z = 0;
  for (int64_t k = 0; k < C; ++k)
    if (m[k].item<bool>()) z += std::exp(l[k].item<double>() - mx);
  HeadBf r;
  for (int64_t k = 0; k < C; ++k)
    if (m[k].item<bool>()) {
      const double lp = l[k].item<double>() - mx - std::log(z);
      r.entropy -= std::exp(lp) * lp;
    }
  r.log_prob = l[choice].item<double>() - mx - std::log(z);
  return r;
}

// Brute-force log-prob and entropy of action row i from heads() (which this does not trust for
// anything but the logits of each row).
HeadBf row_bf(const PolicyHeads& h, const ObsTensors& obs, const torch::Tensor& actions, int64_t i) {
  const int64_t T = obs.tokens();
  const torch::Tensor mask = obs.action_mask[i];
  const torch::Tensor a = actions[i].to(torch::kInt64);
  HeadBf sum;
  const auto add = [&](const HeadBf& x) {
    sum.log_prob += x.log_prob;
    sum.entropy += x.entropy;
  };
  if (obs.task_id[i].item<int64_t>() == 0) {
    const envs::incident::MaskLayout l{static_cast<int>(T)};
    const int64_t verb = a[0].item<int64_t>(), type = a[2].item<int64_t>();
    add(head_bf(h.verb[i], mask.narrow(0, l.verb(), 11), verb));
    add(head_bf(h.target[i][verb], mask.narrow(0, l.target(static_cast<int>(verb)), T), a[1].item<int64_t>()));
    add(head_bf(h.diag_type[i], mask.narrow(0, l.diag_type(), 10), type));
    add(head_bf(h.diag_target[i][type], mask.narrow(0, l.diag_target(static_cast<int>(type)), T), a[3].item<int64_t>()));
  } else {
    const envs::autoscale::MaskLayout l{static_cast<int>(T)};
    for (int t = 0; t < T; ++t) {
      add(head_bf(h.delta[i][t], mask.narrow(0, l.delta(t), 3), a[t].item<int64_t>()));
      add(head_bf(h.move[i][t], mask.narrow(0, l.move(t), 2), a[T + t].item<int64_t>()));
    }
  }
  return sum;
}

// Advances a VecEnv a few steps with the policy's actions, so that faults have begun and masks
// vary (claims made, replicas moving).
void advance(envs::VecEnv& vec, TransformerPolicy& policy, int steps, std::uint64_t seed) {
  torch::Generator gen = at::detail::createCPUGenerator(seed);
  for (int s = 0; s < steps; ++s) {
    const ActOutput out = policy->act(observe(vec), false, gen);
    const torch::Tensor a = out.actions.contiguous();
    vec.step({a.data_ptr<std::int32_t>(), static_cast<std::size_t>(a.numel())});
  }
}

}  // namespace

TEST_CASE("act never takes a masked action, on a batch mixing both tasks") {
  auto vec = mixed_vec("default", 4, 4, 21);
  TransformerPolicy policy = make_policy(*vec);
  torch::Generator gen = at::detail::createCPUGenerator(99);
  REQUIRE(vec->max_tokens() == 52);
  for (int step = 0; step < 40; ++step) {
    const ObsTensors obs = observe(*vec);
    const ActOutput out = policy->act(obs, /*greedy=*/step % 5 == 4, gen);
    REQUIRE((out.actions.sizes() == torch::IntArrayRef({vec->size(), vec->action_width()})));
    REQUIRE((out.actions.scalar_type() == torch::kInt32));
    CHECK(torch::isfinite(out.log_prob).all().item<bool>());
    CHECK(torch::isfinite(out.value).all().item<bool>());
    CHECK((out.log_prob <= 1e-6).all().item<bool>());
    for (int i = 0; i < vec->size(); ++i) check_row_allowed(*vec, i, row_of(out.actions, i));
    const torch::Tensor a = out.actions.contiguous();
    vec->step({a.data_ptr<std::int32_t>(), static_cast<std::size_t>(a.numel())});
    for (int i = 0; i < vec->size(); ++i) {
      const bool done = vec->terminated()[i] || vec->truncated()[i];
      CHECK((done ? vec->final_info(i) : vec->info(i)).action.invalid == 0);
    }
  }
}

TEST_CASE("evaluate agrees with act and with brute force over the heads") {
  auto vec = mixed_vec("small", 3, 3, 8);
  TransformerPolicy policy = make_policy(*vec, 1);
  advance(*vec, policy, 12, 4);
  const ObsTensors obs = observe(*vec);
  policy->update_normalizer(obs);  // non-trivial statistics
  torch::Generator gen = at::detail::createCPUGenerator(5);
  const ActOutput out = policy->act(obs, false, gen);
  const EvaluateOutput ev = policy->evaluate(obs, out.actions);
  CHECK(max_abs_diff(ev.log_prob, out.log_prob) < 1e-5);
  CHECK(max_abs_diff(ev.value, out.value) < 1e-6);

  torch::NoGradGuard no_grad;
  const PolicyHeads heads = policy->heads(obs);
  for (int64_t i = 0; i < obs.batch(); ++i) {
    const HeadBf bf = row_bf(heads, obs, out.actions, i);
    INFO("row " << i);
    CHECK(ev.log_prob[i].item<double>() == doctest::Approx(bf.log_prob).epsilon(1e-4));
    CHECK(ev.entropy[i].item<double>() == doctest::Approx(bf.entropy).epsilon(1e-4));
  }
}

TEST_CASE("the belief: verb logits move by kBeliefGain p(type) @ verb_from_belief; aux logits are unmasked") {
  auto vec = mixed_vec("small", 4, 0, 12);
  TransformerPolicy policy = make_policy(*vec, 2);
  advance(*vec, policy, 8, 6);
  const ObsTensors obs = observe(*vec);
  torch::NoGradGuard no_grad;
  const PolicyHeads before = policy->heads(obs);
  torch::Tensor table = policy->named_parameters()["verb_from_belief"];
  torch::Generator gen = at::detail::createCPUGenerator(3);
  table.copy_(torch::randn(table.sizes(), gen));
  const PolicyHeads after = policy->heads(obs);
  const EvaluateOutput ev = policy->evaluate(obs, torch::zeros({obs.batch(), vec->action_width()}, torch::kInt64));
  // The aux loss sees the type logits without the claim's mask: nothing is masked there.
  CHECK((ev.diag_type_logits > kMaskedLogit / 2).all().item<bool>());
  const torch::Tensor shift = torch::softmax(ev.diag_type_logits, 1).mm(table) * kBeliefGain;
  const torch::Tensor allowed = before.verb > kMaskedLogit / 2;
  REQUIRE(allowed.any().item<bool>());
  CHECK(max_abs_diff((after.verb - before.verb).masked_select(allowed), shift.masked_select(allowed)) < 1e-4);
  CHECK(torch::equal(after.target, before.target));  // the table only touches verbs
}

TEST_CASE("log-probabilities of every allowed action sum to 1 (incident, brute-force enumeration)") {
  // The first observation: no claim made yet, so every diagnosis is open.
  auto vec = mixed_vec("small", 1, 0, 30);
  TransformerPolicy policy = make_policy(*vec, 2);
  const ObsTensors obs = observe(*vec);
  const int T = vec->max_tokens();
  const envs::incident::MaskLayout l{T};
  const torch::Tensor m = obs.action_mask[0];
  const auto allowed_values = [&](int offset, int choices) {
    std::vector<int> v;
    for (int k = 0; k < choices; ++k)
      if (m[offset + k].item<bool>()) v.push_back(k);
    if (v.empty()) v.push_back(0);
    return v;
  };
  // Every (verb, target, type, token) the masks allow.
  std::vector<std::int64_t> rows;
  for (int verb : allowed_values(l.verb(), 11))
    for (int target : allowed_values(l.target(verb), T))
      for (int type : allowed_values(l.diag_type(), 10))
        for (int where : allowed_values(l.diag_target(type), T)) rows.insert(rows.end(), {verb, target, type, where});
  const int64_t n = static_cast<int64_t>(rows.size()) / 4;
  MESSAGE(n << " allowed incident actions on the small scenario");
  REQUIRE(n > 50);
  const torch::Tensor actions = torch::tensor(rows, torch::kInt64).view({n, 4});
  const ObsTensors rep = index(obs, torch::zeros({n}, torch::kInt64));
  torch::NoGradGuard no_grad;
  const EvaluateOutput ev = policy->evaluate(rep, actions);
  CHECK(ev.log_prob.to(torch::kFloat64).exp().sum().item<double>() == doctest::Approx(1.0).epsilon(1e-5));

  SUBCASE("autoscale: every combination of the services' deltas, moves fixed at 0") {
    auto avec = mixed_vec("small", 0, 1, 31);
    TransformerPolicy apolicy = make_policy(*avec, 3);
    advance(*avec, apolicy, 6, 7);
    const ObsTensors aobs = observe(*avec);
    const int AT = avec->max_tokens();
    const envs::autoscale::MaskLayout al{AT};
    const torch::Tensor am = aobs.action_mask[0];
    std::vector<std::vector<int>> options(AT);
    for (int t = 0; t < AT; ++t) {
      for (int k = 0; k < 3; ++k)
        if (am[al.delta(t) + k].item<bool>()) options[t].push_back(k);
      if (options[t].empty()) options[t].push_back(0);
    }
    std::vector<std::vector<std::int64_t>> combos{{}};
    for (int t = 0; t < AT; ++t) {
      std::vector<std::vector<std::int64_t>> next;
      for (const auto& c : combos)
        for (int k : options[t]) {
          next.push_back(c);
          next.back().push_back(k);
        }
      combos = std::move(next);
    }
    const auto na = static_cast<int64_t>(combos.size());
    MESSAGE(na << " delta combinations");
    REQUIRE(na > 1);
    torch::Tensor aa = torch::zeros({na, 2 * AT}, torch::kInt64);
    for (int64_t r = 0; r < na; ++r)
      for (int t = 0; t < AT; ++t) aa[r][t] = combos[static_cast<std::size_t>(r)][static_cast<std::size_t>(t)];
    const EvaluateOutput aev = apolicy->evaluate(index(aobs, torch::zeros({na}, torch::kInt64)), aa);
    // The moves' part is the same in every row: log p(all stay).
    const PolicyHeads ah = apolicy->heads(aobs);
    double stay = 0;
    for (int t = 0; t < AT; ++t) stay += head_bf(ah.move[0][t], am.narrow(0, al.move(t), 2), 0).log_prob;
    CHECK(aev.log_prob.to(torch::kFloat64).exp().sum().item<double>() == doctest::Approx(std::exp(stay)).epsilon(1e-5));
  }
}

TEST_CASE("a mixed batch evaluates like its tasks' rows evaluated apart") {
  auto vec = mixed_vec("default", 3, 3, 12);
  TransformerPolicy policy = make_policy(*vec, 4);
  advance(*vec, policy, 5, 8);
  const ObsTensors obs = observe(*vec);
  torch::Generator gen = at::detail::createCPUGenerator(13);
  const ActOutput out = policy->act(obs, false, gen);
  torch::NoGradGuard no_grad;
  const EvaluateOutput all = policy->evaluate(obs, out.actions);
  const torch::Tensor inc_rows = torch::arange(0, 3, torch::kInt64), aut_rows = torch::arange(3, 6, torch::kInt64);
  const EvaluateOutput inc = policy->evaluate(index(obs, inc_rows), out.actions.index_select(0, inc_rows).narrow(1, 0, 4));
  const EvaluateOutput aut = policy->evaluate(index(obs, aut_rows), out.actions.index_select(0, aut_rows));
  CHECK(max_abs_diff(all.log_prob.index_select(0, inc_rows), inc.log_prob) < 1e-5);
  CHECK(max_abs_diff(all.log_prob.index_select(0, aut_rows), aut.log_prob) < 1e-5);
  CHECK(max_abs_diff(all.entropy.index_select(0, inc_rows), inc.entropy) < 1e-5);
  CHECK(max_abs_diff(all.entropy.index_select(0, aut_rows), aut.entropy) < 1e-5);
  CHECK(max_abs_diff(all.value.index_select(0, aut_rows), aut.value) < 1e-5);
  // act() on an incident-only batch writes 4 columns when asked for no more.
  ObsTensors inc_obs = index(obs, inc_rows);
  inc_obs.action_width = 0;
  CHECK(policy->act(inc_obs, true).actions.size(1) == 4);
}

TEST_CASE("any token count: small, default and large scenarios") {
  for (const std::string scenario : {"small", "default", "large"}) {
    INFO(scenario);
    auto vec = mixed_vec(scenario, 2, 2, 3);
    TransformerPolicy policy = make_policy(*vec, 5);
    const ObsTensors obs = observe(*vec);
    torch::Generator gen = at::detail::createCPUGenerator(17);
    const ActOutput out = policy->act(obs, false, gen);
    CHECK(out.actions.size(1) == vec->action_width());
    for (int i = 0; i < vec->size(); ++i) check_row_allowed(*vec, i, row_of(out.actions, i));
    const EvaluateOutput ev = policy->evaluate(obs, out.actions);
    CHECK(max_abs_diff(ev.log_prob, out.log_prob) < 1e-4);
    CHECK(torch::isfinite(ev.entropy).all().item<bool>());
    const torch::Tensor loss = -ev.log_prob.mean() - 0.01 * ev.entropy.mean() + ev.value.pow(2).mean();
    loss.backward();
    for (const auto& p : policy->named_parameters()) {
      INFO(p.key());
      REQUIRE(p.value().grad().defined());
      CHECK(torch::isfinite(p.value().grad()).all().item<bool>());
    }
  }
}

TEST_CASE("padding tokens change nothing for the real tokens") {
  // The same envs with the same seeds, once at their own T and once padded to T + 20.
  auto plain = mixed_vec("small", 2, 2, 41);
  const int T = plain->max_tokens(), P = T + 20;  // across a multiple of 16 (the kernel's key padding)
  auto padded = mixed_vec("small", 2, 2, 41, P);
  REQUIRE(padded->max_tokens() == P);
  TransformerPolicy policy = make_policy(*plain, 6);
  torch::Generator gen = at::detail::createCPUGenerator(23);
  for (int step = 0; step < 8; ++step) {
    INFO("step " << step);
    ObsTensors a = observe(*plain), b = observe(*padded);
    REQUIRE(torch::equal(a.features, b.features.narrow(1, 0, T)));
    CHECK((b.valid.narrow(1, T, P - T).logical_not()).all().item<bool>());
    policy->update_normalizer(step % 2 ? a : b);  // the statistics ignore padding: either works

    torch::NoGradGuard no_grad;
    const PolicyHeads ha = policy->heads(a), hb = policy->heads(b);
    CHECK(max_abs_diff(ha.value, hb.value) < 1e-5);
    for (int i : {0, 1}) {  // incident rows
      CHECK(max_abs_diff(ha.verb[i], hb.verb[i]) < 1e-5);
      CHECK(max_abs_diff(ha.target[i], hb.target[i].narrow(1, 0, T)) < 1e-5);
      CHECK(max_abs_diff(ha.diag_type[i], hb.diag_type[i]) < 1e-5);
      CHECK(max_abs_diff(ha.diag_target[i], hb.diag_target[i].narrow(1, 0, T)) < 1e-5);
      CHECK((hb.target[i].narrow(1, T, P - T) == kMaskedLogit).all().item<bool>());
    }
    for (int i : {2, 3}) {  // autoscale rows
      CHECK(max_abs_diff(ha.delta[i], hb.delta[i].narrow(0, 0, T)) < 1e-5);
      CHECK(max_abs_diff(ha.move[i], hb.move[i].narrow(0, 0, T)) < 1e-5);
    }
    // The same actions, laid out for each T, have the same log-probabilities.
    const ActOutput out = policy->act(a, false, gen);
    torch::Tensor wide = torch::zeros({4, 2 * P}, torch::kInt32);
    wide.narrow(1, 0, 4).copy_(out.actions.narrow(1, 0, 4));            // incident rows: 4 columns
    wide.narrow(0, 2, 2).narrow(1, 0, T).copy_(out.actions.narrow(0, 2, 2).narrow(1, 0, T));  // deltas
    wide.narrow(0, 2, 2).narrow(1, P, T).copy_(out.actions.narrow(0, 2, 2).narrow(1, T, T));  // moves
    const EvaluateOutput ea = policy->evaluate(a, out.actions), eb = policy->evaluate(b, wide);
    CHECK(max_abs_diff(ea.log_prob, eb.log_prob) < 1e-5);
    CHECK(max_abs_diff(ea.entropy, eb.entropy) < 1e-5);
    const torch::Tensor ca = out.actions.contiguous(), cb = wide.contiguous();
    plain->step({ca.data_ptr<std::int32_t>(), static_cast<std::size_t>(ca.numel())});
    padded->step({cb.data_ptr<std::int32_t>(), static_cast<std::size_t>(cb.numel())});
  }
}

TEST_CASE("normaliser: per-type running mean and variance of the valid tokens") {
  const int F = 8, T = 7;
  TransformerPolicy policy(TransformerPolicyOptions().feature_width(F).d_model(16).layers(1).heads(2).ff(32));
  torch::manual_seed(9);
  std::vector<ObsTensors> batches;
  std::vector<torch::Tensor> seen_x, seen_t;  // the valid tokens, for the brute force
  for (int b = 0; b < 3; ++b) {
    const int64_t B = 5 + b;
    ObsTensors o;
    o.features = torch::randn({B, T, F}) * (1 + b) + b;
    o.token_type = torch::randint(0, 4, {B, T}, torch::kInt64);
    o.token_type.select(1, 0).fill_(0);
    o.valid = torch::rand({B, T}) > 0.3;
    o.valid.select(1, 0).fill_(true);
    // Invalid tokens are padding, with garbage features that must not count.
    o.token_type.masked_fill_(o.valid.logical_not(), 4);
    o.features.masked_fill_(o.valid.logical_not().unsqueeze(-1), 1e6);
    o.task_id = torch::zeros({B}, torch::kInt64);
    o.action_mask = torch::ones({B, 1}, torch::kBool);
    policy->update_normalizer(o);
    seen_x.push_back(o.features.masked_select(o.valid.unsqueeze(-1)).view({-1, F}));
    seen_t.push_back(o.token_type.masked_select(o.valid));
    batches.push_back(o);
  }
  const torch::Tensor x = torch::cat(seen_x).to(torch::kFloat64), t = torch::cat(seen_t);
  const auto buffers = policy->named_buffers();
  const torch::Tensor count = *buffers.find("norm_count"), mean = *buffers.find("norm_mean"), m2 = *buffers.find("norm_m2");
  for (int k = 0; k < 4; ++k) {
    INFO("type " << k);
    const torch::Tensor xk = x.index_select(0, (t == k).nonzero().squeeze(1));
    const double n = static_cast<double>(xk.size(0));
    REQUIRE(n > 2);
    // Brute force, with CleanRL's prior (count 1e-4, mean 0, variance 1) merged in.
    const double c0 = 1e-4;
    const torch::Tensor bf_mean = xk.sum(0) / (n + c0);
    const torch::Tensor bf_m2 = (xk - xk.mean(0)).pow(2).sum(0) + c0 + xk.mean(0).pow(2) * c0 * n / (n + c0);
    CHECK(count[k].item<double>() == doctest::Approx(n + c0));
    CHECK(max_abs_diff(mean[k], bf_mean) < 1e-9);
    CHECK(max_abs_diff(m2[k], bf_m2) / bf_m2.abs().max().item<double>() < 1e-9);
  }
  // normalize() = clip((x - mean) / sqrt(var + eps), -10, 10) with the type's statistics.
  const ObsTensors& o = batches[0];
  const torch::Tensor xn = policy->normalize(o.features, o.token_type);
  const torch::Tensor var = m2 / count.unsqueeze(1);
  for (int64_t b = 0; b < 2; ++b)
    for (int64_t j = 0; j < T; ++j) {
      if (!o.valid[b][j].item<bool>()) continue;
      const int64_t k = o.token_type[b][j].item<int64_t>();
      const torch::Tensor expect =
          ((o.features[b][j].to(torch::kFloat64) - mean[k]) / (var[k] + 1e-8).sqrt()).clamp(-10, 10);
      CHECK(max_abs_diff(xn[b][j], expect) < 1e-5);
    }
  // Clipping.
  ObsTensors far = batches[0];
  far.features = far.features + 1e4;
  CHECK(policy->normalize(far.features, far.token_type).abs().max().item<float>() == doctest::Approx(10.0f));
}

TEST_CASE("greedy is deterministic and seeded sampling repeats") {
  auto vec = mixed_vec("default", 2, 2, 50);
  TransformerPolicy policy = make_policy(*vec, 7);
  const ObsTensors obs = observe(*vec);
  const ActOutput g1 = policy->act(obs, true), g2 = policy->act(obs, true);
  CHECK(torch::equal(g1.actions, g2.actions));
  CHECK(torch::equal(g1.log_prob, g2.log_prob));
  torch::Generator a = at::detail::createCPUGenerator(1), b = at::detail::createCPUGenerator(1),
                   c = at::detail::createCPUGenerator(2);
  const ActOutput s1 = policy->act(obs, false, a), s2 = policy->act(obs, false, b), s3 = policy->act(obs, false, c);
  CHECK(torch::equal(s1.actions, s2.actions));
  CHECK_FALSE(torch::equal(s1.actions, s3.actions));
  // Greedy takes each head's most likely allowed choice.
  torch::NoGradGuard no_grad;
  const PolicyHeads h = policy->heads(obs);
  CHECK(torch::equal(g1.actions.narrow(0, 0, 2).select(1, 0).to(torch::kInt64), h.verb.narrow(0, 0, 2).argmax(1)));
  CHECK(torch::equal(g1.actions.narrow(0, 0, 2).select(1, 2).to(torch::kInt64), h.diag_type.narrow(0, 0, 2).argmax(1)));
  const int64_t T = obs.tokens();
  const torch::Tensor deltas = g1.actions.narrow(0, 2, 2).narrow(1, 0, T).to(torch::kInt64);
  const torch::Tensor delta_mask = obs.action_mask.narrow(0, 2, 2).narrow(1, 0, 3 * T).view({2, T, 3});
  const torch::Tensor best = h.delta.narrow(0, 2, 2).argmax(2).masked_fill(delta_mask.any(2).logical_not(), 0);
  CHECK(torch::equal(deltas, best));
}

TEST_CASE("save and load round trip: parameters, normaliser buffers, options") {
  auto vec = mixed_vec("small", 2, 2, 60);
  TransformerPolicy policy = make_policy(*vec, 8);
  const ObsTensors obs = observe(*vec);
  policy->update_normalizer(obs);
  const auto path = std::filesystem::temp_directory_path() / ("opsrl_policy_" + std::to_string(::getpid()) + ".pt");
  torch::save(policy, path.string());

  const TransformerPolicyOptions o = read_policy_options(path.string());
  CHECK(o.feature_width() == vec->feature_width());
  CHECK(o.d_model() == policy->options().d_model());
  CHECK(o.pointer_dim() == policy->options().pointer_dim());

  TransformerPolicy loaded = load_policy(path.string());
  // A fresh module with other weights, loaded with torch::load, matches as well.
  torch::manual_seed(1234);
  TransformerPolicy other(policy->options());
  torch::load(other, path.string());
  std::filesystem::remove(path);

  for (TransformerPolicy* p : {&loaded, &other}) {
    const auto b0 = policy->named_buffers(), b1 = (*p)->named_buffers();
    REQUIRE(b0.size() == b1.size());
    for (const auto& kv : b0) CHECK(torch::equal(kv.value(), *b1.find(kv.key())));
    torch::NoGradGuard no_grad;
    const PolicyHeads h0 = policy->heads(obs), h1 = (*p)->heads(obs);
    CHECK(torch::equal(h0.value, h1.value));
    CHECK(torch::equal(h0.target, h1.target));
    CHECK(torch::equal(h0.delta, h1.delta));
    CHECK(torch::equal(policy->act(obs, true).actions, (*p)->act(obs, true).actions));
  }
}
