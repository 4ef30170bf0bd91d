#pragma once
// Validation of a dataset file for `opsrl dataset check`: unlike Reader, which stops at the
// first problem, it goes through the whole file and reports every problem with its path inside
// the file (attributes as /group/@name): missing keys, wrong dtypes or shapes, an unknown
// version, NaN or infinite values, out-of-range values, row counts that disagree, totals that
// disagree, an unfinished (never closed) or truncated file. It never throws for a bad file.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace opsrl::datasets {

struct Problem {
  std::string path;     // e.g. "/episode_3/observations/features" or "/@version"; "" for the file
  std::string message;  // what is wrong and what was expected
};

struct CheckReport {
  std::string file;
  std::vector<Problem> problems;
  int episodes = 0;          // episode groups examined
  std::int64_t steps = 0;    // steps in them
  bool ok() const { return problems.empty(); }
};

CheckReport check_dataset(const std::filesystem::path& file);

}  // namespace opsrl::datasets
