#include "h5.hpp"

#include <algorithm>
#include <mutex>

#include <fmt/format.h>

namespace opsrl::datasets::h5 {

namespace {

// Chunks are at most this big: large enough for deflate to find the repetition between the
// rows of an episode, small enough for HDF5's default 1 MiB chunk cache.
constexpr std::uint64_t kMaxChunkBytes = 1 << 20;
// Arrays smaller than this are stored contiguously: a chunk index would cost more than it saves.
constexpr std::uint64_t kMinCompressBytes = 1024;
// Level 4: on default-scenario recordings (bench_datasets) level 1 writes about 20% faster for
// 9% more bytes, level 6 at half the speed for 8% fewer.
constexpr unsigned kDeflateLevel = 4;

hid_t mem_type(Elem e) {
  switch (e) {
    case Elem::kF32: return H5T_NATIVE_FLOAT;
    case Elem::kF64: return H5T_NATIVE_DOUBLE;
    case Elem::kI32: return H5T_NATIVE_INT32;
    case Elem::kI64: return H5T_NATIVE_INT64;
    case Elem::kU8: return H5T_NATIVE_UINT8;
    case Elem::kU64: return H5T_NATIVE_UINT64;
  }
  return H5T_NATIVE_UINT8;
}

hid_t file_type(Elem e) {
  switch (e) {
    case Elem::kF32: return H5T_IEEE_F32LE;
    case Elem::kF64: return H5T_IEEE_F64LE;
    case Elem::kI32: return H5T_STD_I32LE;
    case Elem::kI64: return H5T_STD_I64LE;
    case Elem::kU8: return H5T_STD_U8LE;
    case Elem::kU64: return H5T_STD_U64LE;
  }
  return H5T_STD_U8LE;
}

StoredType stored_type(hid_t type) {
  StoredType t;
  t.cls = H5Tget_class(type);
  t.size = H5Tget_size(type);
  if (t.cls == H5T_INTEGER) t.is_signed = H5Tget_sign(type) == H5T_SGN_2;
  return t;
}

Type string_type() {
  Type t(H5Tcopy(H5T_C_S1));
  if (!t.valid() || H5Tset_size(t.get(), H5T_VARIABLE) < 0 || H5Tset_cset(t.get(), H5T_CSET_UTF8) < 0)
    throw Failure("cannot build the variable-length string type");
  return t;
}

std::uint64_t count(const std::vector<hsize_t>& dims) {
  std::uint64_t n = 1;
  for (hsize_t d : dims) n *= d;
  return n;
}

Space make_space(const std::vector<hsize_t>& dims) {
  Space s(dims.empty() ? H5Screate(H5S_SCALAR) : H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr));
  if (!s.valid()) throw Failure("cannot create a dataspace");
  return s;
}

Attr open_attr(hid_t obj, const std::string& name) {
  if (H5Aexists(obj, name.c_str()) <= 0) throw Failure(fmt::format("attribute \"{}\" is missing", name));
  Attr a(H5Aopen(obj, name.c_str(), H5P_DEFAULT));
  if (!a.valid()) throw Failure(fmt::format("cannot open attribute \"{}\"", name));
  return a;
}

Attr create_attr(hid_t obj, const std::string& name, hid_t type, hid_t space) {
  if (H5Aexists(obj, name.c_str()) > 0 && H5Adelete(obj, name.c_str()) < 0)
    throw Failure(fmt::format("cannot replace attribute \"{}\"", name));
  Attr a(H5Acreate2(obj, name.c_str(), type, space, H5P_DEFAULT, H5P_DEFAULT));
  if (!a.valid()) throw Failure(fmt::format("cannot create attribute \"{}\"", name));
  return a;
}

hssize_t attr_points(hid_t attr) {
  Space s(H5Aget_space(attr));
  return s.valid() ? H5Sget_simple_extent_npoints(s.get()) : -1;
}

}  // namespace

void init() {
  static std::once_flag once;
  std::call_once(once, [] {
    H5open();
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  });
}

std::string_view elem_name(Elem e) {
  switch (e) {
    case Elem::kF32: return "float32";
    case Elem::kF64: return "float64";
    case Elem::kI32: return "int32";
    case Elem::kI64: return "int64";
    case Elem::kU8: return "uint8";
    case Elem::kU64: return "uint64";
  }
  return "?";
}

std::string StoredType::name() const {
  switch (cls) {
    case H5T_INTEGER: return fmt::format("{}int{}", is_signed ? "" : "u", 8 * size);
    case H5T_FLOAT: return fmt::format("float{}", 8 * size);
    case H5T_STRING: return "string";
    case H5T_COMPOUND: return "compound";
    case H5T_ENUM: return "enum";
    case H5T_ARRAY: return "array";
    case H5T_VLEN: return "vlen";
    case H5T_OPAQUE: return "opaque";
    case H5T_REFERENCE: return "reference";
    case H5T_BITFIELD: return "bitfield";
    default: return "unknown type";
  }
}

