#pragma once
// Shared pieces of the agents tests: a mask check over every action head, a driver that runs a
// policy on a VecEnv, configs, and a small JSON reader to parse evaluation output back.
#include <cctype>
#include <cstdint>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <variant>
#include <vector>

#include <opsrl/agents/policy.hpp>
#include <opsrl/envs/vec_env.hpp>

namespace opsrl::agents::test {

// Why `row` is not allowed by `mask` for task spec `spec` ("" if it is): every head entry is in
// range and its mask (the row its parent head selects) allows it; columns past the task's
// action_width (a mixed batch) are 0.
inline std::string mask_violation(const envs::EnvSpec& spec, const std::uint8_t* mask, std::span<const std::int32_t> row) {
  for (const envs::ActionHeadSpec& h : spec.action_heads) {
    const int parent = h.depends_on.empty() ? -1 : spec.head(h.depends_on).column;
    for (int k = 0; k < h.count; ++k) {
      const int v = row[static_cast<std::size_t>(h.column + k)];
      if (v < 0 || v >= h.choices) return h.name + " out of range: " + std::to_string(v);
      const int r = parent >= 0 ? row[static_cast<std::size_t>(parent)] : (h.mask_rows == 1 ? 0 : k);
      if (!mask[h.mask_offset + r * h.choices + v])
        return h.name + "[" + std::to_string(k) + "] = " + std::to_string(v) + " is masked out";
    }
  }
  for (std::size_t c = static_cast<std::size_t>(spec.action_width); c < row.size(); ++c)
    if (row[c] != 0) return "column " + std::to_string(c) + " past the task's action width is not 0";
  return {};
}

// Runs `policy` for `steps` steps on `vec` (reset first), checking every row against its mask
// before the step and the env's own verdict after it. Returns the number of rows checked.
struct DriveResult {
  long rows = 0;
  long violations = 0;       // rows the test's mask check rejects
  long invalid = 0;          // actions the env counted as invalid
  long applied = 0;          // actions the env applied
  long episodes = 0;         // episodes that ended
  std::string first_violation;
};

inline DriveResult drive(Policy& policy, envs::VecEnv& vec, int steps) {
  DriveResult r;
  vec.reset();
  policy.reset(vec);
  const auto A = static_cast<std::size_t>(vec.action_width());
  const auto M = static_cast<std::size_t>(vec.mask_width());
  std::vector<std::int32_t> actions(A * static_cast<std::size_t>(vec.size()));
  for (int t = 0; t < steps; ++t) {
    policy.act(vec, actions);
    for (int i = 0; i < vec.size(); ++i) {
      const std::span<const std::int32_t> row(actions.data() + static_cast<std::size_t>(i) * A, A);
      const std::string why = mask_violation(vec.spec(i), vec.observations().action_mask().data() + static_cast<std::size_t>(i) * M, row);
      ++r.rows;
      if (!why.empty() && r.violations++ == 0) r.first_violation = vec.spec(i).task + ": " + why;
    }
    vec.step(actions);
    for (int i = 0; i < vec.size(); ++i) {
      const bool done = vec.terminated()[static_cast<std::size_t>(i)] || vec.truncated()[static_cast<std::size_t>(i)];
      const envs::Info& info = done ? vec.final_info(i) : vec.info(i);
      r.invalid += info.action.invalid;
      r.applied += info.action.applied;
      if (done) {
        ++r.episodes;
        policy.begin_episode(vec, i);
      }
    }
  }
  return r;
}

// ---- a small JSON reader (enough to read evaluation output back) ---------------------------

struct Json {
  using Object = std::map<std::string, Json>;
  using Array = std::vector<Json>;
  std::variant<std::nullptr_t, bool, double, std::string, Array, Object> v;

