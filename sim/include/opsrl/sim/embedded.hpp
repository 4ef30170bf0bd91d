#pragma once
// Files compiled into the binary (see cmake/EmbedFiles.cmake).
#include <span>
#include <string_view>

namespace opsrl {
struct EmbeddedFile {
  std::string_view name;  // file name without directory and extension, e.g. "default"
  std::string_view text;
};
}  // namespace opsrl
