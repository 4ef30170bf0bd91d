// sample_action: one pass over the heads, in order (a head's parent comes before it).
#include <opsrl/envs/action_sampler.hpp>

#include <stdexcept>

#include <fmt/format.h>

namespace opsrl::envs {

void sample_action(const EnvSpec& spec, const std::uint8_t* mask, sim::Rng& rng, std::span<std::int32_t> row,
                   double p_default) {
  if (static_cast<int>(row.size()) < spec.action_width)
    throw std::invalid_argument(fmt::format("sample_action: row has {} entries, task {} needs {}", row.size(),
                                            spec.task, spec.action_width));
  std::fill(row.begin(), row.begin() + spec.action_width, 0);
  for (const ActionHeadSpec& h : spec.action_heads) {
    const int parent = h.depends_on.empty() ? -1 : spec.head(h.depends_on).column;
    for (int k = 0; k < h.count; ++k) {
      const int mask_row = parent >= 0 ? row[parent] : (h.mask_rows == 1 ? 0 : k);
      const std::uint8_t* m = mask + h.mask_offset + static_cast<std::ptrdiff_t>(mask_row) * h.choices;
      int value = 0;
      if (!(m[0] && p_default > 0 && rng.uniform() < p_default)) {
        int allowed = 0;
        for (int c = 0; c < h.choices; ++c) allowed += m[c] != 0;
        if (allowed > 0) {
          auto pick = static_cast<int>(rng.below(static_cast<std::uint64_t>(allowed)));
          for (int c = 0; c < h.choices; ++c)
            if (m[c] && pick-- == 0) {
              value = c;
              break;
            }
        }
      }
      row[h.column + k] = value;
    }
  }
}

}  // namespace opsrl::envs
