#pragma once
// Plain-text tables for the terminal.
#include <string>
#include <vector>

namespace opsrl::cli {

class Table {
 public:
  explicit Table(std::vector<std::string> header) : header_(std::move(header)) {}
  void add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  // Columns padded to their widest cell; numbers (cells starting with a digit, '-' or '+')
  // right-aligned.
  std::string str() const;

 private:
  std::vector<std::string> header_;
  std::vector<std::vector<std::string>> rows_;
};

// Wraps text to `width` columns, each line after the first indented by `indent` spaces.
std::string wrap(const std::string& text, std::size_t width, std::size_t indent);

}  // namespace opsrl::cli
