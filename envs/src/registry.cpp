// The task registry: tasks register by name from their own .cpp, users build them by name.
#include <map>
#include <stdexcept>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <opsrl/envs/env.hpp>

namespace opsrl::envs {

// Registration happens in static initialisers of the tasks' object files. opsrl_envs is a
// static library, from which the linker only takes object files that something references;
// these anchors (defined by OPSRL_REGISTER_TASK) are that reference. A new task adds its line.
extern bool task_registered_incident;
extern bool task_registered_autoscale;

namespace {

std::map<std::string, EnvFactory, std::less<>>& registry() {
  static std::map<std::string, EnvFactory, std::less<>> tasks;  // built on first use: no init-order issue
  return tasks;
}

// Emitted even though nothing reads it: its relocations are what pull the tasks in.
[[gnu::used]] bool* const kTaskAnchors[] = {&task_registered_incident, &task_registered_autoscale};

}  // namespace

bool register_task(std::string name, EnvFactory factory) {
  auto [it, inserted] = registry().emplace(std::move(name), std::move(factory));
  if (!inserted) throw std::logic_error(fmt::format("task \"{}\" is registered twice", it->first));
  return true;
}

std::vector<std::string> registered_tasks() {
  std::vector<std::string> names;
  for (const auto& [name, factory] : registry()) names.push_back(name);
  return names;
}

std::unique_ptr<Env> make_env(std::string_view task, EnvConfigPtr config) {
  const auto it = registry().find(task);
  if (it == registry().end())
    throw std::invalid_argument(fmt::format("unknown task \"{}\"; registered tasks: {}", task, fmt::join(registered_tasks(), ", ")));
  if (!config) throw std::invalid_argument(fmt::format("make_env(\"{}\"): config is null; use make_config()", task));
  return it->second(std::move(config));
}

}  // namespace opsrl::envs
