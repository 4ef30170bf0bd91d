// The trainer with the real transformer policy on the real incident + autoscale mix, at a tiny
// scale: diagnosis labels flow, losses are finite, and a resumed run is bit-identical.
// Built only when the transformer is (OPSRL_TRAIN_HAVE_TRANSFORMER).
#ifdef OPSRL_TRAIN_HAVE_TRANSFORMER
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include <doctest/doctest.h>
#include <torch/torch.h>

#include <opsrl/train/run.hpp>
#include <opsrl/train/trainer.hpp>

using namespace opsrl;
using namespace opsrl::train;

namespace {

TrainConfig tiny_transformer_config() {
  TrainConfig c;
  c.run.seed = 11;
  c.run.threads = 1;
  c.env.threads = 1;
  c.env.incident_envs = 3;
  c.env.autoscale_envs = 1;
  c.env.incident_difficulty = "easy";
  c.env.autoscale_episode_length = "10m";
  c.policy.d_model = 16;
  c.policy.heads = 2;
  c.policy.ff = 32;
  c.policy.pointer_dim = 8;
  c.policy.value_hidden = 16;
  c.ppo.num_steps = 24;
  c.ppo.num_minibatches = 2;
  c.ppo.update_epochs = 2;
  c.teacher = {"", ""};  // plain PPO; the kickstarting test below sets its teachers
  c.run.total_steps = 10 * 4 * 24;
  c.log.progress = "off";
  return c;
}

}  // namespace

TEST_CASE("transformer PPO on incident + autoscale: labels, finite losses, bit-identical resume") {
  const TrainConfig c = tiny_transformer_config();
  const auto dir = std::filesystem::temp_directory_path() / "opsrl_test_train_transformer";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  Trainer a(c);
  const UpdateMetrics m1 = a.update();
  CHECK(std::isfinite(m1.policy_loss));
  CHECK(std::isfinite(m1.value_loss));
  CHECK(std::isfinite(m1.entropy));
  CHECK(std::isfinite(m1.aux_loss));  // incident steps carry diagnosis labels
  CHECK(m1.tasks.size() == 2);
  a.update();
  a.save_checkpoint(dir / "mid.pt");
  const UpdateMetrics a3 = a.update();

  Trainer b(c);
  b.load_checkpoint(dir / "mid.pt");
  const UpdateMetrics b3 = b.update();
  CHECK(a3.policy_loss == b3.policy_loss);
  CHECK(a3.value_loss == b3.value_loss);
  CHECK((a3.aux_loss == b3.aux_loss || (std::isnan(a3.aux_loss) && std::isnan(b3.aux_loss))));
  CHECK(a3.approx_kl == b3.approx_kl);
  CHECK(a3.tasks[0].episodes == b3.tasks[0].episodes);
  for (const auto& p : a.policy().module().named_parameters())
    CHECK_MESSAGE(torch::equal(p.value(), b.policy().module().named_parameters()[p.key()]), p.key());
  for (const auto& p : a.policy().module().named_buffers())
    CHECK_MESSAGE(torch::equal(p.value(), b.policy().module().named_buffers()[p.key()]), p.key());

  // The checkpoint is also a saved policy: rebuilt from it, it gives the same values.
  const LoadedPolicy loaded = load_policy(dir / "mid.pt");
  CHECK(loaded.update == 2);
  CHECK(loaded.policy->kind() == "transformer");
  Trainer fresh(c);
  fresh.load_checkpoint(dir / "mid.pt");
  {
    torch::NoGradGuard no_grad;
    const ObsTensors obs =
        make_obs_tensors(4, fresh.vec().max_tokens(), fresh.vec().feature_width(), fresh.vec().mask_width());
    copy_observations(fresh.vec().observations(), obs);
    CHECK(torch::equal(loaded.policy->value(obs), fresh.policy().value(obs)));
  }

  // Without the auxiliary loss (the ablation) the column is empty.
  TrainConfig off = c;
  off.aux.diagnosis_weight = 0;
  Trainer d(off);
  CHECK(std::isnan(d.update().aux_loss));

  // Faults are labelled only once they have run aux.label_delay_s: with a delay longer than any
  // episode no step carries a fault label (no accuracy to measure), without one they do.
  REQUIRE(std::isfinite(m1.diag_accuracy));
  TrainConfig never = c;
  never.aux.label_delay_s = 1e6;
  Trainer e(never);
  const UpdateMetrics me = e.update();
  CHECK(std::isfinite(me.aux_loss));  // the "no claim" labels remain
  CHECK(std::isnan(me.diag_accuracy));
  std::filesystem::remove_all(dir);
}

