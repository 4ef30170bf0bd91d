// The policy registry: baselines register by name from their own .cpp; loaders (checkpoint
// readers, later) register for files. make_policy resolves "NAME or path".
#include <opsrl/agents/policy.hpp>

#include <algorithm>
#include <map>
#include <stdexcept>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace opsrl::agents {

// Registration happens in static initialisers of the policies' object files. opsrl_baselines
// is a static library, from which the linker only takes object files that something
// references; these anchors (defined by OPSRL_REGISTER_POLICY) are that reference. A new
// baseline adds its line.
extern bool policy_registered_noop;
extern bool policy_registered_random;
extern bool policy_registered_threshold;
extern bool policy_registered_hpa;
extern bool policy_registered_oracle;

namespace {

struct Entry {
  std::string description;
  PolicyFactory factory;
};

std::map<std::string, Entry, std::less<>>& registry() {
  static std::map<std::string, Entry, std::less<>> policies;  // built on first use: no init-order issue
  return policies;
}

std::vector<PolicyLoader>& loaders() {
  static std::vector<PolicyLoader> list;
  return list;
}

// Emitted even though nothing reads it: its relocations are what pull the baselines in.
[[gnu::used]] bool* const kPolicyAnchors[] = {&policy_registered_noop, &policy_registered_random,
                                              &policy_registered_threshold, &policy_registered_hpa,
                                              &policy_registered_oracle};

bool plain_name(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
  });
}

std::string known_names() { return fmt::format("{}", fmt::join(registered_policy_names(), ", ")); }

}  // namespace

void Policy::reset(const envs::VecEnv& vec) {
  check_supported(vec);
  for (int i = 0; i < vec.size(); ++i) begin_episode(vec, i);
}

void Policy::check_supported(const envs::VecEnv& vec) const {
  for (int i = 0; i < vec.size(); ++i) {
    const std::string why = unsupported_reason(vec.spec(i).task_id);
    if (!why.empty())
      throw std::invalid_argument(fmt::format("policy {} does not support task {}: {}", name(), vec.spec(i).task, why));
  }
}

bool register_policy(std::string name, std::string description, PolicyFactory factory) {
  if (!plain_name(name))
    throw std::logic_error(fmt::format("policy name \"{}\" must match [a-z0-9_-]+ (anything else reads as a path)", name));
  auto [it, inserted] = registry().emplace(std::move(name), Entry{std::move(description), std::move(factory)});
  if (!inserted) throw std::logic_error(fmt::format("policy \"{}\" is registered twice", it->first));
  return true;
}

bool register_policy_loader(PolicyLoader loader) {
  if (!loader.accepts || !loader.load)
    throw std::logic_error(fmt::format("policy loader \"{}\" needs both accepts and load", loader.name));
  loaders().push_back(std::move(loader));
  return true;
}

std::vector<PolicyInfo> registered_policies() {
  std::vector<PolicyInfo> out;
  for (const auto& [name, entry] : registry()) out.push_back({name, entry.description});
  return out;
}

std::vector<std::string> registered_policy_names() {
  std::vector<std::string> out;
  for (const auto& [name, entry] : registry()) out.push_back(name);
  return out;
}

std::unique_ptr<Policy> make_policy(std::string_view name_or_path, const PolicyOptions& options) {
  if (const auto it = registry().find(name_or_path); it != registry().end()) return it->second.factory(options);
  if (plain_name(name_or_path) && !std::filesystem::exists(std::filesystem::path(name_or_path)))
    throw std::invalid_argument(fmt::format("unknown policy \"{}\"; known policies: {} (or the path of a policy file)",
                                            name_or_path, known_names()));
  const std::filesystem::path path(name_or_path);
  std::error_code ec;
  if (!std::filesystem::exists(path, ec))
    throw std::invalid_argument(fmt::format("policy \"{}\": no such file, and not a policy name; known policies: {}",
                                            name_or_path, known_names()));
  for (const PolicyLoader& l : loaders())
    if (l.accepts(path)) return l.load(path, options);
  std::vector<std::string> readers;
  for (const PolicyLoader& l : loaders()) readers.push_back(fmt::format("{} ({})", l.name, l.description));
  throw std::invalid_argument(fmt::format(
      "policy file \"{}\": no policy loader reads it ({}); known policies: {}", name_or_path,
      readers.empty() ? std::string("no loader is registered yet: checkpoint-backed policies come with the LibTorch policy")
                      : fmt::format("loaders: {}", fmt::join(readers, "; ")),
      known_names()));
}

}  // namespace opsrl::agents
