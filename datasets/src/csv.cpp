#include "csv.hpp"

#include <charconv>
#include <cmath>
#include <fstream>
#include <limits>

#include <fmt/format.h>

namespace opsrl::datasets::csv {

namespace {

std::vector<std::string> split(const std::string& line) {
  std::vector<std::string> cells;
  std::size_t start = 0;
  while (true) {
    const std::size_t comma = line.find(',', start);
    cells.push_back(line.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    if (comma == std::string::npos) return cells;
    start = comma + 1;
  }
}

}  // namespace

int Table::column(const std::string& name) const {
  for (std::size_t c = 0; c < header.size(); ++c)
    if (header[c] == name) return static_cast<int>(c);
  std::string known;
  for (const std::string& h : header) known += (known.empty() ? "" : ", ") + h;
  throw std::invalid_argument(fmt::format("{}: no column \"{}\" (its columns: {})", file, name, known));
}

double Table::number(std::size_t row, int col) const {
  const std::string& cell = rows[row][static_cast<std::size_t>(col)];
  if (cell.empty() || cell == "nan" || cell == "NaN" || cell == "NAN") return std::numeric_limits<double>::quiet_NaN();
  double v = 0;
  const auto [end, ec] = std::from_chars(cell.data(), cell.data() + cell.size(), v);
  if (ec != std::errc() || end != cell.data() + cell.size())
    throw std::invalid_argument(fmt::format("{}:{}: column {}: \"{}\" is not a number", file, lines[row],
                                            header[static_cast<std::size_t>(col)], cell));
  return v;
}

Table read(const std::filesystem::path& path) {
  Table t;
  t.file = path.string();
  std::ifstream in(path);
  if (!in) throw std::invalid_argument(fmt::format("{}: cannot read the file (missing or unreadable)", t.file));
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    if (line.find('"') != std::string::npos)
      throw std::invalid_argument(fmt::format("{}:{}: quoted cells are not supported", t.file, n));
    std::vector<std::string> cells = split(line);
    if (t.header.empty()) {
      t.header = std::move(cells);
      continue;
    }
    if (cells.size() != t.header.size())
      throw std::invalid_argument(
          fmt::format("{}:{}: {} cells, expected {} as in the header", t.file, n, cells.size(), t.header.size()));
    t.rows.push_back(std::move(cells));
    t.lines.push_back(n);
  }
  if (t.header.empty()) throw std::invalid_argument(fmt::format("{}: empty file (expected a header row)", t.file));
  return t;
}

}  // namespace opsrl::datasets::csv
