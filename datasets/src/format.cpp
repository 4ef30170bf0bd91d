#include <opsrl/datasets/format.hpp>

#include <fmt/format.h>

namespace opsrl::datasets {

namespace {
std::string compose(const std::string& file, const std::string& path, const std::string& problem,
                    const std::string& expected) {
  std::string s = file;
  if (!path.empty()) s += ": " + path;
  s += ": " + problem;
  if (!expected.empty()) s += " (expected: " + expected + ")";
  return s;
}
}  // namespace

DatasetError::DatasetError(std::string file_, std::string path_, std::string problem_, std::string expected_)
    : std::runtime_error(compose(file_, path_, problem_, expected_)),
      file(std::move(file_)),
      path(std::move(path_)),
      problem(std::move(problem_)),
      expected(std::move(expected_)) {}

std::string episode_group(int k) { return fmt::format("/{}{}", key::kEpisodePrefix, k); }

}  // namespace opsrl::datasets
