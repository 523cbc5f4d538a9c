// mqcalib/data/idx_format.cpp: IDX headers and header-bounded IDX reads (plain and gzip).
#include <cstdio>

#include "core/error.h"
#include "data/io_util.h"

namespace mqcalib {
namespace data_detail {
namespace {

std::string idx_name(const char* what, const std::string& path) {
  return "IDX " + std::string(what) + " file '" + path + "'";
}

std::string hex32(uint32_t v) {
  char b[16];
  std::snprintf(b, sizeof b, "0x%08X", static_cast<unsigned>(v));
  return b;
}

const char* idx_type_name(int type) {
  switch (type) {
    case 0x09:
      return "int8";
    case 0x0B:
      return "int16";
    case 0x0C:
      return "int32";
    case 0x0D:
      return "float32";
    case 0x0E:
      return "float64";
    default:
      return "unknown";
  }
}

}  // namespace

size_t idx_header_size(const uint8_t* b, size_t n, const std::string& path, int expect_ndims, const char* what) {
  if (n < 4)
    throw Error(idx_name(what, path) + ": truncated: " + std::to_string(n) +
                " bytes, too short for the 4-byte magic number");
  const std::string magic_hex = hex32(be32(b));
  const std::string expect_hex = hex32(0x00000800u | static_cast<uint32_t>(expect_ndims));
  if (b[0] != 0 || b[1] != 0)
    throw Error(idx_name(what, path) + ": wrong magic number " + magic_hex + " (expected " + expect_hex +
                "); not an IDX file");
  const int type = b[2];
  const int ndims = b[3];
  if (type != 0x08) {
    char tb[8];
    std::snprintf(tb, sizeof tb, "0x%02X", type);
    throw Error(idx_name(what, path) + ": wrong dtype byte " + tb + " (" + idx_type_name(type) +
                "), expected 0x08 (unsigned byte)");
  }
  if (ndims != expect_ndims)
    throw Error(idx_name(what, path) + ": wrong magic number " + magic_hex + " (" + std::to_string(ndims) +
                " dimensions; expected " + expect_hex + ", " + std::to_string(expect_ndims) + " dimensions" +
                (ndims == 1 ? "; this looks like a labels file" : "") +
                (ndims == 3 ? "; this looks like an images file" : "") + ")");
  return 4 + 4 * static_cast<size_t>(ndims);
}

std::vector<int64_t> idx_dims(const uint8_t* b, size_t header, const std::string& path, const char* what,
                              uint64_t* count) {
  std::vector<int64_t> dims;
  uint64_t c = 1;
  for (size_t i = 0; 4 + 4 * i < header; ++i) {
    const uint32_t dim = be32(b + 4 + 4 * i);
    if (dim == 0) throw Error(idx_name(what, path) + ": dimension " + std::to_string(i) + " is 0");
    dims.push_back(static_cast<int64_t>(dim));
    // Checked before multiplying: c <= 2^36 times a dimension < 2^32 can exceed 2^64 (and wrap to a
    // small count: 4096 x 2^24 x 2^28 is 2^64, found by fuzz_idx_gz).
    const bool over = dim > kMaxIdxElements / c;
    c = over ? kMaxIdxElements + 1 : c * dim;
    if (over || c > kMaxIdxElements)
      throw Error(idx_name(what, path) + ": the header " + shape_to_string(dims) + " claims more than " +
                  std::to_string(kMaxIdxElements) + " elements");
  }
  *count = c;
  return dims;
}

IdxData parse_idx_u8(std::vector<uint8_t> bytes, const std::string& path, int expect_ndims, const char* what) {
  IdxData d;
  d.bytes = std::move(bytes);
  const auto& b = d.bytes;
  const size_t header = idx_header_size(b.data(), b.size(), path, expect_ndims, what);
  if (b.size() < header)
    throw Error(idx_name(what, path) + ": truncated header: " + std::to_string(b.size()) + " bytes, the header needs " +
                std::to_string(header));
  uint64_t count = 0;
  d.dims = idx_dims(b.data(), header, path, what, &count);
  d.data_offset = header;
  const uint64_t need = header + count;
  if (b.size() < need)
    throw Error(idx_name(what, path) + ": truncated: " + std::to_string(b.size()) + " bytes but the header " +
                shape_to_string(d.dims) + " needs " + std::to_string(need));
  if (b.size() > need)
    throw Error(idx_name(what, path) + ": " + std::to_string(b.size() - need) + " unexpected bytes after the " +
                shape_to_string(d.dims) + " elements");
  return d;
}

IdxData read_idx_u8(const std::string& path, int expect_ndims, const char* what) {
  const std::string role = "IDX " + std::string(what) + " file";
  MaybeGzReader r(path, role);
  const int64_t file_bytes = r.file_size();
  std::vector<uint8_t> b;
  r.append(b, 4);
  const size_t header = idx_header_size(b.data(), b.size(), path, expect_ndims, what);
  r.append(b, header - b.size());
  if (b.size() < header)
    throw Error(idx_name(what, path) + ": truncated header: " + std::to_string(b.size()) + " bytes, the header needs " +
                std::to_string(header));
  uint64_t count = 0;
  idx_dims(b.data(), header, path, what, &count);
  const uint64_t need = header + count;
  // A plain file is sized before its payload is read; a gzip stream is read no further than the
  // header says plus one byte (trailing data), whatever it would expand to.
  if (!r.is_gzip() && static_cast<uint64_t>(file_bytes) < need) {
    uint64_t c = 0;
    throw Error(idx_name(what, path) + ": truncated: " + std::to_string(file_bytes) + " bytes but the header " +
                shape_to_string(idx_dims(b.data(), header, path, what, &c)) + " needs " + std::to_string(need));
  }
  r.append(b, static_cast<size_t>(need + 1 - b.size()));
  if (b.size() > need) {
    uint64_t c = 0;
    const std::string extra = r.is_gzip()
                                  ? std::string("the decompressed stream has more bytes")
                                  : std::to_string(static_cast<uint64_t>(file_bytes) - need) + " unexpected bytes";
    throw Error(idx_name(what, path) + ": " + extra + " after the " +
                shape_to_string(idx_dims(b.data(), header, path, what, &c)) + " elements its header names");
  }
  return parse_idx_u8(std::move(b), path, expect_ndims, what);
}

}  // namespace data_detail
}  // namespace mqcalib
