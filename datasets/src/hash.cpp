#include <opsrl/datasets/header.hpp>

#include <fmt/format.h>

namespace opsrl::datasets {

std::string scenario_hash(std::string_view text) {
  // FNV-1a, 64 bits: stable across builds and platforms, enough to tell scenario texts apart.
  std::uint64_t h = 0xCBF29CE484222325ULL;
  for (const char c : text) h = (h ^ static_cast<unsigned char>(c)) * 0x100000001B3ULL;
  return fmt::format("fnv1a64:{:016x}", h);
}

}  // namespace opsrl::datasets
