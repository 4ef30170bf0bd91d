// Implicit Q-learning: its arithmetic on known tensors, the factored Q critic, and a short run on
// a real mixed dataset (random + threshold recordings read together).
#include <cmath>

#include <doctest/doctest.h>
#include <torch/torch.h>

#include <opsrl/envs/actions.hpp>
#include <opsrl/train/offline.hpp>
#include <opsrl/train/rollout.hpp>

#include "../datasets/helpers.hpp"

using namespace opsrl;
using namespace opsrl::train;
using datasets::test::TempFile;

TEST_CASE("expectile loss on known tensors") {
  // diff = Q - V = [1, -2, 0.5]: weights tau, 1 - tau, tau.
  const auto diff = torch::tensor({1.0f, -2.0f, 0.5f});
  CHECK(expectile_loss(diff, 0.7).item<double>() == doctest::Approx((0.7 * 1 + 0.3 * 4 + 0.7 * 0.25) / 3));
  // tau = 0.5 is half the mean squared error.
  CHECK(expectile_loss(diff, 0.5).item<double>() == doctest::Approx(0.5 * (1 + 4 + 0.25) / 3));
  // Minimising it over a constant v gives the tau-expectile: above the mean for tau > 0.5.
  const auto q = torch::tensor({0.0f, 0.0f, 0.0f, 4.0f});
  auto v = torch::zeros({1}, torch::requires_grad());
  torch::optim::SGD opt({v}, 0.5);
  for (int k = 0; k < 500; ++k) {
    opt.zero_grad();
    expectile_loss(q - v, 0.9).backward();
    opt.step();
  }
  // The 0.9-expectile e of {0,0,0,4}: 0.9 (4 - e) = 0.1 x 3 e  =>  e = 3.6 / 1.2 = 3.
  CHECK(v.item<double>() == doctest::Approx(3.0).epsilon(1e-3));
  // Its gradient pulls V up harder than down: d/dV at V = Q - 1 and Q + 1.
  auto w = torch::tensor({0.0f, 2.0f}, torch::requires_grad());
  expectile_loss(torch::tensor({1.0f, 1.0f}) - w, 0.8).backward();
  CHECK(w.grad()[0].item<double>() == doctest::Approx(-2 * 0.8 * 1 / 2));
  CHECK(w.grad()[1].item<double>() == doctest::Approx(2 * 0.2 * 1 / 2));
}

TEST_CASE("TD target, advantage weights and Polyak averaging on known tensors") {
  const auto r = torch::tensor({1.0f, 2.0f, -0.5f});
  const auto next_v = torch::tensor({10.0f, 10.0f, 4.0f});
  const auto term = torch::tensor({false, true, false});
  const auto y = td_target(r, next_v, term, 0.9);
  CHECK(y[0].item<double>() == doctest::Approx(1 + 0.9 * 10));
  CHECK(y[1].item<double>() == doctest::Approx(2));  // terminated: no bootstrap
  CHECK(y[2].item<double>() == doctest::Approx(-0.5 + 0.9 * 4));

  // n-step targets over two episodes: [r 1, 2, 3 | terminated] and [r 10, 20 | truncated].
  const auto rewards = torch::tensor({1.0f, 2.0f, 3.0f, 10.0f, 20.0f});
  const auto episode = torch::tensor({0, 0, 0, 1, 1}, torch::kInt64);
  const auto terminated = torch::tensor({false, false, true, false, false});
  const auto next_row = torch::tensor({1, 2, 3, 5, 6}, torch::kInt64);  // observation rows s_t+1
  const NStepTargets one = n_step_targets(rewards, episode, terminated, next_row, 1, 0.5);
  CHECK(torch::equal(one.rewards, rewards));
  CHECK(torch::equal(one.next_row, next_row));
  CHECK(torch::allclose(one.discount, torch::tensor({0.5f, 0.5f, 0.0f, 0.5f, 0.5f})));
  // n = 1 is td_target's.
  const auto v1 = torch::tensor({4.0f, 6.0f, 8.0f, 12.0f, 14.0f});
  CHECK(torch::allclose(one.rewards + one.discount * v1, td_target(rewards, v1, terminated, 0.5)));
  const NStepTargets two = n_step_targets(rewards, episode, terminated, next_row, 2, 0.5);
  CHECK(torch::allclose(two.rewards, torch::tensor({1 + 0.5f * 2, 2 + 0.5f * 3, 3.0f, 10 + 0.5f * 20, 20.0f})));
  CHECK(torch::equal(two.next_row, torch::tensor({2, 3, 3, 6, 6}, torch::kInt64)));
  // Terminated within the window: no bootstrap; truncated end: bootstrap on the final observation.
  CHECK(torch::allclose(two.discount, torch::tensor({0.25f, 0.0f, 0.0f, 0.25f, 0.5f})));
  const NStepTargets many = n_step_targets(rewards, episode, terminated, next_row, 10, 0.5);
  CHECK(many.rewards[0].item<double>() == doctest::Approx(1 + 0.5 * 2 + 0.25 * 3));
  CHECK(many.discount[0].item<double>() == 0);
  CHECK(many.next_row[3].item<std::int64_t>() == 6);
  CHECK(many.discount[3].item<double>() == doctest::Approx(0.25));

  const auto adv = torch::tensor({0.0f, -1.0f, 1.0f, 10.0f}, torch::requires_grad());
  const auto w = advantage_weights(adv, 2.0, 100.0);
  CHECK(!w.requires_grad());
  CHECK(w[0].item<double>() == doctest::Approx(1));
  CHECK(w[1].item<double>() == doctest::Approx(std::exp(-2.0)));
  CHECK(w[2].item<double>() == doctest::Approx(std::exp(2.0)));
  CHECK(w[3].item<double>() == doctest::Approx(100));  // exp(20) clipped

  torch::nn::Linear a(2, 1), b(2, 1);
  {
    torch::NoGradGuard no_grad;
    a->weight.fill_(1);
    a->bias.fill_(1);
    b->weight.fill_(3);
    b->bias.fill_(-1);
  }
  polyak_update(*a, *b, 0.25);  // a <- 0.25 b + 0.75 a
  CHECK(a->weight[0][0].item<double>() == doctest::Approx(1.5));
  CHECK(a->bias[0].item<double>() == doctest::Approx(0.5));
  CHECK(b->weight[0][0].item<double>() == doctest::Approx(3));  // the source is untouched
}

