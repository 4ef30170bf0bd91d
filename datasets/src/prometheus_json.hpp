#pragma once
// The body of Prometheus' HTTP API answer to /api/v1/query_range, read strictly (internal;
// prometheus_import.hpp is the importer):
//
//   {"status": "success",
//    "data": {"resultType": "matrix",
//             "result": [{"metric": {"__name__": "opsrl_node_ready", "node": "node-a-1", ...},
//                         "values": [[1764406800.5, "1"], [1764406801, "1"], ...]}, ...]}}
//
// Errors throw std::invalid_argument naming the file, the JSON path ($.data.result[3].values[7][1])
// and the expected form.
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace opsrl::datasets::prom {

struct Series {
  std::map<std::string, std::string> labels;  // __name__ included
  std::vector<double> times;                  // the evaluation timestamps, Unix seconds, increasing
  std::vector<double> values;                 // NaN where Prometheus answered "NaN", "+Inf" or "-Inf"
  std::string where;                          // "FILE: $.data.result[3]", for messages
  const std::string& name() const { return labels.at("__name__"); }
};

struct QueryRange {
  std::string file;
  std::vector<Series> series;
  std::int64_t samples = 0;
  std::int64_t non_finite = 0;        // "NaN", "+Inf", "-Inf" values (read as missing)
  std::vector<std::string> warnings;  // the answer's "warnings", if any
};

// Parses `text` (the contents of `file`, which is only named in messages).
QueryRange parse_query_range(std::string_view text, const std::string& file);
// Reads and parses a file; a missing or unreadable file is an error naming it.
QueryRange read_query_range(const std::filesystem::path& file);

}  // namespace opsrl::datasets::prom
