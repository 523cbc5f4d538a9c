// mqcalib/data/io_util.h: file helpers shared by the data sources (internal to data/).
//
// Every read here is bounded by what the format's header needs (or by a stated hard limit for
// headerless text), sized before it allocates, and opens files through core/input_file.h, so a
// directory, FIFO or device is refused by name. Size arithmetic is checked (checked_mul/add).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/input_file.h"
#include "core/tensor.h"

struct gzFile_s;

namespace mqcalib {
namespace data_detail {

// Largest .npy header accepted (numpy itself refuses headers above 10000 bytes by default).
inline constexpr size_t kMaxNpyHeaderBytes = size_t{1} << 16;
// Largest element count an IDX header may claim (the payload is held in memory).
inline constexpr uint64_t kMaxIdxElements = uint64_t{1} << 36;

bool ends_with_ci(const std::string& s, const std::string& suffix);
bool is_directory(const std::string& path);

// A gzip stream (decompressed through zlib) or a plain file (read as it is), chosen by the gzip
// magic. Only bounded reads; errors name the file (corrupt or truncated gzip stream).
class MaybeGzReader {
 public:
  MaybeGzReader(const std::string& path, const std::string& what);
  ~MaybeGzReader();
  MaybeGzReader(const MaybeGzReader&) = delete;
  MaybeGzReader& operator=(const MaybeGzReader&) = delete;

  // Reads up to n bytes into dst; fewer only at the end of the stream.
  size_t read(uint8_t* dst, size_t n);
  // Appends up to n bytes to out (grown in chunks as bytes arrive, never by n up front).
  void append(std::vector<uint8_t>& out, size_t n);
  // True when no byte follows (reads one byte to find out).
  bool at_end();
  bool is_gzip() const { return gzip_; }
  int64_t file_size() const { return file_.size(); }  // on disk (compressed when gzip)
  const std::string& name() const { return name_; }

 private:
  InputFile file_;
  std::string name_;
  int64_t pos_ = 0;  // plain files: the next byte to read
  gzFile_s* gz_ = nullptr;
  bool gzip_ = false;
};

// The first n bytes (fewer if shorter), decompressed when gzip.
std::vector<uint8_t> read_prefix_maybe_gz(const std::string& path, const std::string& what, size_t n);
// The whole (decompressed) content; Error naming the file when it exceeds max_bytes, found after
// reading at most max_bytes + 1 bytes.
std::vector<uint8_t> read_maybe_gz_bounded(const std::string& path, const std::string& what, int64_t max_bytes);

// Big-endian 32-bit unsigned at p (IDX header fields).
inline uint32_t be32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

// IDX: magic 0x0000TTDD (TT = element type byte, DD = number of dimensions), then DD big-endian
// uint32 dimensions, then the elements. Checked against `expect_ndims` and type 0x08 (unsigned
// byte). `what` ("images", "labels") is used in messages.
struct IdxData {
  std::vector<uint8_t> bytes;  // header + payload
  std::vector<int64_t> dims;
  size_t data_offset = 0;
};
// Reads header first, then exactly the payload it names (plain: checked against the file size
// before reading; gzip: at most payload + 1 bytes are decompressed, to find trailing bytes).
IdxData read_idx_u8(const std::string& path, int expect_ndims, const char* what);
// Same checks on bytes already in memory (`path` names them in messages).
IdxData parse_idx_u8(std::vector<uint8_t> bytes, const std::string& path, int expect_ndims, const char* what);
// Header size from the first 4 bytes (n >= 4), after checking magic, type and ndims.
size_t idx_header_size(const uint8_t* b, size_t n, const std::string& path, int expect_ndims, const char* what);
// Dimensions and element count from a complete header (n >= idx_header_size); checked arithmetic.
std::vector<int64_t> idx_dims(const uint8_t* b, size_t header, const std::string& path, const char* what,
                              uint64_t* count);

// NumPy .npy header (format versions 1.0, 2.0, 3.0).
struct NpyHeader {
  std::string descr;  // e.g. "<f4", "|u1"
  bool fortran_order = false;
  std::vector<int64_t> shape;
  size_t data_offset = 0;  // bytes from the start of the file to the first element
};
// Bytes the header occupies (magic + version + length + dict) given the first 12 bytes (or fewer):
// 0 when the prefix is too short to tell. Error when the length exceeds kMaxNpyHeaderBytes.
size_t npy_header_total(const std::vector<uint8_t>& prefix, const std::string& path);
// Parses the header from the file's first bytes; Error naming `path` on a bad magic, an unknown
// version, an unparsable dictionary or a dimension too large for int64.
NpyHeader parse_npy_header(const std::vector<uint8_t>& prefix, const std::string& path);
// Reads the header of the .npy opened as `f` (reads only the header bytes).
NpyHeader read_npy_header(const InputFile& f);
// Elements of `shape` times `item` bytes, plus data_offset: the exact file size; checked.
int64_t npy_payload_end(const NpyHeader& h, int64_t item, const std::string& path);

}  // namespace data_detail
}  // namespace mqcalib