TEST_CASE("periodic evaluation on validation seeds keeps the best checkpoint as best.pt") {
  TrainConfig c = tiny_transformer_config();
  c.run.total_steps = 3 * 4 * 24;
  c.eval.every = 1;
  c.eval.episodes = 2;
  RunOptions o;
  o.config = c;
  o.run_dir = std::filesystem::temp_directory_path() / "opsrl_test_train_best";
  std::filesystem::remove_all(o.run_dir);
  o.handle_sigint = false;
  run_training(o);
  // eval.csv: the sum of the tasks' mean returns per update; best.txt names the highest.
  std::ifstream csv(o.run_dir / "eval.csv");
  std::string line;
  std::getline(csv, line);
  std::map<int, double> sums;
  while (std::getline(csv, line)) {
    std::stringstream row(line);
    std::string update, step, task, figure, value;
    std::getline(row, update, ',');
    std::getline(row, step, ',');
    std::getline(row, task, ',');
    std::getline(row, figure, ',');
    std::getline(row, value, ',');
    if (figure == "return") sums[std::stoi(update)] += std::stod(value);
  }
  REQUIRE(sums.size() == 3);
  int best = 1;
  for (const auto& [update, sum] : sums)
    if (sum > sums[best]) best = update;
  std::ifstream best_txt(o.run_dir / "checkpoints" / "best.txt");
  int saved_update = 0;
  double saved_score = 0;
  REQUIRE(static_cast<bool>(best_txt >> saved_update >> saved_score));
  CHECK(saved_update == best);
  CHECK(saved_score == doctest::Approx(sums[best]).epsilon(1e-5));
  CHECK(load_policy(o.run_dir / "checkpoints" / "best.pt").update == best);
  std::filesystem::remove_all(o.run_dir);
}
TEST_CASE("kickstarting: the teacher's rows are learned on the learner's own states, the weight decays, resume is exact") {
  TrainConfig c = tiny_transformer_config();
  c.teacher.incident = "oracle_late";
  c.teacher.until = 0.5;  // 10 updates: weight 1, 0.8, ..., 0.2, then 0
  c.teacher.action_weight = 3;
  c.ppo.learning_rate = 1e-3;
  const auto dir = std::filesystem::temp_directory_path() / "opsrl_test_train_teacher";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  Trainer a(c);
  std::vector<UpdateMetrics> m;
  for (int u = 0; u < 3; ++u) m.push_back(a.update());
  a.save_checkpoint(dir / "mid.pt");
  for (int u = 3; u < 7; ++u) m.push_back(a.update());
  CHECK(m[0].teacher_weight == doctest::Approx(1.0));
  CHECK(m[2].teacher_weight == doctest::Approx(0.6));
  CHECK(m[4].teacher_weight == doctest::Approx(0.2));
  CHECK(m[5].teacher_weight == 0);
  CHECK(std::isnan(m[5].teacher_loss));
  for (int u = 0; u < 5; ++u) CHECK(std::isfinite(m[u].teacher_loss));
  // The imitation loss falls while it is on: the learner takes up the teacher's rows.
  CHECK(m[4].teacher_loss < 0.8 * m[0].teacher_loss);

  // Resumed mid-episode: the teacher's memory is rebuilt from the episodes' rows, so the
  // resumed run proposes, learns and ends exactly as the uninterrupted one.
  Trainer b(c);
  b.load_checkpoint(dir / "mid.pt");
  for (int u = 3; u < 7; ++u) {
    const UpdateMetrics mb = b.update();
    CHECK(mb.policy_loss == m[u].policy_loss);
    CHECK((mb.teacher_loss == m[u].teacher_loss || (std::isnan(mb.teacher_loss) && std::isnan(m[u].teacher_loss))));
  }
  for (const auto& p : a.policy().module().named_parameters())
    CHECK_MESSAGE(torch::equal(p.value(), b.policy().module().named_parameters()[p.key()]), p.key());

  // The autoscale rows learn from their own teacher.
  TrainConfig both = c;
  both.teacher.autoscale = "oracle_lean";
  Trainer d(both);
  const UpdateMetrics md = d.update();
  CHECK(std::isfinite(md.teacher_loss));
  CHECK(md.teacher_loss != m[0].teacher_loss);

  // A teacher that does not exist, or cannot act on a task of the run, is a clear error.
  TrainConfig bad = c;
  bad.teacher.incident = "oracel";
  CHECK_THROWS_WITH_AS(Trainer{bad}, doctest::Contains("teacher.incident: unknown policy \"oracel\""), ConfigError);
  bad.teacher.incident = "";
  bad.teacher.autoscale = "hpa";
  CHECK_THROWS_WITH_AS(Trainer{bad}, doctest::Contains("policy hpa does not support task incident"), std::invalid_argument);
  std::filesystem::remove_all(dir);
}
#endif
