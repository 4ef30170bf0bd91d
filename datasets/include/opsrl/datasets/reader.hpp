#pragma once
// Reads a dataset file written by Writer (or an importer). Opening checks the root: format
// name, a known version, the completion flag and the env spec; reading an episode checks every
// array's dtype and shape against the spec. Every problem throws DatasetError naming the file,
// the path inside it and the expected form; a bad file never crashes the reader.
// `opsrl dataset check` (check.hpp) goes further and lists every problem instead of the first.
//
//   Reader r("incidents.h5");
//   for (int k = 0; k < r.num_episodes(); ++k) {
//     const Episode ep = r.read(k);           // ep.features: (T+1, tokens, F) ...
//   }
#include <cstdint>
#include <filesystem>
#include <memory>

#include <opsrl/datasets/episode.hpp>
#include <opsrl/datasets/header.hpp>

namespace opsrl::datasets {

struct StorageStats {
  std::uint64_t file_bytes = 0;    // the file on disk
  std::uint64_t stored_bytes = 0;  // the datasets' stored (compressed) bytes
  std::uint64_t raw_bytes = 0;     // the datasets' uncompressed bytes (elements x element size)
  std::int64_t datasets = 0;
};

class Reader {
 public:
  explicit Reader(std::filesystem::path path);
  ~Reader();
  Reader(const Reader&) = delete;
  Reader& operator=(const Reader&) = delete;

  const std::filesystem::path& path() const { return path_; }
  const DatasetHeader& header() const { return header_; }
  const envs::EnvSpec& spec() const { return header_.spec; }
  EpisodeShape shape() const { return EpisodeShape::of(header_.spec); }
  int num_episodes() const { return static_cast<int>(header_.total_episodes); }
  bool simulated() const;  // recorded from the simulator (re-simulatable)

  Episode read(int k) const;
  // Same, into `out` (its buffers are reused).
  void read(int k, Episode& out) const;
  // Only the attributes and the ground truth of episode k (no arrays): cheap, for summaries.
  Episode read_meta(int k) const;

  // Stored against raw bytes over every dataset in the file.
  StorageStats storage() const;

 private:
  struct Impl;
  std::filesystem::path path_;
  DatasetHeader header_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace opsrl::datasets