bool StoredType::is(Elem e) const {
  switch (e) {
    case Elem::kF32: return cls == H5T_FLOAT && size == 4;
    case Elem::kF64: return cls == H5T_FLOAT && size == 8;
    case Elem::kI32: return cls == H5T_INTEGER && size == 4 && is_signed;
    case Elem::kI64: return cls == H5T_INTEGER && size == 8 && is_signed;
    case Elem::kU8: return cls == H5T_INTEGER && size == 1 && !is_signed;
    case Elem::kU64: return cls == H5T_INTEGER && size == 8 && !is_signed;
  }
  return false;
}

std::uint64_t ArrayInfo::elements() const { return count(dims); }

// ---- files and groups --------------------------------------------------------------------

File create_file(const std::string& path) {
  init();
  File f(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT));
  if (!f.valid()) throw Failure(fmt::format("cannot create the HDF5 file (directory missing or not writable?)"));
  return f;
}

File open_file(const std::string& path, bool writable) {
  init();
  const htri_t is_h5 = H5Fis_hdf5(path.c_str());
  if (is_h5 == 0) throw Failure("not an HDF5 file (no HDF5 signature)");
  File f(H5Fopen(path.c_str(), writable ? H5F_ACC_RDWR : H5F_ACC_RDONLY, H5P_DEFAULT));
  if (!f.valid())
    throw Failure(is_h5 < 0 ? "cannot read the file (missing or unreadable)"
                            : "HDF5 cannot open it (truncated or corrupted file?)");
  return f;
}

