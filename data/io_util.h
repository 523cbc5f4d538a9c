// mqcalib/data/io_util.h: file helpers shared by the data sources (internal to data/).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace mqcalib {
namespace data_detail {

bool ends_with_ci(const std::string& s, const std::string& suffix);
bool is_directory(const std::string& path);
bool is_regular_file(const std::string& path);

// Whole file contents. Gzip files are decompressed (zlib reads plain files unchanged, so this
// works for both). Errors name the file: missing, unreadable, truncated / corrupt gzip stream.
std::vector<uint8_t> read_file_maybe_gz(const std::string& path);

// First `n` bytes of a file (fewer if the file is shorter), decompressed when gzip.
std::vector<uint8_t> read_prefix_maybe_gz(const std::string& path, size_t n);

// Big-endian 32-bit unsigned at p (IDX header fields).
inline uint32_t be32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

// IDX: magic 0x0000TTDD (TT = element type byte, DD = number of dimensions), then DD big-endian
// uint32 dimensions, then the elements. Parses and checks header + size against `expect_ndims`
// and type 0x08 (unsigned byte). `what` ("images", "labels") is used in messages.
struct IdxData {
  std::vector<uint8_t> bytes;  // whole (decompressed) file
  std::vector<int64_t> dims;
  size_t data_offset = 0;
};
IdxData read_idx_u8(const std::string& path, int expect_ndims, const char* what);
// Same, on bytes already read from `path`.
IdxData parse_idx_u8(std::vector<uint8_t> bytes, const std::string& path, int expect_ndims, const char* what);

// NumPy .npy header (format versions 1.0, 2.0, 3.0).
struct NpyHeader {
  std::string descr;  // e.g. "<f4", "|u1"
  bool fortran_order = false;
  std::vector<int64_t> shape;
  size_t data_offset = 0;  // bytes from the start of the file to the first element
};
// Parses the header from the file's first bytes; Error naming `path` on a bad magic, an unknown
// version or an unparsable dictionary.
NpyHeader parse_npy_header(const std::vector<uint8_t>& prefix, const std::string& path);
// Reads the header of the .npy at path (reads only the header bytes).
NpyHeader read_npy_header(const std::string& path);
int64_t file_size(const std::string& path);

}  // namespace data_detail
}  // namespace mqcalib
