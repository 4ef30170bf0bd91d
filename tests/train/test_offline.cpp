// Offline training from real HDF5 recordings (datasets::record into temp files, no mocks):
// behaviour cloning learns a recorded policy, checkpoints round-trip and load as PPO ones do,
// `opsrl train --init-from` fine-tunes a BC checkpoint, and the config behaves like train's.
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>

#include <doctest/doctest.h>
#include <torch/torch.h>

#include <opsrl/agents/policy.hpp>
#include <opsrl/datasets/reader.hpp>
#include <opsrl/train/learned_policy.hpp>
#include <opsrl/train/offline.hpp>
#include <opsrl/train/offline_run.hpp>
#include <opsrl/train/rollout.hpp>
#include <opsrl/train/run.hpp>
#include <opsrl/train/trainer.hpp>

#include "../datasets/helpers.hpp"
#include "helpers.hpp"

using namespace opsrl;
using namespace opsrl::train;
using opsrl::train::test::same_parameters;
using datasets::test::TempFile;

namespace {

std::filesystem::path fresh_dir(const std::string& name) {
  const auto dir = std::filesystem::temp_directory_path() / ("opsrl_test_offline_" + name + "_" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  return dir;
}

std::vector<std::string> read_lines(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  return lines;
}

// A small, fast configuration of the real transformer for tests (one thread).
OfflineConfig small_config(const std::string& algo, const std::filesystem::path& file) {
  OfflineConfig c;
  c.offline.algo = algo;
  c.add_dataset(file);
  c.run.threads = 1;
  c.policy.d_model = 32;
  c.policy.layers = 1;
  c.policy.ff = 64;
  c.policy.pointer_dim = 16;
  c.policy.value_hidden = 32;
  c.iql.q_hidden = 64;
  c.offline.batch_size = 128;
  c.offline.learning_rate = 1e-3;
  c.data.validation_fraction = 0.2;
  c.log.progress = "off";
  return c;
}

std::shared_ptr<const OfflineData> load(const OfflineConfig& c) {
  return std::make_shared<const OfflineData>(load_offline_data(data_options(c)));
}

// The `small` incident env with short episodes (datasets' test config); the threshold runbook
// is deterministic and acts on alerts, which the observation carries.
const TempFile& threshold_file() {
  static const TempFile file("offline-threshold.h5");
  static const bool recorded = [] {
    datasets::test::record_file(file.str(), "threshold", "incident", 48, 100, datasets::test::short_config());
    return true;
  }();
  (void)recorded;
  return file;
}

}  // namespace

TEST_CASE("offline data: transitions, canonical rows, labels and the validation split from a real recording") {
  const TempFile& file = threshold_file();
  const OfflineConfig c = small_config("bc", file.path());
  const auto d = load(c);
  const datasets::Reader reader(file.path());
  std::int64_t steps = 0;
  for (int k = 0; k < reader.num_episodes(); ++k) steps += reader.read_meta(k).meta.steps;
  CHECK(d->transitions() == steps);
  CHECK(d->obs.batch() == steps + reader.num_episodes());  // T + 1 observation rows per episode
  CHECK(d->train.numel() + d->validation.numel() == steps);
  CHECK(d->validation.numel() > 0);
  // Held-out transitions are whole episodes, disjoint from the training ones.
  const auto train_eps = std::get<0>(torch::_unique(d->episode.index_select(0, d->train)));
  const auto val_eps = std::get<0>(torch::_unique(d->episode.index_select(0, d->validation)));
  CHECK(torch::isin(val_eps, train_eps).any().item<bool>() == false);
  CHECK(val_eps.numel() == 10);  // 0.2 x 48 episodes, rounded
  // The threshold runbook's rows are all allowed by their masks.
  CHECK(d->disallowed == 0);
  CHECK(d->allowed.all().item<bool>());
  // s_t+1 follows s_t; the last transition of an episode points at its final observation.
  CHECK(torch::equal(d->next_row, d->obs_row + 1));
  // Diagnosis labels: "no claim" (0) or 1 + a fault type, roots within the tokens.
  CHECK((d->aux_type >= 0).all().item<bool>());
  CHECK((d->aux_type > 0).any().item<bool>());
  CHECK((d->aux_type == 0).any().item<bool>());
  CHECK((d->aux_target < d->tokens).all().item<bool>());
  CHECK(((d->aux_type > 0) == (d->aux_target >= 0)).all().item<bool>());
  // Discounted returns-to-go: R_t = r_t + gamma R_t+1 within an episode, r at the last step.
  const auto last = (d->episode.narrow(0, 0, steps - 1) != d->episode.narrow(0, 1, steps - 1)).nonzero().flatten();
  CHECK(torch::allclose(d->returns.index_select(0, last), d->rewards.index_select(0, last)));
  const auto r = d->returns;
  const auto inner = (d->episode.narrow(0, 0, steps - 1) == d->episode.narrow(0, 1, steps - 1));
  const auto expect = d->rewards.narrow(0, 0, steps - 1) + 0.99f * r.narrow(0, 1, steps - 1);
  CHECK(torch::allclose(r.narrow(0, 0, steps - 1).masked_select(inner), expect.masked_select(inner), 1e-4, 1e-4));
  CHECK((d->reward_scale > 0).all().item<bool>());
  // The env description written into checkpoints.
  EnvSection env;
  d->describe_envs(env);
  CHECK(env.scenario == "small");
  CHECK(env.autoscale_envs == 0);
  CHECK(env.incident_envs > 0);
  REQUIRE(d->eval_tasks().size() == 1);
  CHECK(d->eval_tasks()[0].first == "incident");
  CHECK(d->eval_tasks()[0].second != nullptr);
}

TEST_CASE("offline data: aux.label_delay_s labels a fault's first seconds \"no claim\", as opsrl train does") {
  const TempFile& file = threshold_file();
  OfflineConfig c = small_config("bc", file.path());
  c.aux.label_delay_s = 0;
  const auto at_onset = load(c);
  c.aux.label_delay_s = 30;
  const auto delayed = load(c);
  c.aux.label_delay_s = 1e6;  // longer than any episode: never a fault label
  const auto never = load(c);
  const auto labelled = [](const OfflineData& d) { return (d.aux_type > 0).sum().item<std::int64_t>(); };
  CHECK(labelled(*delayed) > 0);
  CHECK(labelled(*delayed) < labelled(*at_onset));
  CHECK(labelled(*never) == 0);
  CHECK((never->aux_target < 0).all().item<bool>());
  // A step labelled with a fault after the delay is labelled with the same fault without it.
  const auto both = delayed->aux_type > 0;
  CHECK(torch::equal(delayed->aux_type.masked_select(both), at_onset->aux_type.masked_select(both)));
  c.aux.label_delay_s = -1;
  CHECK_THROWS_WITH_AS(c.validate(), doctest::Contains("aux.label_delay_s must be >= 0"), ConfigError);
}

TEST_CASE("offline data: with action noise the policy learns the intended rows, the critic the executed ones") {
  const TempFile file("offline-noise.h5");
  datasets::test::record_file(file.str(), "oracle", "incident", 16, 200, datasets::test::short_config(), 0, 1, "small",
                              /*action_noise=*/0.5);
  const auto d = load(small_config("iql", file.path()));
  REQUIRE(d->intended > 0);
  // The rows that differ are the skipped ones: the oracle's remedy (verb, target) against none.
  const auto differs = (d->cloned != d->actions).any(1);
  CHECK(differs.sum().item<std::int64_t>() == d->intended);
  const auto rows = differs.nonzero().flatten();
  CHECK((d->actions.index_select(0, rows).narrow(1, 0, 2) == 0).all().item<bool>());
  CHECK((d->cloned.index_select(0, rows).select(1, 0) != 0).all().item<bool>());
  CHECK(torch::equal(d->cloned.index_select(0, rows).narrow(1, 2, 2), d->actions.index_select(0, rows).narrow(1, 2, 2)));
  CHECK(d->allowed.all().item<bool>());
  // Without noise there is one set of rows.
  const TempFile plain("offline-plain.h5");
  datasets::test::record_file(plain.str(), "oracle", "incident", 16, 200, datasets::test::short_config(), 0, 1, "small");
  const auto p = load(small_config("bc", plain.path()));
  CHECK(p->intended == 0);
  CHECK(p->cloned.is_same(p->actions));
}

TEST_CASE("BC lowers the NLL and reproduces the threshold runbook's actions on held-out recorded observations") {
  const TempFile& file = threshold_file();
  OfflineConfig c = small_config("bc", file.path());
  c.offline.epochs = 12;
  OfflineTrainer t(c, load(c));
  const ValidationMetrics before = t.validate();
  OfflineEpochMetrics first, m;
  while (!t.done()) {
    m = t.epoch();
    if (m.epoch == 1) first = m;
  }
  MESSAGE("BC on threshold: val nll " << before.nll << " -> " << m.val_nll << ", val agreement " << before.agreement
                                      << " -> " << m.val_agreement << " (remediation " << m.val_agreement_remediation
                                      << "), train nll " << first.nll << " -> " << m.nll << ", "
                                      << m.samples_per_second << " samples/s");
  CHECK(m.nll < 0.25 * first.nll);
  CHECK(m.val_nll < 0.2 * before.nll);
  CHECK(m.val_agreement > 0.9);
  CHECK(m.val_agreement_remediation > 0.9);
  CHECK(std::isfinite(m.aux_loss));
  CHECK(std::isfinite(m.value_loss));
  CHECK(m.steps == 12 * ((t.data().train.numel() + c.offline.batch_size - 1) / c.offline.batch_size));
}

TEST_CASE("offline checkpoints round-trip, and load as policies exactly like PPO checkpoints") {
  const TempFile& file = threshold_file();
  OfflineConfig c = small_config("iql", file.path());
  c.offline.epochs = 2;
  const auto data = load(c);
  const auto dir = fresh_dir("ckpt");
  const auto ckpt = dir / "latest.pt";
  OfflineTrainer a(c, data);
  a.epoch();
  a.save_checkpoint(ckpt);
  CHECK(std::filesystem::exists(ckpt));
  CHECK(!std::filesystem::exists(ckpt.string() + ".tmp"));

  // The whole offline state comes back: the next epoch is bit-identical.
  OfflineTrainer b(c, data);
  b.load_checkpoint(ckpt);
  CHECK(b.epoch_count() == 1);
  CHECK(same_parameters(a.policy().module(), b.policy().module()));
  const OfflineEpochMetrics ma = a.epoch(), mb = b.epoch();
  CHECK(ma.nll == mb.nll);
  CHECK(ma.q_loss == mb.q_loss);
  CHECK(ma.v_loss == mb.v_loss);
  CHECK(same_parameters(a.policy().module(), b.policy().module()));

  // load_policy (opsrl eval, opsrl export) and agents::load_policy read it like a PPO checkpoint.
  const LoadedPolicy loaded = load_policy(ckpt);
  CHECK(loaded.config.env.scenario == "small");
  CHECK(loaded.config.policy.d_model == 32);
  CHECK(loaded.update == 1);
  agents::TransformerPolicy bare = agents::load_policy(ckpt.string());
  OfflineTrainer fresh(c, data);
  fresh.load_checkpoint(ckpt);
  torch::NoGradGuard no_grad;
  const ObsTensors obs = select_rows(data->obs, torch::arange(0, 64, torch::kInt64));
  const auto act_saved = fresh.policy().act(obs, true, {}).actions;
  CHECK(torch::equal(loaded.policy->act(obs, true, {}).actions, act_saved));
  CHECK(torch::equal(bare->act(obs, true).actions, act_saved));
  // As `opsrl eval --policy RUN/checkpoints/latest.pt` loads it.
  register_checkpoint_loader();
  auto policy = agents::make_policy(ckpt.string(), agents::PolicyOptions{});
  CHECK(policy->unsupported_reason(envs::TaskId::kIncident).empty());

  // A BC run cannot load an IQL checkpoint.
  OfflineConfig bc = c;
  bc.offline.algo = "bc";
  OfflineTrainer other(bc, data);
  CHECK_THROWS_WITH(other.load_checkpoint(ckpt), doctest::Contains("an offline iql checkpoint, this run trains bc"));
  std::filesystem::remove_all(dir);
}

TEST_CASE("opsrl offline's run directory: config, metrics per epoch, checkpoints, evaluation") {
  const TempFile& file = threshold_file();
  OfflineRunOptions o;
  o.config = small_config("bc", file.path());
  o.config.offline.epochs = 3;
  o.config.run.checkpoint_every = 1;
  o.config.run.keep_checkpoints = 2;
  o.config.eval.every = 3;
  o.config.eval.episodes = 4;
  o.run_dir = fresh_dir("run");
  o.handle_sigint = false;
  const OfflineRunSummary s = run_offline(o);
  CHECK(s.epochs == 3);
  CHECK(!s.interrupted);
  const auto& d = o.run_dir;
  CHECK(to_toml(load_offline_config_file(d / "config.toml")) == to_toml(o.config));
  const auto rows = read_lines(d / "metrics.csv");
  REQUIRE(rows.size() == 4);
  CHECK(rows[0].rfind("epoch,steps,samples,samples_per_s,learn_s,wall_s,learning_rate,nll,", 0) == 0);
  CHECK(rows[3].rfind("3,", 0) == 0);
  CHECK(std::filesystem::exists(d / "checkpoints" / "latest.pt"));
  CHECK(std::filesystem::exists(d / "checkpoints" / "epoch_000003.pt"));
  CHECK(std::filesystem::exists(d / "checkpoints" / "epoch_000002.pt"));
  CHECK(!std::filesystem::exists(d / "checkpoints" / "epoch_000001.pt"));  // keep_checkpoints = 2
  const auto eval = read_lines(d / "eval.csv");
  REQUIRE(eval.size() > 1);
  CHECK(eval[1].rfind("3,0,incident,", 0) == 0);
  CHECK(s.eval_line.find("eval @ epoch 3: incident return") == 0);
  // The only evaluation so far is the best: kept as best.pt, its epoch and score in best.txt.
  CHECK(s.eval_line.find("(best so far: checkpoints/best.pt)") != std::string::npos);
  CHECK(std::filesystem::exists(d / "checkpoints" / "best.pt"));
  CHECK(read_lines(d / "checkpoints" / "best.txt").at(0).rfind("3 ", 0) == 0);
  // A second run into the same directory is refused.
  CHECK_THROWS_WITH(run_offline(o), doctest::Contains("already holds a run"));
  // --resume --epochs 4 extends it by one epoch, as if it had been a 4-epoch run from the start.
  OfflineRunOptions more;
  more.resume = d;
  more.epochs = 4;
  more.handle_sigint = false;
  CHECK(run_offline(more).epochs == 4);
  const auto resumed_rows = read_lines(d / "metrics.csv");
  REQUIRE(resumed_rows.size() == 5);
  CHECK(resumed_rows[4].rfind("4,", 0) == 0);
  CHECK(read_lines(d / "eval.csv").back().rfind("4,0,incident,", 0) == 0);
  const std::string best = read_lines(d / "checkpoints" / "best.txt").at(0);
  CHECK((best.rfind("3 ", 0) == 0 || best.rfind("4 ", 0) == 0));  // the resumed run keeps the record
  OfflineRunOptions straight = o;
  straight.config.offline.epochs = 4;
  straight.run_dir = fresh_dir("run_straight");
  run_offline(straight);
  CHECK(same_parameters(load_policy(d / "checkpoints" / "latest.pt").policy->module(),
                        load_policy(straight.run_dir / "checkpoints" / "latest.pt").policy->module()));
  std::filesystem::remove_all(straight.run_dir);
  OfflineRunOptions nowhere;
  nowhere.resume = fresh_dir("run_none");
  CHECK_THROWS_WITH(run_offline(nowhere), doctest::Contains("no config.toml there"));
  // A stop request before the first epoch still leaves a loadable checkpoint.
  std::atomic<bool> stop{true};
  OfflineRunOptions stopped = o;
  stopped.run_dir = fresh_dir("run_stopped");
  stopped.stop = &stop;
  CHECK(run_offline(stopped).interrupted);
  CHECK_NOTHROW(load_policy(stopped.run_dir / "checkpoints" / "latest.pt"));
  std::filesystem::remove_all(o.run_dir);
  std::filesystem::remove_all(stopped.run_dir);
}

TEST_CASE("opsrl train --init-from a BC checkpoint: PPO starts from the BC weights and fine-tunes") {
  const TempFile& file = threshold_file();
  OfflineRunOptions o;
  o.config = small_config("bc", file.path());
  o.config.offline.epochs = 2;
  o.run_dir = fresh_dir("bc_for_ppo");
  o.handle_sigint = false;
  run_offline(o);
  const auto ckpt = o.run_dir / "checkpoints" / "latest.pt";

  // PPO with the same policy options on the envs the dataset came from.
  TrainConfig c = load_policy(ckpt).config;
  c.run.threads = c.env.threads = 1;
  c.env.incident_envs = 4;
  c.env.autoscale_envs = 0;
  c.ppo.num_steps = 16;
  c.ppo.num_minibatches = 2;
  c.ppo.update_epochs = 1;
  c.run.total_steps = 2 * 4 * 16;
  c.log.progress = "off";
  c.eval.every = 0;
  Trainer t(c);
  t.init_from(ckpt);
  const LoadedPolicy bc = load_policy(ckpt);
  CHECK(same_parameters(t.policy().module(), bc.policy->module()));  // weights and normaliser
  CHECK(t.update_count() == 0);
  const UpdateMetrics m = t.update();
  CHECK(std::isfinite(m.policy_loss));
  CHECK(std::isfinite(m.value_loss));
  CHECK(!same_parameters(t.policy().module(), bc.policy->module()));  // it fine-tunes

  // The same through the run loop (what `opsrl train --init-from` does).
  RunOptions r;
  r.config = c;
  r.run_dir = fresh_dir("ppo_from_bc");
  r.init_from = ckpt;
  r.handle_sigint = false;
  const RunSummary s = run_training(r);
  CHECK(s.updates == 2);
  CHECK(std::filesystem::exists(r.run_dir / "checkpoints" / "latest.pt"));
  // A policy of other options is refused, naming both.
  TrainConfig wider = c;
  wider.policy.d_model = 64;
  Trainer w(wider);
  CHECK_THROWS_WITH(w.init_from(ckpt), doctest::Contains("differs from this run's"));
  std::filesystem::remove_all(o.run_dir);
  std::filesystem::remove_all(r.run_dir);
}

TEST_CASE("the embedded offline.toml lists every key with the documented defaults; errors name the key") {
  const std::string text(default_offline_config_text());
  OfflineConfig c;
  for (const ConfigKey& k : offline_config_keys(c)) {
    const std::string key = k.name.substr(k.name.find('.') + 1);
    CHECK_MESSAGE(text.find("\n" + key + " ") != std::string::npos, "offline.toml lacks " << k.name);
  }
  CHECK(to_toml(default_offline_config()) == to_toml(OfflineConfig{}));
  CHECK_NOTHROW(default_offline_config().validate());

  OfflineConfig d;
  CHECK_THROWS_WITH(apply_toml(d, "[iql]\nbeta = 3\ntemperature = 1\n", "my.toml"),
                    doctest::Contains("my.toml:3:1: unknown key \"iql.temperature\"; known keys in [iql]: expectile, beta"));
  CHECK_THROWS_WITH(apply_toml(d, "[ppo]\nclip_coef = 0.1\n", "my.toml"),
                    doctest::Contains("unknown section \"ppo\"; known sections: [run], [data], [policy], [offline]"));
  CHECK_THROWS_WITH(apply_override(d, "offline.epochs=many"), doctest::Contains("offline.epochs must be an integer"));
  apply_override(d, "offline.algo=iql");
  CHECK(d.offline.algo == "iql");
  d.offline.algo = "cql";
  CHECK_THROWS_WITH(d.validate(), doctest::Contains("offline.algo must be \"bc\" or \"iql\", got \"cql\""));
  OfflineConfig e;
  e.iql.expectile = 1.0;
  CHECK_THROWS_WITH(e.validate(), doctest::Contains("iql.expectile must be in (0, 1), got 1"));
  OfflineConfig f;
  f.add_dataset("a.h5");
  f.add_dataset("dir/b.h5");
  REQUIRE(f.dataset_files().size() == 2);
  CHECK(f.dataset_files()[1] == std::filesystem::path("dir/b.h5"));
  CHECK_THROWS_WITH(f.add_dataset("x,y.h5"), doctest::Contains("must not contain a comma"));
  // A missing dataset is a clear error, not a crash.
  OfflineRunOptions o;
  o.config = small_config("bc", "/nonexistent/x.h5");
  o.run_dir = fresh_dir("missing");
  o.handle_sigint = false;
  CHECK_THROWS_WITH(run_offline(o), doctest::Contains("/nonexistent/x.h5"));
}
