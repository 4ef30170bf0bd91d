#include "format.hpp"

#include <algorithm>
#include <sstream>

namespace opsrl::cli {

std::string Table::str() const {
  std::vector<std::size_t> width(header_.size(), 0);
  for (std::size_t c = 0; c < header_.size(); ++c) width[c] = header_[c].size();
  for (const auto& row : rows_)
    for (std::size_t c = 0; c < row.size() && c < width.size(); ++c) width[c] = std::max(width[c], row[c].size());
  auto numeric = [](const std::string& s) {
    return !s.empty() && (std::isdigit(static_cast<unsigned char>(s[0])) || ((s[0] == '-' || s[0] == '+') && s.size() > 1));
  };
  std::ostringstream out;
  auto line = [&](const std::vector<std::string>& row, bool header) {
    for (std::size_t c = 0; c < width.size(); ++c) {
      const std::string cell = c < row.size() ? row[c] : "";
      const std::size_t pad = width[c] - cell.size();
      if (c) out << "  ";
      if (!header && numeric(cell)) out << std::string(pad, ' ') << cell;
      else if (c + 1 < width.size()) out << cell << std::string(pad, ' ');
      else out << cell;
    }
    out << '\n';
  };
  line(header_, true);
  std::size_t total = 0;
  for (std::size_t w : width) total += w;
  out << std::string(total + 2 * (width.size() - 1), '-') << '\n';
  for (const auto& row : rows_) line(row, false);
  return out.str();
}

std::string wrap(const std::string& text, std::size_t width, std::size_t indent) {
  std::istringstream words(text);
  std::string word, out;
  std::size_t col = 0;
  while (words >> word) {
    if (col > 0 && col + 1 + word.size() > width) {
      out += '\n' + std::string(indent, ' ');
      col = indent;
    } else if (col > 0) {
      out += ' ';
      ++col;
    }
    out += word;
    col += word.size();
  }
  return out;
}

}  // namespace opsrl::cli
