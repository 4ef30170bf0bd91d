#pragma once
// Writes a dataset file episode by episode, never leaving a half-valid file behind:
//
//   Writer w("out.h5", header);   // creates out.h5.tmp with the root attributes
//   w.append(episode);            // /episode_0, flushed; earlier episodes are never rewritten
//   w.close();                    // totals, then `complete` = 1 last, then rename to out.h5
//
// A reader refuses a file without `complete` (Reader, check_dataset), and the final name only
// ever appears through the rename of a finished file. A Writer destroyed before close() (an
// exception) removes its .tmp file; a killed process leaves FILE.tmp, refused as unfinished.
#include <cstdint>
#include <filesystem>
#include <memory>

#include <opsrl/datasets/episode.hpp>
#include <opsrl/datasets/header.hpp>

namespace opsrl::datasets {

class Writer {
 public:
  // Throws DatasetError naming the file if it cannot be created.
  Writer(std::filesystem::path path, DatasetHeader header);
  ~Writer();
  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;

  // Writes `episode` as /episode_<episodes()>. Its arrays must have the sizes the header's spec
  // gives for its number of steps (else std::invalid_argument naming the array), at least one step.
  void append(const Episode& episode);
  // Writes the totals and the completion flag, closes the file and renames it into place.
  void close();

  int episodes() const { return episodes_; }
  std::int64_t steps() const { return steps_; }
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path tmp_path() const;
  const DatasetHeader& header() const { return header_; }

 private:
  struct Impl;
  std::filesystem::path path_;
  DatasetHeader header_;
  EpisodeShape shape_;
  std::unique_ptr<Impl> impl_;
  int episodes_ = 0;
  std::int64_t steps_ = 0;
  bool closed_ = false;
};

}  // namespace opsrl::datasets
