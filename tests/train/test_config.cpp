// The training config: the embedded default, round trips, overrides and error messages.
#include <filesystem>
#include <fstream>
#include <functional>

#include <doctest/doctest.h>

#include <opsrl/train/config.hpp>

using namespace opsrl::train;

namespace {

std::filesystem::path write_temp(const std::string& name, const std::string& text) {
  const auto path = std::filesystem::temp_directory_path() / name;
  std::ofstream(path) << text;
  return path;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST_CASE("the embedded default.toml lists every key with the documented defaults") {
  // Every key appears in the shipped file...
  const std::string text(default_config_text());
  TrainConfig c;
  for (const ConfigKey& k : config_keys(c)) {
    const std::string key = k.name.substr(k.name.find('.') + 1);
    CHECK_MESSAGE(text.find("\n" + key + " ") != std::string::npos, "default.toml lacks " << k.name);
  }
  // ...with the values of TrainConfig's defaults (the header's table and docs/training.md).
  CHECK(to_toml(default_config()) == to_toml(TrainConfig{}));
  CHECK_NOTHROW(default_config().validate());
}

TEST_CASE("to_toml round-trips through the parser") {
  TrainConfig c;
  c.run.seed = 42;
  c.ppo.learning_rate = 1.25e-4;
  c.ppo.gamma = 0.995;
  c.env.scenario = "small \"quoted\"";
  c.aux.diagnosis_pointer = false;
  c.ppo.max_grad_norm = 3;  // an integral double is written as 3.0
  TrainConfig back;
  apply_toml(back, to_toml(c), "<round trip>");
  CHECK(to_toml(back) == to_toml(c));
  CHECK(back.ppo.learning_rate == c.ppo.learning_rate);
  CHECK(back.env.scenario == c.env.scenario);
}

TEST_CASE("config files: values override the defaults, and integers are accepted for floats") {
  const auto path = write_temp("opsrl_train_ok.toml", "[ppo]\nclip_coef = 0.1\nmax_grad_norm = 1\n[env]\nincident_envs = 4\n");
  const TrainConfig c = load_config_file(path);
  CHECK(c.ppo.clip_coef == 0.1);
  CHECK(c.ppo.max_grad_norm == 1.0);
  CHECK(c.env.incident_envs == 4);
  CHECK(c.env.autoscale_envs == TrainConfig{}.env.autoscale_envs);
}

TEST_CASE("config errors name the file, line, column and key") {
  const auto unknown = write_temp("opsrl_train_unknown.toml", "[ppo]\nclip_coef = 0.1\nclip = 0.3\n");
  const std::string e1 = error_of([&] { load_config_file(unknown); });
  CHECK(e1.find(unknown.string() + ":3:1") != std::string::npos);
  CHECK(e1.find("unknown key \"ppo.clip\"") != std::string::npos);
  CHECK(e1.find("clip_coef") != std::string::npos);  // lists the known keys of [ppo]

  const auto bad_type = write_temp("opsrl_train_type.toml", "[run]\nseed = 1\n\n[ppo]\nnum_steps = \"many\"\n");
  const std::string e2 = error_of([&] { load_config_file(bad_type); });
  CHECK(e2.find(bad_type.string() + ":5:13") != std::string::npos);
  CHECK(e2.find("ppo.num_steps must be an integer, got a string") != std::string::npos);

  const auto bad_section = write_temp("opsrl_train_section.toml", "[optimizer]\nlr = 1\n");
  const std::string e3 = error_of([&] { load_config_file(bad_section); });
  CHECK(e3.find(":1:2") != std::string::npos);
  CHECK(e3.find("unknown section \"optimizer\"") != std::string::npos);

  const auto syntax = write_temp("opsrl_train_syntax.toml", "[ppo]\nclip_coef = = 2\n");
  const std::string e4 = error_of([&] { load_config_file(syntax); });
  CHECK(e4.find(syntax.string() + ":2:") != std::string::npos);

  const auto top = write_temp("opsrl_train_top.toml", "seed = 3\n");
  CHECK(error_of([&] { load_config_file(top); }).find("unknown key \"seed\"") != std::string::npos);
}

TEST_CASE("command-line overrides") {
  TrainConfig c;
  apply_override(c, "ppo.clip_coef=0.15");
  apply_override(c, "env.scenario=small");        // bare text for a string key
  apply_override(c, "env.incident_difficulty=\"easy\"");
  apply_override(c, "ppo.anneal_lr=false");
  apply_override(c, "run.total_steps=1000");
  CHECK(c.ppo.clip_coef == 0.15);
  CHECK(c.env.scenario == "small");
  CHECK(c.env.incident_difficulty == "easy");
  CHECK(!c.ppo.anneal_lr);
  CHECK(c.run.total_steps == 1000);
  CHECK(error_of([&] { apply_override(c, "ppo.clip=0.1"); }).find("unknown key \"ppo.clip\"") != std::string::npos);
  CHECK(error_of([&] { apply_override(c, "ppo.num_steps=abc"); }).find("ppo.num_steps must be an integer") !=
        std::string::npos);
  CHECK(error_of([&] { apply_override(c, "ppo.num_steps=1.5"); }).find("must be an integer, got a float") !=
        std::string::npos);
  CHECK(error_of([&] { apply_override(c, "noequals"); }).find("expected KEY=VALUE") != std::string::npos);
}

TEST_CASE("validation names the key and the value") {
  TrainConfig c;
  c.ppo.num_minibatches = 7;
  CHECK(error_of([&] { c.validate(); }).find("ppo.num_minibatches must divide the batch size, got num_minibatches = 7") !=
        std::string::npos);
  c = {};
  c.env.incident_difficulty = "brutal";
  CHECK(error_of([&] { c.validate(); }).find("\"brutal\"") != std::string::npos);
  c = {};
  c.env.autoscale_episode_length = "soon";
  CHECK(error_of([&] { c.validate(); }).find("env.autoscale_episode_length must be a duration") != std::string::npos);
  c = {};
  c.policy.heads = 3;
  CHECK(error_of([&] { c.validate(); }).find("d_model = 64, heads = 3") != std::string::npos);
}
