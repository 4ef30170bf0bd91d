// The PPO loop end to end at small scale: it learns, checkpoints round-trip, a resumed run's
// next update equals the uninterrupted run's, and the run directory is what the docs say.
#include <atomic>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <doctest/doctest.h>
#include <torch/torch.h>

#include <opsrl/envs/action_sampler.hpp>
#include <opsrl/envs/vec_env.hpp>
#include <opsrl/train/run.hpp>
#include <opsrl/train/trainer.hpp>

#include "helpers.hpp"

using namespace opsrl;
using namespace opsrl::train;
using namespace opsrl::train::test;

namespace {

std::filesystem::path fresh_dir(const std::string& name) {
  const auto dir = std::filesystem::temp_directory_path() / ("opsrl_test_train_" + name);
  std::filesystem::remove_all(dir);
  return dir;
}

std::vector<std::string> read_lines(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  return lines;
}

// The columns of a metrics row that do not depend on wall time (from policy_loss on, and the
// per-task episode columns).
std::string deterministic_part(const std::string& row) {
  std::vector<std::string> cells;
  std::stringstream ss(row);
  for (std::string c; std::getline(ss, c, ',');) cells.push_back(c);
  std::string out = cells.at(0) + "," + cells.at(1);
  for (std::size_t k = 6; k < cells.size(); ++k) out += "," + cells[k];
  return out;
}

}  // namespace

TEST_CASE("PPO learns the cue task within a fixed step budget") {
  const TrainConfig c = cue_config();
  Trainer t(c, cue_options(c));
  const UpdateMetrics first = t.update();
  // A random policy answers right half the time: about one reward before the first mistake.
  REQUIRE(first.tasks.size() == 1);
  CHECK(first.tasks[0].episodes > 0);
  CHECK(first.tasks[0].mean_return < 2.5);
  UpdateMetrics m;
  while (!t.done()) m = t.update();
  CHECK(m.global_step == c.run.total_steps);
  CHECK(m.update == 40);
  const double learned = t.recent_mean_returns()[0];
  MESSAGE("cue task: first rollout return " << first.tasks[0].mean_return << ", last 100 episodes " << learned
                                            << " (max " << kCueEpisodeSteps << ")");
  CHECK(learned > 6.0);
  // The greedy policy reads the cue.
  torch::NoGradGuard no_grad;
  const ObsTensors obs = make_obs_tensors(t.vec().size(), t.vec().max_tokens(), t.vec().feature_width(), t.vec().mask_width());
  copy_observations(t.vec().observations(), obs);
  const ActOutput greedy = t.policy().act(obs, true, {});
  const auto cue = (obs.features.select(1, 0).select(1, kCueColumn) > 0).to(torch::kInt32);
  CHECK(torch::equal(greedy.actions.select(1, 0), cue));
  // (Explained variance stays near 0 here, rightly: truncation bootstraps with V(final), so
  // every return approaches the infinite-horizon value 1 / (1 - gamma) and varies little.)
  CHECK(std::isfinite(m.explained_variance));
  CHECK(m.learning_rate < c.ppo.learning_rate);  // annealed
}

TEST_CASE("checkpoint round trip and a bit-identical resume") {
  TrainConfig c = cue_config(4, 16);
  c.run.total_steps = 10 * 4 * 16;
  c.ppo.target_kl = 0.05;  // exercise the early stop's state too
  const auto dir = fresh_dir("resume");
  std::filesystem::create_directories(dir);
  const auto ckpt = dir / "mid.pt";

  Trainer a(c, cue_options(c));
  a.update();
  a.update();
  a.save_checkpoint(ckpt);
  CHECK(std::filesystem::exists(ckpt));
  CHECK(!std::filesystem::exists(ckpt.string() + ".tmp"));
  const UpdateMetrics a3 = a.update();
  const UpdateMetrics a4 = a.update();

  Trainer b(c, cue_options(c));
  b.load_checkpoint(ckpt);
  CHECK(b.update_count() == 2);
  CHECK(b.global_step() == 2 * 4 * 16);
  const UpdateMetrics b3 = b.update();
  const UpdateMetrics b4 = b.update();
  for (const auto& [x, y] : {std::pair{a3, b3}, std::pair{a4, b4}}) {
    CHECK(x.update == y.update);
    CHECK(x.global_step == y.global_step);
    CHECK(x.policy_loss == y.policy_loss);  // bit-identical, not approximately
    CHECK(x.value_loss == y.value_loss);
    CHECK(x.entropy == y.entropy);
    CHECK(x.approx_kl == y.approx_kl);
    CHECK(x.epochs == y.epochs);
    CHECK(x.learning_rate == y.learning_rate);
    REQUIRE(x.tasks.size() == y.tasks.size());
    CHECK(x.tasks[0].episodes == y.tasks[0].episodes);
    CHECK((x.tasks[0].mean_return == y.tasks[0].mean_return ||
           (std::isnan(x.tasks[0].mean_return) && std::isnan(y.tasks[0].mean_return))));
  }
  CHECK(same_parameters(a.policy().module(), b.policy().module()));
  CHECK(same_parameters(a.policy().module(), b.policy().module()));

  // A loaded checkpoint gives the saved model's outputs.
  Trainer c2(c, cue_options(c));
  c2.load_checkpoint(ckpt);
  Trainer a2(c, cue_options(c));
  a2.update();
  a2.update();
  CHECK(same_parameters(a2.policy().module(), c2.policy().module()));
  torch::NoGradGuard no_grad;
  const ObsTensors obs = make_obs_tensors(4, a2.vec().max_tokens(), a2.vec().feature_width(), a2.vec().mask_width());
  copy_observations(a2.vec().observations(), obs);
  CHECK(torch::equal(a2.policy().value(obs), c2.policy().value(obs)));

  // A checkpoint of another configuration is refused with the differing keys.
  TrainConfig other = c;
  other.env.scenario = "default";
  Trainer d(other, cue_options(other));
  CHECK_THROWS_WITH(d.load_checkpoint(ckpt), doctest::Contains("env.scenario (small vs default)"));
  std::filesystem::remove_all(dir);
}

