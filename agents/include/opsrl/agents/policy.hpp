#pragma once
// The policy interface: what acts on a VecEnv. The baselines (random, noop, threshold, hpa,
// oracle) implement it now, the LibTorch transformer policy later, so this header stays free of
// LibTorch. A policy is created by name (or, once a loader is registered, from a checkpoint
// file) through make_policy.
//
//   auto policy = make_policy("threshold");
//   VecEnv vec(options);
//   vec.reset();
//   policy->reset(vec);                        // per-env state; starts every env's episode
//   std::vector<std::int32_t> actions(vec.size() * vec.action_width());
//   for (;;) {
//     policy->act(vec, actions);               // (N x action_width), masked-allowed values only
//     vec.step(actions);
//     for (int i = 0; i < vec.size(); ++i)
//       if (vec.terminated()[i] || vec.truncated()[i]) policy->begin_episode(vec, i);  // auto-reset
//   }
//
// Parameter   Default   Meaning (PolicyOptions)
// seed        0         stochastic policies draw from streams seeded by (seed, episode seed)
// device      "cpu"     where a learned policy runs ("cpu", "cuda", "cuda:1"); baselines ignore it
//
// Reading the ground truth: env.env(i).cluster() is the simulator itself. Only the `oracle`
// baseline (an upper bound) may read its faults; the other baselines read only the telemetry
// (cluster().telemetry(), a Prometheus-like scrape with its alerts), the static scenario and the
// observation's action mask; a learned policy reads only the observation.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <opsrl/envs/spec.hpp>
#include <opsrl/envs/vec_env.hpp>

namespace opsrl::agents {

struct PolicyOptions {
  std::uint64_t seed = 0;
  std::string device = "cpu";

  PolicyOptions& with_seed(std::uint64_t s) { seed = s; return *this; }
  PolicyOptions& with_device(std::string d) { device = std::move(d); return *this; }
};

class Policy {
 public:
  virtual ~Policy() = default;

  // The name it was registered under (or the checkpoint's), for tables and logs.
  virtual std::string_view name() const = 0;

  // Contract: empty if the policy can act on `task`; otherwise one sentence saying why not and
  // what to use instead (e.g. "hpa only scales replicas and makes no diagnosis"). Never throws.
  virtual std::string unsupported_reason(envs::TaskId task) const = 0;
  bool supports(envs::TaskId task) const { return unsupported_reason(task).empty(); }

  // Contract: called after VecEnv::reset() and before the first act() on that VecEnv (again
  // whenever the VecEnv is reset or replaced). Throws std::invalid_argument naming the policy, the
  // task and unsupported_reason() if an env runs a task the policy does not support. Sizes the
  // per-env state and calls begin_episode for every env.
  virtual void reset(const envs::VecEnv& vec);

  // Contract: called when env `env` has started a new episode (VecEnv's automatic reset, or
  // reset_done()); forgets that env's per-episode state. Cheap; touches only that env's state.
  virtual void begin_episode(const envs::VecEnv& vec, int env) = 0;

  // Contract: writes one action row per env into `actions` (vec.size() x vec.action_width(),
  // row major) for the current observations. Every value is allowed by the env's action mask
  // (a policy never relies on the env's invalid-action penalty), and the columns past an env's
  // own action_width are 0. Throws std::invalid_argument if `actions` has the wrong size.
  // Deterministic: the rows are a pure function of each env's episode so far, its episode seed
  // and PolicyOptions::seed, whatever the thread count. May run envs in parallel (tbb, in the
  // caller's task arena).
  virtual void act(const envs::VecEnv& vec, std::span<std::int32_t> actions) = 0;

  // Teaching another policy (kickstarting, train/'s [teacher] section): the envs step with the
  // learner's rows, and the teacher says each step what it would do there.
  // propose() writes the rows act() would write now, without taking them as its own; observe()
  // then tells it the row env `env` really stepped with (the env's own action_width entries, or a
  // whole VecEnv row: the env reads a prefix), so that its per-episode memory (has it
  // claimed, what did it do lately) follows the episode the envs run. act() is propose() then
  // observe() of its own rows. The defaults suit a policy without such memory: propose() is
  // act(), observe() does nothing. Deterministic as act().
  virtual void propose(const envs::VecEnv& vec, std::span<std::int32_t> actions) { act(vec, actions); }
  virtual void observe(const envs::VecEnv& vec, int env, std::span<const std::int32_t> row) {
    (void)vec, (void)env, (void)row;
  }

 protected:
  // Throws the std::invalid_argument of reset()'s contract for the first unsupported env.
  void check_supported(const envs::VecEnv& vec) const;
};

// ---- registry ---------------------------------------------------------------------------

using PolicyFactory = std::function<std::unique_ptr<Policy>(const PolicyOptions&)>;

// Registers a policy by name with a one-line description; returns true so that a .cpp can
// register with one line (OPSRL_REGISTER_POLICY below). Throws std::logic_error if the name is
// taken or is not a plain identifier ([a-z0-9_-]+: anything else reads as a path).
bool register_policy(std::string name, std::string description, PolicyFactory factory);

// A loader builds policies from files (e.g. a training checkpoint). `accepts` says whether it
// reads a given existing file (by extension or a look at its header); make_policy asks the
// loaders in registration order. Returns true, for one-line registration.
struct PolicyLoader {
  std::string name;         // e.g. "checkpoint"
  std::string description;  // e.g. "a train/ checkpoint directory or .pt file"
  std::function<bool(const std::filesystem::path&)> accepts;
  std::function<std::unique_ptr<Policy>(const std::filesystem::path&, const PolicyOptions&)> load;
};
bool register_policy_loader(PolicyLoader loader);

// Builds a policy from a registered name, or from a file a registered loader accepts.
// Throws std::invalid_argument: for an unknown name, listing the registered names; for a path
// that does not exist, saying so; for an existing file that no loader reads, listing the loaders
// (none yet: checkpoint-backed policies come with the LibTorch policy).
std::unique_ptr<Policy> make_policy(std::string_view name_or_path, const PolicyOptions& options = {});

struct PolicyInfo {
  std::string name;
  std::string description;
};
std::vector<PolicyInfo> registered_policies();  // sorted by name
std::vector<std::string> registered_policy_names();

}  // namespace opsrl::agents

// Registers a policy from its own .cpp, at global scope:
//   OPSRL_REGISTER_POLICY(random, "masked uniform random actions",
//                         [](const opsrl::agents::PolicyOptions& o) { return ...; });
// It defines the anchor opsrl::agents::policy_registered_NAME, which src/registry.cpp references
// so that the linker keeps the policy's object file of the static library (see there).
#define OPSRL_REGISTER_POLICY(NAME, DESCRIPTION, FACTORY) \
  namespace opsrl::agents {                               \
  extern bool policy_registered_##NAME;                   \
  }                                                       \
  bool opsrl::agents::policy_registered_##NAME = ::opsrl::agents::register_policy(#NAME, DESCRIPTION, FACTORY)