Group create_group(hid_t loc, const std::string& name) {
  Group g(H5Gcreate2(loc, name.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
  if (!g.valid()) throw Failure(fmt::format("cannot create group \"{}\"", name));
  return g;
}

Group open_group(hid_t loc, const std::string& name) {
  if (!is_group(loc, name)) throw Failure(fmt::format("group \"{}\" is missing", name));
  Group g(H5Gopen2(loc, name.c_str(), H5P_DEFAULT));
  if (!g.valid()) throw Failure(fmt::format("cannot open group \"{}\"", name));
  return g;
}

bool exists(hid_t loc, const std::string& path) {
  // H5Lexists fails (rather than saying no) when an intermediate group is missing: walk the
  // prefixes "a", "a/b", ... (or "/a", "/a/b", ... for an absolute path).
  std::size_t pos = path.starts_with('/') ? 1 : 0;
  if (pos >= path.size()) return false;
  while (true) {
    const std::size_t slash = path.find('/', pos);
    const std::string prefix = path.substr(0, slash);
    if (slash == pos || H5Lexists(loc, prefix.c_str(), H5P_DEFAULT) <= 0) return false;
    if (slash == std::string::npos) return true;
    pos = slash + 1;
  }
}

namespace {
H5I_type_t object_kind(hid_t loc, const std::string& path) {
  if (!exists(loc, path)) return H5I_BADID;
  const hid_t o = H5Oopen(loc, path.c_str(), H5P_DEFAULT);
  if (o < 0) return H5I_BADID;
  const H5I_type_t t = H5Iget_type(o);
  H5Oclose(o);
  return t;
}
}  // namespace

bool is_group(hid_t loc, const std::string& path) { return object_kind(loc, path) == H5I_GROUP; }
bool is_dataset(hid_t loc, const std::string& path) { return object_kind(loc, path) == H5I_DATASET; }

std::vector<std::string> children(hid_t group) {
  std::vector<std::string> names;
  // HDF5 1.12 changed the link-info struct of H5Literate's callback (Debian 12 ships 1.10).
#if H5_VERSION_GE(1, 12, 0)
  using LinkInfo = H5L_info2_t;
#else
  using LinkInfo = H5L_info_t;
#endif
  auto collect = [](hid_t, const char* name, const LinkInfo*, void* data) -> herr_t {
    static_cast<std::vector<std::string>*>(data)->emplace_back(name);
    return 0;
  };
  hsize_t idx = 0;
  if (H5Literate(group, H5_INDEX_NAME, H5_ITER_INC, &idx, collect, &names) < 0)
    throw Failure("cannot list the members of a group");
  std::sort(names.begin(), names.end());
  return names;
}

void hard_link(hid_t loc, const std::string& target, const std::string& link) {
  if (H5Lcreate_hard(loc, target.c_str(), loc, link.c_str(), H5P_DEFAULT, H5P_DEFAULT) < 0)
    throw Failure(fmt::format("cannot link \"{}\" to \"{}\"", link, target));
}

void flush(hid_t file) {
  if (H5Fflush(file, H5F_SCOPE_GLOBAL) < 0) throw Failure("cannot flush the file");
}

// ---- datasets ----------------------------------------------------------------------------

void write_array(hid_t loc, const std::string& name, Elem elem, const std::vector<hsize_t>& dims, const void* data,
                 bool compress) {
  const Space space = make_space(dims);
  const std::uint64_t n = count(dims);
  const std::uint64_t bytes = n * H5Tget_size(mem_type(elem));
  Plist dcpl(H5Pcreate(H5P_DATASET_CREATE));
  if (compress && !dims.empty() && bytes >= kMinCompressBytes) {
    // Whole rows per chunk, as many as fit kMaxChunkBytes (at least one).
    std::vector<hsize_t> chunk = dims;
    const std::uint64_t row_bytes = bytes / dims[0];
    chunk[0] = std::clamp<hsize_t>(kMaxChunkBytes / std::max<std::uint64_t>(row_bytes, 1), 1, dims[0]);
    if (H5Pset_chunk(dcpl.get(), static_cast<int>(chunk.size()), chunk.data()) < 0 || H5Pset_shuffle(dcpl.get()) < 0 ||
        H5Pset_deflate(dcpl.get(), kDeflateLevel) < 0)
      throw Failure(fmt::format("cannot set up chunking and compression for \"{}\"", name));
  }
  Dataset ds(H5Dcreate2(loc, name.c_str(), file_type(elem), space.get(), H5P_DEFAULT, dcpl.get(), H5P_DEFAULT));
  if (!ds.valid()) throw Failure(fmt::format("cannot create dataset \"{}\"", name));
  if (n > 0 && H5Dwrite(ds.get(), mem_type(elem), H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0)
    throw Failure(fmt::format("cannot write dataset \"{}\"", name));
}

ArrayInfo array_info(hid_t loc, const std::string& name) {
  if (!is_dataset(loc, name)) throw Failure(fmt::format("dataset \"{}\" is missing", name));
  Dataset ds(H5Dopen2(loc, name.c_str(), H5P_DEFAULT));
  if (!ds.valid()) throw Failure(fmt::format("cannot open dataset \"{}\"", name));
  ArrayInfo info;
  const Type type(H5Dget_type(ds.get()));
  const Space space(H5Dget_space(ds.get()));
  if (!type.valid() || !space.valid()) throw Failure(fmt::format("cannot read the type or shape of \"{}\"", name));
  info.type = stored_type(type.get());
  const int rank = H5Sget_simple_extent_ndims(space.get());
  if (rank < 0) throw Failure(fmt::format("cannot read the shape of \"{}\"", name));
  info.dims.resize(static_cast<std::size_t>(rank));
  if (rank > 0) H5Sget_simple_extent_dims(space.get(), info.dims.data(), nullptr);
  info.stored_bytes = H5Dget_storage_size(ds.get());
  return info;
}

void read_array(hid_t loc, const std::string& name, Elem elem, void* out, std::uint64_t elements) {
  Dataset ds(H5Dopen2(loc, name.c_str(), H5P_DEFAULT));
  if (!ds.valid()) throw Failure(fmt::format("cannot open dataset \"{}\"", name));
  const Space space(H5Dget_space(ds.get()));
  const hssize_t n = space.valid() ? H5Sget_simple_extent_npoints(space.get()) : -1;
  if (n < 0 || static_cast<std::uint64_t>(n) != elements)
    throw Failure(fmt::format("dataset \"{}\" holds {} elements, {} expected", name, n, elements));
  if (H5Dread(ds.get(), mem_type(elem), H5S_ALL, H5S_ALL, H5P_DEFAULT, out) < 0)
    throw Failure(fmt::format("cannot read dataset \"{}\" as {} (wrong type, or corrupted/truncated data)", name,
                              elem_name(elem)));
}

// ---- attributes --------------------------------------------------------------------------

bool has_attr(hid_t obj, const std::string& name) { return H5Aexists(obj, name.c_str()) > 0; }

std::vector<std::string> attr_names(hid_t obj) {
  std::vector<std::string> names;
  auto collect = [](hid_t, const char* name, const H5A_info_t*, void* data) -> herr_t {
    static_cast<std::vector<std::string>*>(data)->emplace_back(name);
    return 0;
  };
  hsize_t idx = 0;
  if (H5Aiterate2(obj, H5_INDEX_NAME, H5_ITER_INC, &idx, collect, &names) < 0)
    throw Failure("cannot list the attributes");
  return names;
}

StoredType attr_type(hid_t obj, const std::string& name) {
  const Attr a = open_attr(obj, name);
  const Type t(H5Aget_type(a.get()));
  if (!t.valid()) throw Failure(fmt::format("cannot read the type of attribute \"{}\"", name));
  return stored_type(t.get());
}

void write_attr(hid_t obj, const std::string& name, Elem elem, const void* value) {
  const Space space = make_space({});
  const Attr a = create_attr(obj, name, file_type(elem), space.get());
  if (H5Awrite(a.get(), mem_type(elem), value) < 0) throw Failure(fmt::format("cannot write attribute \"{}\"", name));
}

void write_attr(hid_t obj, const std::string& name, std::string_view text) {
  const Type type = string_type();
  const Space space = make_space({});
  const Attr a = create_attr(obj, name, type.get(), space.get());
  const std::string copy(text);  // NUL-terminated
  const char* ptr = copy.c_str();
  if (H5Awrite(a.get(), type.get(), &ptr) < 0) throw Failure(fmt::format("cannot write attribute \"{}\"", name));
}

void write_attr(hid_t obj, const std::string& name, const std::vector<std::string>& texts) {
  const Type type = string_type();
  const Space space = make_space({static_cast<hsize_t>(texts.size())});
  const Attr a = create_attr(obj, name, type.get(), space.get());
  std::vector<const char*> ptrs;
  ptrs.reserve(texts.size());
  for (const std::string& t : texts) ptrs.push_back(t.c_str());
  if (!texts.empty() && H5Awrite(a.get(), type.get(), ptrs.data()) < 0)
    throw Failure(fmt::format("cannot write attribute \"{}\"", name));
}

void read_attr(hid_t obj, const std::string& name, Elem elem, void* out) {
  const Attr a = open_attr(obj, name);
  const Type t(H5Aget_type(a.get()));
  const StoredType st = t.valid() ? stored_type(t.get()) : StoredType{};
  if (st.cls != H5T_INTEGER && st.cls != H5T_FLOAT)
    throw Failure(fmt::format("attribute \"{}\" is a {}, a number is expected", name, st.name()));
  if (attr_points(a.get()) != 1)
    throw Failure(fmt::format("attribute \"{}\" holds {} values, one number is expected", name, attr_points(a.get())));
  if (H5Aread(a.get(), mem_type(elem), out) < 0)
    throw Failure(fmt::format("cannot read attribute \"{}\" as {}", name, elem_name(elem)));
}

std::string read_attr_string(hid_t obj, const std::string& name) {
  const Attr a = open_attr(obj, name);
  const Type t(H5Aget_type(a.get()));
  if (!t.valid() || H5Tget_class(t.get()) != H5T_STRING)
    throw Failure(fmt::format("attribute \"{}\" is a {}, a string is expected", name,
                              t.valid() ? stored_type(t.get()).name() : "unreadable type"));
  if (attr_points(a.get()) != 1) throw Failure(fmt::format("attribute \"{}\" is not a single string", name));
  if (H5Tis_variable_str(t.get()) > 0) {
    const Type mem = string_type();
    char* ptr = nullptr;
    if (H5Aread(a.get(), mem.get(), &ptr) < 0) throw Failure(fmt::format("cannot read attribute \"{}\"", name));
    std::string s = ptr ? ptr : "";
    H5free_memory(ptr);
    return s;
  }
  // Fixed-length (as other tools may write): read the bytes, drop the padding.
  const std::size_t size = H5Tget_size(t.get());
  std::string s(size, '\0');
  const Type mem(H5Tcopy(H5T_C_S1));
  H5Tset_size(mem.get(), size);
  if (H5Aread(a.get(), mem.get(), s.data()) < 0) throw Failure(fmt::format("cannot read attribute \"{}\"", name));
  s.resize(std::min(s.find('\0'), s.size()));
  return s;
}

std::vector<std::string> read_attr_strings(hid_t obj, const std::string& name) {
  const Attr a = open_attr(obj, name);
  const Type t(H5Aget_type(a.get()));
  if (!t.valid() || H5Tget_class(t.get()) != H5T_STRING || H5Tis_variable_str(t.get()) <= 0)
    throw Failure(fmt::format("attribute \"{}\" is not a list of variable-length strings", name));
  const hssize_t n = attr_points(a.get());
  if (n < 0) throw Failure(fmt::format("cannot read the size of attribute \"{}\"", name));
  std::vector<char*> ptrs(static_cast<std::size_t>(n), nullptr);
  const Type mem = string_type();
  if (n > 0 && H5Aread(a.get(), mem.get(), ptrs.data()) < 0)
    throw Failure(fmt::format("cannot read attribute \"{}\"", name));
  std::vector<std::string> out;
  out.reserve(ptrs.size());
  for (char* p : ptrs) {
    out.emplace_back(p ? p : "");
    H5free_memory(p);
  }
  return out;
}

}  // namespace opsrl::datasets::h5
