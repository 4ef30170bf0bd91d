#include <opsrl/datasets/reader.hpp>

#include <fmt/format.h>

#include <opsrl/datasets/format.hpp>
#include <opsrl/datasets/spec_json.hpp>

#include "h5.hpp"
#include "layout.hpp"

namespace opsrl::datasets {

struct Reader::Impl {
  h5::File file;
};

namespace {

std::string root_string(hid_t root, const std::string& file, const char* name) {
  try {
    return h5::read_attr_string(root, name);
  } catch (const h5::Failure& e) {
    throw DatasetError(file, fmt::format("/@{}", name), e.what(), "a string attribute");
  }
}

template <typename T>
T root_number(hid_t root, const std::string& file, const char* name, const char* expected) {
  try {
    return h5::read_attr<T>(root, name);
  } catch (const h5::Failure& e) {
    throw DatasetError(file, fmt::format("/@{}", name), e.what(), expected);
  }
}

// Checks the stored type and shape of one array, then reads it into `out`.
template <typename T>
void read_checked(hid_t g, const std::string& file, const std::string& group, const layout::ArrayForm& form,
                  std::vector<T>& out) {
  const std::string where = group + "/" + form.path;
  h5::ArrayInfo info;
  try {
    info = h5::array_info(g, form.path);
  } catch (const h5::Failure& e) {
    throw DatasetError(file, where, e.what(), layout::expected_form(form));
  }
  if (!info.type.is(form.elem) || info.dims != form.dims)
    throw DatasetError(file, where, fmt::format("is {} {}", info.type.name(), layout::dims_string(info.dims)),
                       layout::expected_form(form));
  out.resize(info.elements());
  try {
    if (!out.empty()) h5::read_array(g, form.path, form.elem, out.data(), out.size());
  } catch (const h5::Failure& e) {
    throw DatasetError(file, where, e.what(), layout::expected_form(form));
  }
}

}  // namespace

Reader::Reader(std::filesystem::path path) : path_(std::move(path)), impl_(std::make_unique<Impl>()) {
  const std::string file = path_.string();
  try {
    impl_->file = h5::open_file(file, false);
  } catch (const h5::Failure& e) {
    throw DatasetError(file, "", e.what(), fmt::format("an {} HDF5 file", kFormatName));
  }
  const hid_t root = impl_->file.get();
  const std::string format = root_string(root, file, key::kFormat);
  if (format != kFormatName)
    throw DatasetError(file, "/@format", fmt::format("is \"{}\"", format), fmt::format("\"{}\"", kFormatName));
  const auto version = root_number<std::int64_t>(root, file, key::kVersion, "an integer version");
  if (version < 1 || version > kFormatVersion)
    throw DatasetError(file, "/@version", fmt::format("unknown format version {}", version),
                       fmt::format("1..{} (this build reads up to version {})", kFormatVersion, kFormatVersion));
  header_.version = static_cast<int>(version);
  if (!h5::has_attr(root, key::kComplete) || root_number<std::uint8_t>(root, file, key::kComplete, "1") != 1)
    throw DatasetError(file, "/@complete",
                       "unfinished file: no completion flag (its writer did not close it: interrupted, crashed or still "
                       "writing)",
                       "complete = 1, written last by the writer");
  try {
    header_.spec = spec_from_json(root_string(root, file, key::kEnvSpec));
  } catch (const std::invalid_argument& e) {
    throw DatasetError(file, "/@env_spec", e.what(), "the env spec as JSON (docs/datasets.md)");
  }
  header_.source = root_string(root, file, key::kSource);
  header_.env_config_json = root_string(root, file, key::kEnvConfig);
  header_.scenario = root_string(root, file, key::kScenario);
  header_.scenario_toml = root_string(root, file, key::kScenarioToml);
  header_.scenario_hash = root_string(root, file, key::kScenarioHash);
  header_.policy = root_string(root, file, key::kPolicy);
  header_.policy_seed = root_number<std::uint64_t>(root, file, key::kPolicySeed, "an unsigned integer");
  header_.difficulty = root_string(root, file, key::kDifficulty);
  header_.command = root_string(root, file, key::kCommand);
  if (h5::has_attr(root, key::kActionNoise))  // files written before it have no noise
    header_.action_noise = root_number<double>(root, file, key::kActionNoise, "a probability in [0, 1)");
  header_.notes = root_string(root, file, key::kNotes);
  header_.total_episodes = root_number<std::int64_t>(root, file, key::kTotalEpisodes, "an integer >= 0");
  header_.total_steps = root_number<std::int64_t>(root, file, key::kTotalSteps, "an integer >= 0");
  if (header_.total_episodes < 0)
    throw DatasetError(file, "/@total_episodes", fmt::format("is {}", header_.total_episodes), "an integer >= 0");
  for (std::int64_t k = 0; k < header_.total_episodes; ++k)
    if (!h5::is_group(root, episode_group(static_cast<int>(k)).substr(1)))
      throw DatasetError(file, episode_group(static_cast<int>(k)), "is missing",
                         fmt::format("groups episode_0 .. episode_{} (total_episodes = {})", header_.total_episodes - 1,
                                     header_.total_episodes));
}

Reader::~Reader() = default;

bool Reader::simulated() const { return header_.source == kSourceSimulator && !header_.env_config_json.empty(); }

Episode Reader::read(int k) const {
  Episode ep(shape());
  read(k, ep);
  return ep;
}

void Reader::read(int k, Episode& out) const {
  const std::string file = path_.string();
  const std::string group = episode_group(k);
  if (k < 0 || k >= num_episodes())
    throw DatasetError(file, group, "no such episode", fmt::format("an episode index in [0, {})", num_episodes()));
  const h5::Group g(H5Gopen2(impl_->file.get(), group.c_str(), H5P_DEFAULT));
  if (!g.valid()) throw DatasetError(file, group, "cannot open the group");
  const hid_t G = g.get();
  out.shape = shape();
  // T comes from the rewards; every other array is checked against it.
  h5::ArrayInfo rewards;
  try {
    rewards = h5::array_info(G, key::kRewards);
  } catch (const h5::Failure& e) {
    throw DatasetError(file, group + "/rewards", e.what(), "float64 (T) with T >= 1");
  }
  if (rewards.dims.size() != 1 || rewards.dims[0] < 1)
    throw DatasetError(file, group + "/rewards", fmt::format("has shape {}", layout::dims_string(rewards.dims)),
                       "float64 (T) with T >= 1");
  const int T = static_cast<int>(rewards.dims[0]);
  const std::vector<layout::ArrayForm> forms = layout::episode_arrays(out.shape, T);
  auto form = [&](std::string_view name) -> const layout::ArrayForm& {
    for (const auto& f : forms)
      if (f.path == name) return f;
    throw std::logic_error("unknown array");
  };
  read_checked(G, file, group, form("observations/features"), out.features);
  read_checked(G, file, group, form("observations/token_type"), out.token_type);
  read_checked(G, file, group, form("observations/valid"), out.valid);
  read_checked(G, file, group, form("observations/links"), out.links);
  read_checked(G, file, group, form("observations/task_id"), out.task_id);
  read_checked(G, file, group, form("observations/action_mask"), out.action_mask);
  read_checked(G, file, group, form(key::kActions), out.actions);
  read_checked(G, file, group, form(key::kRewards), out.rewards);
  read_checked(G, file, group, form(key::kTerminations), out.terminations);
  read_checked(G, file, group, form(key::kTruncations), out.truncations);
  read_checked(G, file, group, form(key::kRewardComponents), out.reward_components);
  read_checked(G, file, group, form(key::kActionOutcome), out.action_outcome);
  read_checked(G, file, group, form(key::kTime), out.time_s);
  if (h5::is_dataset(G, key::kIntendedActions))
    read_checked(G, file, group, layout::intended_actions_form(out.shape, T), out.intended_actions);
  else
    out.intended_actions.clear();
  const Episode meta = read_meta(k);
  out.meta = meta.meta;
  out.faults = meta.faults;
}

Episode Reader::read_meta(int k) const {
  const std::string file = path_.string();
  const std::string group = episode_group(k);
  if (k < 0 || k >= num_episodes())
    throw DatasetError(file, group, "no such episode", fmt::format("an episode index in [0, {})", num_episodes()));
  Episode ep(shape());
  const h5::Group g(H5Gopen2(impl_->file.get(), group.c_str(), H5P_DEFAULT));
  if (!g.valid()) throw DatasetError(file, group, "cannot open the group");
  try {
    ep.meta = layout::read_meta(g.get());
  } catch (const h5::Failure& e) {
    throw DatasetError(file, group, e.what(), "the episode attributes of docs/datasets.md");
  }
  try {
    ep.faults = layout::read_faults(g.get());
  } catch (const h5::Failure& e) {
    throw DatasetError(file, group + "/infos/ground_truth", e.what(), "int32/float64 arrays (K), one row per fault");
  }
  return ep;
}

StorageStats Reader::storage() const {
  StorageStats s;
  std::error_code ec;
  s.file_bytes = std::filesystem::file_size(path_, ec);
  const EpisodeShape sh = shape();
  for (int k = 0; k < num_episodes(); ++k) {
    const std::string group = episode_group(k);
    const h5::Group g(H5Gopen2(impl_->file.get(), group.c_str(), H5P_DEFAULT));
    if (!g.valid()) throw DatasetError(path_.string(), group, "cannot open the group");
    std::vector<layout::ArrayForm> forms = layout::episode_arrays(sh, 0);
    std::vector<layout::ArrayForm> faults = layout::fault_arrays(0);
    forms.insert(forms.end(), faults.begin(), faults.end());
    forms.push_back(layout::intended_actions_form(sh, 0));
    for (const layout::ArrayForm& f : forms) {
      if (f.path == key::kInfoActionMask) continue;  // the same dataset as observations/action_mask
      if (f.path == key::kIntendedActions && !h5::is_dataset(g.get(), f.path)) continue;  // optional
      try {
        const h5::ArrayInfo info = h5::array_info(g.get(), f.path);
        s.stored_bytes += info.stored_bytes;
        s.raw_bytes += info.elements() * info.type.size;
        ++s.datasets;
      } catch (const h5::Failure& e) {
        throw DatasetError(path_.string(), group + "/" + f.path, e.what());
      }
    }
  }
  return s;
}

}  // namespace opsrl::datasets
