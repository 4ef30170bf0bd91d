// ONNX Runtime through Node.js (ort_runner.hpp): files in a temporary directory, one node process
// per run(), its exit status and stderr turned into an ExportError.
#include <opsrl/export/ort_runner.hpp>

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <opsrl/export/metadata.hpp>
#include <opsrl/export/policy_graph.hpp>
#include <opsrl/sim/embedded.hpp>

extern char** environ;

namespace opsrl::exporter {

namespace scripts {
std::span<const opsrl::EmbeddedFile> embedded_files();  // generated from export/node/*.js
}

std::int64_t RawArray::numel() const {
  std::int64_t n = 1;
  for (const std::int64_t s : shape) n *= s;
  return n;
}

const float* RawArray::floats() const {
  if (dtype != "float32") throw ExportError(fmt::format("{}: dtype {}, not float32", name, dtype));
  return reinterpret_cast<const float*>(bytes.data());
}

namespace {

std::size_t dtype_size(const std::string& dtype) {
  if (dtype == "float32" || dtype == "int32") return 4;
  if (dtype == "uint8" || dtype == "bool") return 1;
  if (dtype == "int64") return 8;
  throw ExportError(fmt::format("unsupported dtype {}", dtype));
}

std::string_view script_text() {
  for (const EmbeddedFile& f : scripts::embedded_files())
    if (f.name == "ort_run") return f.text;
  throw ExportError("this build lacks the embedded ort_run.js");
}

// A temporary directory, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "opsrl-ort-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr)
      throw ExportError(fmt::format("cannot create a temporary directory {}: {}", pattern, std::strerror(errno)));
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

void write_bytes(const std::filesystem::path& path, std::string_view bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) throw ExportError(fmt::format("cannot write {}", path.string()));
}

std::string tail(const std::string& text, std::size_t max_chars = 2000) {
  std::string t = text;
  while (!t.empty() && (t.back() == '\n' || t.back() == ' ')) t.pop_back();
  return t.size() <= max_chars ? t : "..." + t.substr(t.size() - max_chars);
}

// Runs argv with `extra_env` added to the environment, stdout and stderr into files; returns
// the exit status (128 + signal when killed).
int spawn(const std::vector<std::string>& argv, const std::vector<std::string>& extra_env, const std::filesystem::path& out,
          const std::filesystem::path& err) {
  std::vector<std::string> env_strings = extra_env;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string_view entry(*e);
    bool overridden = false;
    for (const std::string& x : extra_env)
      if (entry.substr(0, entry.find('=') + 1) == std::string_view(x).substr(0, x.find('=') + 1)) overridden = true;
    if (!overridden) env_strings.emplace_back(entry);
  }
  std::vector<char*> envp, args;
  for (std::string& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<std::string> argv_copy = argv;
  for (std::string& s : argv_copy) args.push_back(s.data());
  args.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  pid_t pid = 0;
  const int rc = ::posix_spawn(&pid, args[0], &actions, nullptr, args.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) throw ExportError(fmt::format("cannot start {}: {}", argv[0], std::strerror(rc)));
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) throw ExportError(fmt::format("waiting for {} failed: {}", argv[0], std::strerror(errno)));
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

std::string find_on_path(const std::string& program) {
  const char* path = std::getenv("PATH");
  std::istringstream dirs(path ? path : "");
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    const std::filesystem::path candidate = std::filesystem::path(dir.empty() ? "." : dir) / program;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate.string();
  }
  return "";
}

const char* kInstallHint =
    "install it with scripts/setup (Node.js from Debian, then `npm install --ignore-scripts onnxruntime-node` into "
    "third_party/node), or point OPSRL_NODE_MODULES at a node_modules directory holding onnxruntime-node";

}  // namespace

OrtRuntime OrtRuntime::find(const std::string& node_modules) {
  OrtRuntime r;
  const char* node = std::getenv("OPSRL_NODE");
  r.node_ = node && *node ? node : find_on_path("node");
  if (r.node_.empty() || ::access(r.node_.c_str(), X_OK) != 0)
    throw ExportError(fmt::format("ONNX Runtime: no Node.js executable ({}); {}", node && *node ? node : "`node` is not on PATH",
                                  kInstallHint));
  std::vector<std::filesystem::path> candidates;
  if (!node_modules.empty()) {
    candidates.emplace_back(node_modules);
  } else {
    if (const char* env = std::getenv("OPSRL_NODE_MODULES"); env && *env) candidates.emplace_back(env);
    candidates.emplace_back(std::filesystem::path(OPSRL_SOURCE_DIR) / "third_party" / "node" / "node_modules");
    candidates.emplace_back(std::filesystem::current_path() / "third_party" / "node" / "node_modules");
  }
  for (const auto& c : candidates)
    if (std::filesystem::is_regular_file(c / "onnxruntime-node" / "package.json")) {
      r.node_modules_ = std::filesystem::absolute(c);
      return r;
    }
  std::vector<std::string> looked;
  for (const auto& c : candidates) looked.push_back(c.string());
  throw ExportError(fmt::format("ONNX Runtime: onnxruntime-node is not installed (looked in {}); {}", fmt::join(looked, ", "),
                                kInstallHint));
}

