#pragma once
// Nezha's files (IntelligentDDS/Nezha, one recorded day of OnlineBoutique) loaded onto one
// minute grid (internal; nezha.hpp is the importer):
//   metric/<pod>_metric.csv   one row per minute per pod
//   metric/front_service.csv  the frontend's success rate and latency percentiles per minute
//   metric/dependency.csv     Source,Target,Weight: service -> service calls, service -> node IP
//   fault_list.json           {"HH": [{inject_time, inject_timestamp, inject_pod, inject_type}, ...]}
// Errors name the file, the line or JSON key, and the expected form.
#include <array>
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace opsrl::datasets::nezha {

// The pod-file columns opsrl has a counterpart for (docs/datasets.md lists the others as lost).
enum PodMetric : int {
  kCpuRate,      // CpuUsageRate(%): of the container's limit
  kCpuMilli,     // CpuUsage(m)
  kMemRate,      // MemoryUsageRate(%): of the limit
  kMemMi,        // MemoryUsage(Mi)
  kP95,          // PodServerLatencyP95(s)
  kP90,          // PodServerLatencyP90(s)
  kP99,          // PodServerLatencyP99(s)
  kWorkload,     // PodWorkload(Ops): requests/s
  kSuccess,      // PodSuccessRate(%)
  kNodeCpu,      // NodeCpuUsageRate(%)
  kNodeMem,      // NodeMemoryUsageRate(%)
  kNumPodMetrics
};
inline constexpr std::array<const char*, kNumPodMetrics> kPodColumns{
    "CpuUsageRate(%)",       "CpuUsage(m)",           "MemoryUsageRate(%)",  "MemoryUsage(Mi)",
    "PodServerLatencyP95(s)", "PodServerLatencyP90(s)", "PodServerLatencyP99(s)", "PodWorkload(Ops)",
    "PodSuccessRate(%)",     "NodeCpuUsageRate(%)",   "NodeMemoryUsageRate(%)"};

struct Pod {
  std::string name;      // e.g. frontend-579b9bff58-t2dbm
  std::string service;   // e.g. frontend (the name without its two generated suffixes)
  std::array<std::vector<double>, kNumPodMetrics> series;  // one value per minute of the grid
  int rows = 0;              // rows read
  int nan_filled = 0;        // NaN cells replaced by the previous minute's value
  int gaps_filled = 0;       // grid minutes without a row, filled from the previous minute
  int timestamps_ignored = 0;  // rows whose TimeStamp column disagrees with Time (Time is used)
};

enum FrontMetric : int { kFrontSuccess, kFrontP50, kFrontP90, kFrontP95, kFrontP99, kNumFrontMetrics };

struct Fault {
  std::int64_t inject_unix = 0;
  std::string inject_time;   // as written
  std::string pod;
  std::string type;          // cpu_contention, cpu_consumed, network_delay, return, exception
};

struct Data {
  std::int64_t t0 = 0;       // Unix seconds of minute 0 (the earliest row, to the second)
  int minutes = 0;
  std::vector<Pod> pods;     // in service-name order
  std::array<std::vector<double>, kNumFrontMetrics> front;  // per minute
  int front_nan_filled = 0;
  std::vector<std::pair<std::string, std::string>> calls;   // caller -> callee, file order
  std::map<std::string, std::string> node_of;              // service -> node IP
  std::vector<std::string> nodes;                          // the pods' node IPs, sorted
  std::vector<Fault> faults;                               // by injection time
  std::vector<std::string> ignored;                        // what was read and set aside, for the notes

  std::int64_t time_of(int minute) const { return t0 + 60 * static_cast<std::int64_t>(minute); }
  // The grid minute of a Unix time (rounded to the nearest row).
  int minute_of(std::int64_t unix_s) const;
  const Pod& pod(const std::string& name) const;  // throws std::invalid_argument naming the pods
};

Data load(const std::filesystem::path& dir);

// "2022-08-22 03:51:19.799087274 +0000 UTC m=+0.3" or "2022-08-22 03:53:54" (UTC) -> Unix seconds;
// throws std::invalid_argument for anything else.
std::int64_t parse_time(const std::string& text);
std::string format_time(std::int64_t unix_s);  // "2022-08-22T03:51:19Z"

}  // namespace opsrl::datasets::nezha