TEST_CASE("the factored Q critic: Q depends on each column of an incident row and on autoscale deltas") {
  torch::manual_seed(0);
  const int T = 6, F = 8;
  IqlCriticOptions o{agents::TransformerPolicyOptions().feature_width(F).d_model(16).layers(1).heads(2).ff(32).pointer_dim(8)
                         .value_hidden(16),
                     32, 2};
  IqlCritic critic(o);
  ObsTensors obs = make_obs_tensors(2, T, F, 8);
  obs.features.normal_();
  obs.token_type.copy_(torch::tensor({0, 1, 2, 3, 3, 4}).repeat({2, 1}));
  obs.valid.copy_(torch::tensor({true, true, true, true, true, false}).repeat({2, 1}));
  obs.task_id.copy_(torch::tensor({0, 1}));
  torch::NoGradGuard no_grad;
  // Row 0 incident [verb, target, diag type, diag target]; row 1 autoscale [delta x T | move x T].
  const auto base = torch::zeros({2, 2 * T}, torch::kInt64);
  const CriticOutput c0 = critic->forward(obs, base);
  CHECK(c0.q.sizes() == torch::IntArrayRef({2, 2}));
  CHECK(c0.value.sizes() == torch::IntArrayRef({2}));
  CHECK(torch::equal(critic->forward(obs).value, c0.value));  // V does not read the action
  using envs::incident::Column;
  for (int column : {Column::kVerb, Column::kTarget, Column::kDiagType, Column::kDiagTarget}) {
    auto a = base.clone();
    a[0][column] = 2;
    const CriticOutput c = critic->forward(obs, a);
    CHECK_MESSAGE(c.q[0][0].item<double>() != c0.q[0][0].item<double>(), "column " << column);
    CHECK(c.q[0][1].item<double>() == c0.q[0][1].item<double>());  // the other row is untouched
  }
  // Autoscale: scaling a service out changes Q; "keep" everywhere is the row of zeros.
  auto a = base.clone();
  a[1][2] = envs::autoscale::kScaleOut;
  CHECK(critic->forward(obs, a).q[0][1].item<double>() != c0.q[0][1].item<double>());
  // Padding tokens carry nothing, whatever their column holds.
  auto pad = base.clone();
  pad[1][T - 1] = envs::autoscale::kScaleOut;
  CHECK(critic->forward(obs, pad).q[0][1].item<double>() == doctest::Approx(c0.q[0][1].item<double>()));
  // The two heads differ (independent initialisations).
  CHECK(c0.q[0][0].item<double>() != c0.q[1][0].item<double>());
}

TEST_CASE("IQL on a mixed dataset (random + threshold, two files read together): finite, fitting critic") {
  const TempFile random_file("offline-iql-random.h5"), threshold_file("offline-iql-threshold.h5");
  const auto config = datasets::test::short_config();
  datasets::test::record_file(random_file.str(), "random", "incident", 12, 300, config);
  datasets::test::record_file(threshold_file.str(), "threshold", "incident", 12, 400, config);

  OfflineConfig c;
  c.offline.algo = "iql";
  c.add_dataset(random_file.path());
  c.add_dataset(threshold_file.path());
  c.run.threads = 1;
  c.policy.d_model = 32;
  c.policy.layers = 1;
  c.policy.ff = 64;
  c.policy.pointer_dim = 16;
  c.policy.value_hidden = 32;
  c.iql.q_hidden = 64;
  c.offline.batch_size = 128;
  c.offline.learning_rate = 1e-3;
  c.offline.epochs = 6;
  c.data.validation_fraction = 0;
  OfflineDataOptions d;
  d.files = c.dataset_files();
  d.validation_fraction = 0;
  auto data = std::make_shared<const OfflineData>(load_offline_data(d));
  REQUIRE(data->sources.size() == 2);
  CHECK(data->sources[0].policy == "random");
  CHECK(data->sources[1].policy == "threshold");
  CHECK(data->sources[1].mean_return > data->sources[0].mean_return);
  CHECK(data->transitions() == data->sources[0].steps + data->sources[1].steps);

  OfflineTrainer t(c, data);
  OfflineEpochMetrics first, m;
  while (!t.done()) {
    m = t.epoch();
    if (m.epoch == 1) first = m;
  }
  MESSAGE("IQL: q_loss " << first.q_loss << " -> " << m.q_loss << ", v_loss " << first.v_loss << " -> " << m.v_loss
                         << ", q " << m.q_mean << ", v " << m.v_mean << ", weight " << m.weight_mean);
  for (double x : {m.nll, m.actor_loss, m.q_loss, m.v_loss, m.q_mean, m.v_mean, m.adv_mean, m.weight_mean})
    CHECK(std::isfinite(x));
  CHECK(m.q_loss < first.q_loss);
  CHECK(m.weight_mean > 0);
  CHECK(m.weight_mean <= c.iql.max_weight);
  CHECK(std::isnan(m.val_nll));  // nothing held out
}
