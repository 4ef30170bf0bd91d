#pragma once
// A thin RAII layer over the HDF5 C API for the writer, the reader and the checker; HDF5 stays
// out of the public headers. Every failing call throws h5::Failure saying what was attempted
// on which in-file path; callers add the file name and the expected form. HDF5's own error
// printing is switched off once (init()), so a bad file never spills library stack traces.
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <hdf5.h>

namespace opsrl::datasets::h5 {

struct Failure : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Silences HDF5's automatic error printing (idempotent, thread-safe).
void init();

template <herr_t (*Close)(hid_t)>
class Handle {
 public:
  Handle() = default;
  explicit Handle(hid_t id) : id_(id) {}
  ~Handle() { reset(); }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  Handle(Handle&& o) noexcept : id_(std::exchange(o.id_, H5I_INVALID_HID)) {}
  Handle& operator=(Handle&& o) noexcept {
    if (this != &o) {
      reset();
      id_ = std::exchange(o.id_, H5I_INVALID_HID);
    }
    return *this;
  }
  hid_t get() const { return id_; }
  bool valid() const { return id_ >= 0; }
  void reset() {
    if (id_ >= 0) Close(id_);
    id_ = H5I_INVALID_HID;
  }

 private:
  hid_t id_ = H5I_INVALID_HID;
};

using File = Handle<H5Fclose>;
using Group = Handle<H5Gclose>;
using Dataset = Handle<H5Dclose>;
using Space = Handle<H5Sclose>;
using Type = Handle<H5Tclose>;
using Attr = Handle<H5Aclose>;
using Plist = Handle<H5Pclose>;

// Element types the format uses, with their HDF5 memory and file (little-endian) types.
enum class Elem : std::uint8_t { kF32, kF64, kI32, kI64, kU8, kU64 };
std::string_view elem_name(Elem e);  // "float32", "float64", "int32", "int64", "uint8", "uint64"

template <typename T> struct ElemOf;
template <> struct ElemOf<float> { static constexpr Elem value = Elem::kF32; };
template <> struct ElemOf<double> { static constexpr Elem value = Elem::kF64; };
template <> struct ElemOf<std::int32_t> { static constexpr Elem value = Elem::kI32; };
template <> struct ElemOf<std::int64_t> { static constexpr Elem value = Elem::kI64; };
template <> struct ElemOf<std::uint8_t> { static constexpr Elem value = Elem::kU8; };
template <> struct ElemOf<std::uint64_t> { static constexpr Elem value = Elem::kU64; };

// What an object holds, as read from the file: "float32", "uint8", "string", "compound", ...
struct StoredType {
  H5T_class_t cls = H5T_NO_CLASS;
  std::size_t size = 0;
  bool is_signed = false;
  std::string name() const;
  bool is(Elem e) const;
};

// ---- files and groups --------------------------------------------------------------------
File create_file(const std::string& path);                    // truncates
File open_file(const std::string& path, bool writable);
Group create_group(hid_t loc, const std::string& name);
Group open_group(hid_t loc, const std::string& name);
// Whether every component of a relative path exists (false on a broken path, never throws).
bool exists(hid_t loc, const std::string& path);
bool is_group(hid_t loc, const std::string& path);
bool is_dataset(hid_t loc, const std::string& path);
// Names of the links directly under a group, sorted by name.
std::vector<std::string> children(hid_t group);
// `link` becomes another name for the object at `target` (an HDF5 hard link: no bytes copied).
void hard_link(hid_t loc, const std::string& target, const std::string& link);
void flush(hid_t file);

// ---- datasets ----------------------------------------------------------------------------
// Chunked, byte-shuffled and deflated when `compress` and the array is not tiny; contiguous
// otherwise. dims may contain zeros (an empty array).
void write_array(hid_t loc, const std::string& name, Elem elem, const std::vector<hsize_t>& dims, const void* data,
                 bool compress);
template <typename T>
void write_array(hid_t loc, const std::string& name, const std::vector<hsize_t>& dims, const T* data, bool compress) {
  write_array(loc, name, ElemOf<T>::value, dims, data, compress);
}

struct ArrayInfo {
  StoredType type;
  std::vector<hsize_t> dims;
  std::uint64_t stored_bytes = 0;  // on disk (after compression)
  std::uint64_t elements() const;
};
ArrayInfo array_info(hid_t loc, const std::string& name);
// Reads the whole array converted to T (HDF5 converts numeric types); `out` is resized.
void read_array(hid_t loc, const std::string& name, Elem elem, void* out, std::uint64_t elements);
template <typename T>
std::vector<T> read_array(hid_t loc, const std::string& name) {
  const ArrayInfo info = array_info(loc, name);
  std::vector<T> out(info.elements());
  if (!out.empty()) read_array(loc, name, ElemOf<T>::value, out.data(), out.size());
  return out;
}

// ---- attributes (on a group or a dataset) -------------------------------------------------
bool has_attr(hid_t obj, const std::string& name);
std::vector<std::string> attr_names(hid_t obj);
StoredType attr_type(hid_t obj, const std::string& name);
void write_attr(hid_t obj, const std::string& name, Elem elem, const void* value);
template <typename T>
void write_attr(hid_t obj, const std::string& name, T value) {
  write_attr(obj, name, ElemOf<T>::value, &value);
}
void write_attr(hid_t obj, const std::string& name, std::string_view text);  // UTF-8, variable length
inline void write_attr(hid_t obj, const std::string& name, const std::string& text) {
  write_attr(obj, name, std::string_view(text));
}
inline void write_attr(hid_t obj, const std::string& name, const char* text) { write_attr(obj, name, std::string_view(text)); }
void write_attr(hid_t obj, const std::string& name, const std::vector<std::string>& texts);
// Scalar numeric attribute converted to T; throws Failure if it is not a numeric scalar.
void read_attr(hid_t obj, const std::string& name, Elem elem, void* out);
template <typename T>
T read_attr(hid_t obj, const std::string& name) {
  T v{};
  read_attr(obj, name, ElemOf<T>::value, &v);
  return v;
}
std::string read_attr_string(hid_t obj, const std::string& name);
std::vector<std::string> read_attr_strings(hid_t obj, const std::string& name);

}  // namespace opsrl::datasets::h5
