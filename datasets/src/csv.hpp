#pragma once
// A small reader for the importers' CSV files (header row, comma-separated, no quoting):
// errors name the file, the line and the column.
#include <filesystem>
#include <string>
#include <vector>

namespace opsrl::datasets::csv {

struct Table {
  std::string file;
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;
  std::vector<int> lines;  // the file line of each row (1-based), for messages

  // Index of a header column; throws std::invalid_argument naming the file and the columns it has.
  int column(const std::string& name) const;
  // The cell parsed as a number ("nan", "" -> NaN); throws std::invalid_argument naming
  // file:line and the column for anything else.
  double number(std::size_t row, int column) const;
};

// Throws std::invalid_argument naming the file (missing, empty, a row with the wrong number of
// cells, a quoted cell).
Table read(const std::filesystem::path& path);

}  // namespace opsrl::datasets::csv