  bool is_null() const { return std::holds_alternative<std::nullptr_t>(v); }
  double num() const { return std::get<double>(v); }
  const std::string& str() const { return std::get<std::string>(v); }
  const Array& arr() const { return std::get<Array>(v); }
  const Object& obj() const { return std::get<Object>(v); }
  const Json& operator[](const std::string& key) const {
    const auto it = obj().find(key);
    if (it == obj().end()) throw std::out_of_range("JSON: no key " + key);
    return it->second;
  }
  const Json& operator[](std::size_t i) const { return arr().at(i); }
};

class JsonReader {
 public:
  // Throws std::runtime_error with the offset of the first syntax error.
  static Json parse(const std::string& text) {
    JsonReader r(text);
    Json j = r.value();
    r.space();
    if (r.i_ != text.size()) r.fail("trailing characters");
    return j;
  }

 private:
  explicit JsonReader(const std::string& t) : t_(t) {}
  [[noreturn]] void fail(const std::string& what) const {
    throw std::runtime_error("JSON: " + what + " at offset " + std::to_string(i_));
  }
  void space() {
    while (i_ < t_.size() && std::isspace(static_cast<unsigned char>(t_[i_]))) ++i_;
  }
  bool eat(char c) {
    space();
    if (i_ < t_.size() && t_[i_] == c) {
      ++i_;
      return true;
    }
    return false;
  }
  void expect(char c) {
    if (!eat(c)) fail(std::string("expected '") + c + "'");
  }
  bool word(const char* w) {
    const std::string s(w);
    if (t_.compare(i_, s.size(), s) != 0) return false;
    i_ += s.size();
    return true;
  }
  std::string string() {
    expect('"');
    std::string out;
    while (i_ < t_.size() && t_[i_] != '"') {
      char c = t_[i_++];
      if (static_cast<unsigned char>(c) < 0x20) fail("control character in string");
      if (c == '\\') {
        if (i_ >= t_.size()) fail("unterminated escape");
        const char e = t_[i_++];
        switch (e) {
          case '"': c = '"'; break;
          case '\\': c = '\\'; break;
          case '/': c = '/'; break;
          case 'n': c = '\n'; break;
          case 't': c = '\t'; break;
          case 'r': c = '\r'; break;
          case 'b': c = '\b'; break;
          case 'f': c = '\f'; break;
          case 'u':
            if (i_ + 4 > t_.size()) fail("short \\u escape");
            c = static_cast<char>(std::stoi(t_.substr(i_, 4), nullptr, 16));
            i_ += 4;
            break;
          default: fail("bad escape");
        }
      }
      out += c;
    }
    if (i_ >= t_.size()) fail("unterminated string");
    ++i_;
    return out;
  }
  Json value() {
    space();
    if (i_ >= t_.size()) fail("unexpected end");
    const char c = t_[i_];
    if (c == '{') {
      ++i_;
      Json::Object o;
      if (eat('}')) return {o};
      do {
        space();
        std::string k = string();
        expect(':');
        o.emplace(std::move(k), value());
      } while (eat(','));
      expect('}');
      return {o};
    }
    if (c == '[') {
      ++i_;
      Json::Array a;
      if (eat(']')) return {a};
      do a.push_back(value());
      while (eat(','));
      expect(']');
      return {a};
    }
    if (c == '"') return {string()};
    if (word("true")) return {true};
    if (word("false")) return {false};
    if (word("null")) return {nullptr};
    // number: -?digits[.digits][e[+-]digits], as JSON allows
    const std::size_t start = i_;
    if (t_[i_] == '-') ++i_;
    auto digits = [&] {
      const std::size_t d = i_;
      while (i_ < t_.size() && std::isdigit(static_cast<unsigned char>(t_[i_]))) ++i_;
      if (i_ == d) fail("expected a digit");
    };
    digits();
    if (i_ < t_.size() && t_[i_] == '.') {
      ++i_;
      digits();
    }
    if (i_ < t_.size() && (t_[i_] == 'e' || t_[i_] == 'E')) {
      ++i_;
      if (i_ < t_.size() && (t_[i_] == '+' || t_[i_] == '-')) ++i_;
      digits();
    }
    return {std::stod(t_.substr(start, i_ - start))};
  }

  const std::string& t_;
  std::size_t i_ = 0;
};

}  // namespace opsrl::agents::test