TEST_CASE("run directory: config, metrics, checkpoints, and --resume continues bit-identically") {
  TrainConfig c = cue_config(4, 16);
  c.run.total_steps = 4 * 4 * 16;
  c.run.checkpoint_every = 2;
  c.run.keep_checkpoints = 1;

  RunOptions whole;
  whole.config = c;
  whole.run_dir = fresh_dir("run_whole");
  whole.handle_sigint = false;
  whole.trainer = std::make_shared<TrainerOptions>(cue_options(c));
  const RunSummary s = run_training(whole);
  CHECK(s.updates == 4);
  CHECK(!s.interrupted);
  const auto& d = whole.run_dir;
  CHECK(std::filesystem::exists(d / "config.toml"));
  CHECK(std::filesystem::exists(d / "checkpoints" / "latest.pt"));
  CHECK(std::filesystem::exists(d / "checkpoints" / "update_000004.pt"));
  CHECK(!std::filesystem::exists(d / "checkpoints" / "update_000002.pt"));  // keep_checkpoints = 1
  const auto rows = read_lines(d / "metrics.csv");
  REQUIRE(rows.size() == 5);
  CHECK(rows[0].rfind("update,global_step,sps,collect_s,learn_s,wall_s,episodes_cue,return_cue,length_cue,reward_scale_cue,policy_loss", 0) == 0);
  CHECK(load_config_file(d / "config.toml").run.total_steps == c.run.total_steps);
  CHECK(to_toml(load_config_file(d / "config.toml")) == to_toml(c));

  // The same run stopped after 2 updates (as by Ctrl-C) and resumed to the end.
  RunOptions half = whole;
  half.run_dir = fresh_dir("run_half");
  half.stop_after_updates = 2;
  CHECK(run_training(half).interrupted);
  half.stop_after_updates.reset();
  // A second run in the same directory is refused.
  CHECK_THROWS_WITH(run_training(half), doctest::Contains("use --resume"));
  RunOptions resume;
  resume.resume = half.run_dir;
  resume.handle_sigint = false;
  resume.trainer = std::make_shared<TrainerOptions>(cue_options(c));
  const RunSummary r = run_training(resume);
  CHECK(r.updates == 4);
  CHECK(!r.interrupted);
  const auto resumed_rows = read_lines(half.run_dir / "metrics.csv");
  REQUIRE(resumed_rows.size() == 5);
  for (std::size_t k = 1; k < rows.size(); ++k) CHECK(deterministic_part(rows[k]) == deterministic_part(resumed_rows[k]));

  // A stop request (Ctrl-C) before the first rollout completes saves the start state.
  std::atomic<bool> stop{true};
  RunOptions stopped = whole;
  stopped.run_dir = fresh_dir("run_stopped");
  stopped.stop = &stop;
  const RunSummary st = run_training(stopped);
  CHECK(st.interrupted);
  CHECK(st.updates == 0);
  CHECK(std::filesystem::exists(stopped.run_dir / "checkpoints" / "latest.pt"));
  for (const auto& dir : {whole.run_dir, half.run_dir, stopped.run_dir}) std::filesystem::remove_all(dir);
}