OrtRunResult OrtRuntime::run(const std::filesystem::path& model, const std::vector<std::vector<RawArray>>& batches,
                             const OrtRunOptions& options) const {
  TempDir tmp;
  const std::filesystem::path dir = tmp.path();
  write_bytes(dir / "ort_run.js", script_text());
  std::vector<std::string> batch_json;
  for (std::size_t b = 0; b < batches.size(); ++b) {
    std::vector<std::string> inputs;
    for (const RawArray& a : batches[b]) {
      if (static_cast<std::int64_t>(a.bytes.size()) != a.numel() * static_cast<std::int64_t>(dtype_size(a.dtype)))
        throw ExportError(fmt::format("input {}: {} bytes for shape [{}] of {}", a.name, a.bytes.size(), fmt::join(a.shape, ", "),
                                      a.dtype));
      const std::string file = fmt::format("b{}_in_{}.bin", b, a.name);
      write_bytes(dir / file, a.bytes);
      inputs.push_back(fmt::format(R"({{"name": {}, "dtype": {}, "shape": [{}], "file": {}}})", json_string(a.name),
                                   json_string(a.dtype), fmt::join(a.shape, ", "), json_string(file)));
    }
    batch_json.push_back(fmt::format(R"({{"prefix": "b{}_", "inputs": [{}]}})", b, fmt::join(inputs, ", ")));
  }
  const std::filesystem::path request = dir / "request.json";
  write_bytes(request, fmt::format(R"({{"model": {}, "threads": {}, "warmup": {}, "repeats": {}, "batches": [{}]}})",
                                   json_string(std::filesystem::absolute(model).string()), options.threads, options.warmup,
                                   options.repeats, fmt::join(batch_json, ",\n")));

  const int status = spawn({node_, (dir / "ort_run.js").string(), request.string()},
                           {"NODE_PATH=" + node_modules_.string()}, dir / "stdout.txt", dir / "stderr.txt");
  if (status != 0) {
    const std::string err = tail(read_file(dir / "stderr.txt"));
    throw ExportError(fmt::format("ONNX Runtime ({} with {}) failed on {} (exit status {}): {}", node_, node_modules_.string(),
                                  model.string(), status, err.empty() ? "no message" : err));
  }

  OrtRunResult result;
  result.batches.resize(batches.size());
  std::istringstream lines(read_file(dir / "response.txt"));
  std::string line;
  while (std::getline(lines, line)) {
    std::istringstream in(line);
    std::string kind;
    in >> kind;
    if (kind == "ort_version") {
      in >> result.version;
    } else if (kind == "node_version") {
      in >> result.node_version;
    } else if (kind == "load_ms") {
      in >> result.load_ms;
    } else if (kind == "inputs" || kind == "outputs") {
      auto& names = kind == "inputs" ? result.input_names : result.output_names;
      for (std::string name; in >> name;) names.push_back(name);
    } else if (kind == "output") {
      std::size_t b = 0;
      RawArray a;
      std::string file;
      in >> b >> a.name >> a.dtype >> file;
      for (std::int64_t dim; in >> dim;) a.shape.push_back(dim);
      if (b >= batches.size()) throw ExportError(fmt::format("ONNX Runtime response: batch {} of {}", b, batches.size()));
      a.bytes = read_file(dir / file);
      if (static_cast<std::int64_t>(a.bytes.size()) != a.numel() * static_cast<std::int64_t>(dtype_size(a.dtype)))
        throw ExportError(fmt::format("ONNX Runtime output {}: {} bytes for shape [{}]", a.name, a.bytes.size(),
                                      fmt::join(a.shape, ", ")));
      result.batches[b].outputs[a.name] = std::move(a);
    } else if (kind == "timing") {
      std::size_t b = 0;
      in >> b;
      if (b >= batches.size()) throw ExportError(fmt::format("ONNX Runtime response: batch {} of {}", b, batches.size()));
      for (double ms; in >> ms;) result.batches[b].run_ms.push_back(ms);
    }
  }
  return result;
}

}  // namespace opsrl::exporter
