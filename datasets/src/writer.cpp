#include <opsrl/datasets/writer.hpp>

#include <fmt/format.h>

#include <opsrl/datasets/format.hpp>
#include <opsrl/datasets/spec_json.hpp>
#include <opsrl/sim/faults.hpp>

#include "h5.hpp"

namespace opsrl::datasets {

struct Writer::Impl {
  h5::File file;
};

namespace {

void check_size(const char* name, std::size_t got, std::size_t rows, std::size_t per_row) {
  if (got != rows * per_row)
    throw std::invalid_argument(
        fmt::format("Writer::append: {} holds {} values, expected {} rows x {} = {}", name, got, rows, per_row, rows * per_row));
}

std::vector<std::string> fault_type_names() {
  std::vector<std::string> names;
  for (const sim::FaultInfo& f : sim::fault_catalogue()) names.emplace_back(f.name);
  return names;
}

void write_meta(hid_t g, const EpisodeMeta& m, int steps, int num_faults) {
  using h5::write_attr;
  write_attr(g, "seed", m.seed);
  write_attr(g, "task", m.task);
  write_attr(g, "scenario_hash", m.scenario_hash);
  write_attr(g, "policy", m.policy);
  write_attr(g, "steps", static_cast<std::int64_t>(steps));
  write_attr(g, "return", m.return_);
  write_attr(g, "terminated", static_cast<std::uint8_t>(m.terminated));
  write_attr(g, "truncated", static_cast<std::uint8_t>(m.truncated));
  write_attr(g, "control", static_cast<std::uint8_t>(m.control));
  write_attr(g, "resolved", static_cast<std::uint8_t>(m.resolved));
  write_attr(g, "num_faults", static_cast<std::int64_t>(num_faults));
  write_attr(g, "first_onset_s", m.first_onset_s);
  write_attr(g, "time_to_recover_s", m.time_to_recover_s);
  write_attr(g, "time_to_diagnose_s", m.time_to_diagnose_s);
  write_attr(g, "slo_violation_minutes", m.slo_violation_minutes);
  write_attr(g, "cost_usd", m.cost_usd);
  write_attr(g, "replica_hours", m.replica_hours);
  write_attr(g, "elapsed_s", m.elapsed_s);
  write_attr(g, "claimed", static_cast<std::uint8_t>(m.claimed));
  write_attr(g, "claimed_type", static_cast<std::int64_t>(m.claimed_type));
  write_attr(g, "claimed_token", static_cast<std::int64_t>(m.claimed_token));
  write_attr(g, "root_correct", static_cast<std::uint8_t>(m.root_correct));
  write_attr(g, "type_correct", static_cast<std::uint8_t>(m.type_correct));
  write_attr(g, "actions", static_cast<std::int64_t>(m.actions));
  write_attr(g, "wrong_actions", static_cast<std::int64_t>(m.wrong_actions));
  write_attr(g, "invalid_actions", static_cast<std::int64_t>(m.invalid_actions));
  write_attr(g, "escalations", static_cast<std::int64_t>(m.escalations));
  if (!m.source_window.empty()) write_attr(g, "source_window", m.source_window);
}

}  // namespace

Writer::Writer(std::filesystem::path path, DatasetHeader header)
    : path_(std::move(path)), header_(std::move(header)), shape_(EpisodeShape::of(header_.spec)),
      impl_(std::make_unique<Impl>()) {
  if (header_.scenario_hash.empty() && !header_.scenario_toml.empty())
    header_.scenario_hash = scenario_hash(header_.scenario_toml);
  const std::string tmp = tmp_path().string();
  try {
    impl_->file = h5::create_file(tmp);
  } catch (const h5::Failure& e) {
    throw DatasetError(tmp, "", e.what());
  }
  try {
    const hid_t root = impl_->file.get();
    using h5::write_attr;
    write_attr(root, key::kFormat, kFormatName);
    write_attr(root, key::kVersion, static_cast<std::int64_t>(kFormatVersion));
    write_attr(root, key::kSource, header_.source);
    write_attr(root, key::kEnvSpec, spec_to_json(header_.spec));
    write_attr(root, key::kEnvConfig, header_.env_config_json);
    write_attr(root, key::kScenario, header_.scenario);
    write_attr(root, key::kScenarioToml, header_.scenario_toml);
    write_attr(root, key::kScenarioHash, header_.scenario_hash);
    write_attr(root, key::kPolicy, header_.policy);
    write_attr(root, key::kPolicySeed, header_.policy_seed);
    write_attr(root, key::kDifficulty, header_.difficulty);
    write_attr(root, key::kCommand, header_.command);
    write_attr(root, key::kActionNoise, header_.action_noise);
    write_attr(root, key::kNotes, header_.notes);
    h5::flush(root);
  } catch (const h5::Failure& e) {
    impl_->file.reset();
    std::error_code ec;
    std::filesystem::remove(tmp, ec);
    throw DatasetError(tmp, "/", e.what());
  }
}

Writer::~Writer() {
  if (closed_) return;
  impl_->file.reset();
  std::error_code ec;
  std::filesystem::remove(tmp_path(), ec);
}

std::filesystem::path Writer::tmp_path() const {
  std::filesystem::path p = path_;
  p += ".tmp";
  return p;
}

void Writer::append(const Episode& ep) {
  if (closed_) throw std::logic_error("Writer::append after close()");
  const int T = ep.steps();
  if (T < 1) throw std::invalid_argument("Writer::append: an episode needs at least one step");
  if (ep.shape.tokens != shape_.tokens || ep.shape.features != shape_.features || ep.shape.mask_width != shape_.mask_width ||
      ep.shape.action_width != shape_.action_width || ep.shape.reward_components != shape_.reward_components)
    throw std::invalid_argument("Writer::append: the episode's shape differs from the dataset's spec");
  const auto obs = static_cast<std::size_t>(T) + 1, rows = static_cast<std::size_t>(T);
  const auto tok = static_cast<std::size_t>(shape_.tokens);
  check_size("observations/features", ep.features.size(), obs, tok * static_cast<std::size_t>(shape_.features));
  check_size("observations/token_type", ep.token_type.size(), obs, tok);
  check_size("observations/valid", ep.valid.size(), obs, tok);
  check_size("observations/links", ep.links.size(), obs, tok * 2);
  check_size("observations/task_id", ep.task_id.size(), obs, 1);
  check_size("observations/action_mask", ep.action_mask.size(), obs, static_cast<std::size_t>(shape_.mask_width));
  check_size("infos/time_s", ep.time_s.size(), obs, 1);
  check_size("actions", ep.actions.size(), rows, static_cast<std::size_t>(shape_.action_width));
  check_size("terminations", ep.terminations.size(), rows, 1);
  check_size("truncations", ep.truncations.size(), rows, 1);
  check_size("infos/reward_components", ep.reward_components.size(), rows,
             static_cast<std::size_t>(shape_.reward_components));
  check_size("infos/action_outcome", ep.action_outcome.size(), rows, static_cast<std::size_t>(kActionOutcomeWidth));
  if (!ep.intended_actions.empty())
    check_size(key::kIntendedActions, ep.intended_actions.size(), rows, static_cast<std::size_t>(shape_.action_width));

  const std::string name = episode_group(episodes_);
  try {
    const hid_t root = impl_->file.get();
    const h5::Group g = h5::create_group(root, name);
    const hid_t G = g.get();
    const h5::Group o = h5::create_group(G, key::kObservations);
    const hsize_t O = obs, R = rows, N = tok;
    h5::write_array(o.get(), "features", {O, N, static_cast<hsize_t>(shape_.features)}, ep.features.data(), true);
    h5::write_array(o.get(), "token_type", {O, N}, ep.token_type.data(), true);
    h5::write_array(o.get(), "valid", {O, N}, ep.valid.data(), true);
    h5::write_array(o.get(), "links", {O, N, 2}, ep.links.data(), true);
    h5::write_array(o.get(), "task_id", {O, 1}, ep.task_id.data(), true);
    h5::write_array(o.get(), "action_mask", {O, static_cast<hsize_t>(shape_.mask_width)}, ep.action_mask.data(), true);
    h5::write_array(G, key::kActions, {R, static_cast<hsize_t>(shape_.action_width)}, ep.actions.data(), true);
    h5::write_array(G, key::kRewards, {R}, ep.rewards.data(), true);
    h5::write_array(G, key::kTerminations, {R}, ep.terminations.data(), true);
    h5::write_array(G, key::kTruncations, {R}, ep.truncations.data(), true);

    const h5::Group infos = h5::create_group(G, key::kInfos);
    h5::write_array(G, key::kRewardComponents, {R, static_cast<hsize_t>(shape_.reward_components)},
                    ep.reward_components.data(), true);
    h5::write_attr(h5::Dataset(H5Dopen2(G, key::kRewardComponents, H5P_DEFAULT)).get(), key::kNames,
                   header_.spec.reward_components);
    h5::write_array(G, key::kActionOutcome, {R, static_cast<hsize_t>(kActionOutcomeWidth)}, ep.action_outcome.data(), true);
    h5::write_attr(h5::Dataset(H5Dopen2(G, key::kActionOutcome, H5P_DEFAULT)).get(), key::kNames,
                   std::vector<std::string>(std::begin(kActionOutcomeNames), std::end(kActionOutcomeNames)));
    h5::write_array(G, key::kTime, {O}, ep.time_s.data(), true);
    if (!ep.intended_actions.empty())
      h5::write_array(G, key::kIntendedActions, {R, static_cast<hsize_t>(shape_.action_width)}, ep.intended_actions.data(), true);
    // The masks belong to the observation (the policy reads them) and to the infos (Minari's
    // place for them): one dataset under both names.
    h5::hard_link(G, "observations/action_mask", key::kInfoActionMask);

    const h5::Group gt = h5::create_group(G, key::kGroundTruth);
    const hsize_t K = ep.faults.size();
    std::vector<std::int32_t> type, root_token;
    std::vector<double> severity, onset, mitigated;
    std::vector<std::string> source_type, source_root;
    bool has_source = false;
    for (const FaultRow& f : ep.faults) {
      type.push_back(f.type);
      root_token.push_back(f.root_token);
      severity.push_back(f.severity);
      onset.push_back(f.onset_s);
      mitigated.push_back(f.mitigated_s);
      source_type.push_back(f.source_type);
      source_root.push_back(f.source_root);
      has_source = has_source || !f.source_type.empty() || !f.source_root.empty();
    }
    h5::write_array(G, key::kFaultType, {K}, type.data(), false);
    h5::write_attr(h5::Dataset(H5Dopen2(G, key::kFaultType, H5P_DEFAULT)).get(), key::kNames, fault_type_names());
    h5::write_array(G, key::kRootToken, {K}, root_token.data(), false);
    h5::write_array(G, key::kSeverity, {K}, severity.data(), false);
    h5::write_array(G, key::kOnset, {K}, onset.data(), false);
    h5::write_array(G, key::kMitigated, {K}, mitigated.data(), false);
    if (has_source) {
      h5::write_attr(gt.get(), key::kSourceFaultType, source_type);
      h5::write_attr(gt.get(), key::kSourceRoot, source_root);
    }
    write_meta(G, ep.meta, T, static_cast<int>(K));
    h5::flush(root);
  } catch (const h5::Failure& e) {
    throw DatasetError(tmp_path().string(), name, e.what());
  }
  ++episodes_;
  steps_ += T;
}

void Writer::close() {
  if (closed_) return;
  const std::string tmp = tmp_path().string();
  try {
    const hid_t root = impl_->file.get();
    h5::write_attr(root, key::kTotalEpisodes, static_cast<std::int64_t>(episodes_));
    h5::write_attr(root, key::kTotalSteps, steps_);
    h5::flush(root);
    // Last: only a file with everything above in it says it is complete.
    h5::write_attr(root, key::kComplete, static_cast<std::uint8_t>(1));
    impl_->file.reset();
  } catch (const h5::Failure& e) {
    throw DatasetError(tmp, "/", e.what());
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path_, ec);
  if (ec) throw DatasetError(tmp, "", fmt::format("cannot rename it to {}: {}", path_.string(), ec.message()));
  closed_ = true;
}

}  // namespace opsrl::datasets
