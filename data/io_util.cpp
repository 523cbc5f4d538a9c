// mqcalib/data/io_util.cpp: file helpers shared by the data sources.
#include "data/io_util.h"

#include <sys/stat.h>
#include <zlib.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstring>
#include <limits>
#include <memory>

namespace mqcalib {
namespace data_detail {

bool ends_with_ci(const std::string& s, const std::string& suffix) {
  if (suffix.size() > s.size()) return false;
  for (size_t i = 0; i < suffix.size(); ++i) {
    const unsigned char a = static_cast<unsigned char>(s[s.size() - suffix.size() + i]);
    const unsigned char b = static_cast<unsigned char>(suffix[i]);
    if (std::tolower(a) != std::tolower(b)) return false;
  }
  return true;
}

bool is_directory(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

bool is_regular_file(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

int64_t file_size(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) throw Error("'" + path + "': cannot stat file: " + std::strerror(errno));
  return static_cast<int64_t>(st.st_size);
}

namespace {

struct GzCloser {
  void operator()(gzFile_s* f) const { gzclose(f); }
};
using GzPtr = std::unique_ptr<gzFile_s, GzCloser>;

GzPtr gz_open_checked(const std::string& path) {
  if (is_directory(path)) throw Error("'" + path + "': is a directory, expected a file");
  if (!is_regular_file(path)) throw Error("'" + path + "': no such file");
  gzFile f = gzopen(path.c_str(), "rb");
  if (!f) throw Error("'" + path + "': cannot open: " + std::strerror(errno));
  gzbuffer(f, 1 << 18);
  return GzPtr(f);
}

// Reads up to `limit` bytes; throws on a corrupt or truncated gzip stream.
std::vector<uint8_t> gz_read_up_to(const std::string& path, size_t limit) {
  GzPtr f = gz_open_checked(path);
  std::vector<uint8_t> out;
  const size_t kChunk = size_t{1} << 20;
  while (out.size() < limit) {
    const size_t want = std::min(kChunk, limit - out.size());
    const size_t old = out.size();
    out.resize(old + want);
    const int got = gzread(f.get(), out.data() + old, static_cast<unsigned>(want));
    if (got < 0) {
      int errnum = 0;
      const char* msg = gzerror(f.get(), &errnum);
      throw Error("'" + path + "': corrupt gzip stream (" + (msg ? msg : "unknown zlib error") + ")");
    }
    out.resize(old + static_cast<size_t>(got));
    if (static_cast<size_t>(got) < want) break;
  }
  int errnum = Z_OK;
  const char* msg = gzerror(f.get(), &errnum);
  // zlib reports a stream cut short as Z_BUF_ERROR "unexpected end of file" without failing gzread.
  if (errnum != Z_OK)
    throw Error("'" + path + "': truncated or corrupt gzip stream (" + (msg ? msg : "unknown zlib error") + ")");
  return out;
}

}  // namespace

std::vector<uint8_t> read_file_maybe_gz(const std::string& path) {
  return gz_read_up_to(path, std::numeric_limits<size_t>::max());
}

std::vector<uint8_t> read_prefix_maybe_gz(const std::string& path, size_t n) { return gz_read_up_to(path, n); }

IdxData read_idx_u8(const std::string& path, int expect_ndims, const char* what) {
  return parse_idx_u8(read_file_maybe_gz(path), path, expect_ndims, what);
}

IdxData parse_idx_u8(std::vector<uint8_t> bytes, const std::string& path, int expect_ndims, const char* what) {
  IdxData d;
  d.bytes = std::move(bytes);
  const auto& b = d.bytes;
  char magic_hex[16];
  if (b.size() < 4)
    throw Error("IDX " + std::string(what) + " file '" + path + "': truncated: " + std::to_string(b.size()) +
                " bytes, too short for the 4-byte magic number");
  const uint32_t magic = be32(b.data());
  std::snprintf(magic_hex, sizeof magic_hex, "0x%08X", static_cast<unsigned>(magic));
  const uint32_t expect_magic = 0x00000800u | static_cast<uint32_t>(expect_ndims);
  char expect_hex[16];
  std::snprintf(expect_hex, sizeof expect_hex, "0x%08X", static_cast<unsigned>(expect_magic));
  if (b[0] != 0 || b[1] != 0)
    throw Error("IDX " + std::string(what) + " file '" + path + "': wrong magic number " + magic_hex + " (expected " +
                expect_hex + "); not an IDX file");
  const int type = b[2];
  const int ndims = b[3];
  if (type != 0x08) {
    const char* tname = type == 0x09   ? "int8"
                        : type == 0x0B ? "int16"
                        : type == 0x0C ? "int32"
                        : type == 0x0D ? "float32"
                        : type == 0x0E ? "float64"
                                       : "unknown";
    char tb[8];
    std::snprintf(tb, sizeof tb, "0x%02X", type);
    throw Error("IDX " + std::string(what) + " file '" + path + "': wrong dtype byte " + tb + " (" + tname +
                "), expected 0x08 (unsigned byte)");
  }
  if (ndims != expect_ndims)
    throw Error("IDX " + std::string(what) + " file '" + path + "': wrong magic number " + magic_hex + " (" +
                std::to_string(ndims) + " dimensions; expected " + expect_hex + ", " + std::to_string(expect_ndims) +
                " dimensions" + (ndims == 1 ? "; this looks like a labels file" : "") +
                (ndims == 3 ? "; this looks like an images file" : "") + ")");
  const size_t header = 4 + 4 * static_cast<size_t>(ndims);
  if (b.size() < header)
    throw Error("IDX " + std::string(what) + " file '" + path + "': truncated header: " + std::to_string(b.size()) +
                " bytes, the header needs " + std::to_string(header));
  uint64_t count = 1;
  for (int i = 0; i < ndims; ++i) {
    const uint32_t dim = be32(b.data() + 4 + 4 * i);
    if (dim == 0)
      throw Error("IDX " + std::string(what) + " file '" + path + "': dimension " + std::to_string(i) + " is 0");
    d.dims.push_back(static_cast<int64_t>(dim));
    count *= dim;
    if (count > (uint64_t{1} << 40))
      throw Error("IDX " + std::string(what) + " file '" + path + "': dimensions too large");
  }
  d.data_offset = header;
  const uint64_t need = header + count;
  if (b.size() < need)
    throw Error("IDX " + std::string(what) + " file '" + path + "': truncated: " + std::to_string(b.size()) +
                " bytes but the header " + shape_to_string(d.dims) + " needs " + std::to_string(need));
  if (b.size() > need)
    throw Error("IDX " + std::string(what) + " file '" + path + "': " + std::to_string(b.size() - need) +
                " unexpected bytes after the " + shape_to_string(d.dims) + " elements");
  return d;
}

namespace {

[[noreturn]] void npy_fail(const std::string& path, const std::string& what) {
  throw Error(".npy file '" + path + "': " + what);
}

// Position just after "'key':" (or "\"key\":") in the header dict, or npos.
size_t find_key(const std::string& h, const std::string& key) {
  for (const char q : {'\'', '"'}) {
    const std::string k = std::string(1, q) + key + std::string(1, q);
    size_t p = h.find(k);
    if (p == std::string::npos) continue;
    p += k.size();
    while (p < h.size() && std::isspace(static_cast<unsigned char>(h[p]))) ++p;
    if (p < h.size() && h[p] == ':') ++p;
    while (p < h.size() && std::isspace(static_cast<unsigned char>(h[p]))) ++p;
    return p;
  }
  return std::string::npos;
}

}  // namespace

NpyHeader parse_npy_header(const std::vector<uint8_t>& prefix, const std::string& path) {
  static const uint8_t kMagic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};
  if (prefix.size() < 10 || std::memcmp(prefix.data(), kMagic, 6) != 0)
    npy_fail(path, "wrong magic: not a NumPy .npy file (expected \\x93NUMPY)");
  const int major = prefix[6];
  size_t header_len = 0, start = 0;
  if (major == 1) {
    header_len = size_t{prefix[8]} | (size_t{prefix[9]} << 8);
    start = 10;
  } else if (major == 2 || major == 3) {
    if (prefix.size() < 12) npy_fail(path, "truncated header");
    header_len = size_t{prefix[8]} | (size_t{prefix[9]} << 8) | (size_t{prefix[10]} << 16) | (size_t{prefix[11]} << 24);
    start = 12;
  } else {
    npy_fail(path, "unsupported format version " + std::to_string(major) + "." + std::to_string(prefix[7]) +
                       " (supported: 1.0, 2.0, 3.0)");
  }
  if (prefix.size() < start + header_len)
    npy_fail(path, "truncated header (" + std::to_string(prefix.size()) + " bytes, header needs " +
                       std::to_string(start + header_len) + ")");
  const std::string h(reinterpret_cast<const char*>(prefix.data() + start), header_len);
  NpyHeader out;
  out.data_offset = start + header_len;

  size_t p = find_key(h, "descr");
  if (p == std::string::npos || p >= h.size() || (h[p] != '\'' && h[p] != '"'))
    npy_fail(path, "header has no 'descr' string (structured dtypes are not supported): " + h);
  const char q = h[p];
  const size_t e = h.find(q, p + 1);
  if (e == std::string::npos) npy_fail(path, "unterminated 'descr' in header: " + h);
  out.descr = h.substr(p + 1, e - p - 1);

  p = find_key(h, "fortran_order");
  if (p == std::string::npos) npy_fail(path, "header has no 'fortran_order': " + h);
  if (h.compare(p, 4, "True") == 0)
    out.fortran_order = true;
  else if (h.compare(p, 5, "False") == 0)
    out.fortran_order = false;
  else
    npy_fail(path, "cannot parse 'fortran_order' in header: " + h);

  p = find_key(h, "shape");
  if (p == std::string::npos || p >= h.size() || h[p] != '(') npy_fail(path, "header has no 'shape' tuple: " + h);
  const size_t close = h.find(')', p);
  if (close == std::string::npos) npy_fail(path, "unterminated 'shape' in header: " + h);
  const std::string tuple = h.substr(p + 1, close - p - 1);
  size_t i = 0;
  while (i < tuple.size()) {
    while (i < tuple.size() && (std::isspace(static_cast<unsigned char>(tuple[i])) || tuple[i] == ',')) ++i;
    if (i >= tuple.size()) break;
    size_t j = i;
    while (j < tuple.size() && std::isdigit(static_cast<unsigned char>(tuple[j]))) ++j;
    if (j == i) npy_fail(path, "cannot parse 'shape' (" + tuple + ") in header");
    out.shape.push_back(std::stoll(tuple.substr(i, j - i)));
    if (j < tuple.size() && tuple[j] == 'L') ++j;  // Python 2 long suffix
    i = j;
  }
  return out;
}

NpyHeader read_npy_header(const std::string& path) {
  if (is_directory(path)) throw Error(".npy file '" + path + "': is a directory");
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) throw Error(".npy file '" + path + "': cannot open: " + std::strerror(errno));
  std::vector<uint8_t> buf(12);
  const size_t got = std::fread(buf.data(), 1, buf.size(), f);
  buf.resize(got);
  size_t total = got;
  if (got >= 10 && buf[6] == 1)
    total = 10 + (size_t{buf[8]} | (size_t{buf[9]} << 8));
  else if (got >= 12 && (buf[6] == 2 || buf[6] == 3))
    total = 12 + (size_t{buf[8]} | (size_t{buf[9]} << 8) | (size_t{buf[10]} << 16) | (size_t{buf[11]} << 24));
  if (total > got) {
    // Header length is at most 4 GiB by format; cap what we read to the file size.
    const size_t want = std::min<size_t>(total, static_cast<size_t>(std::max<int64_t>(file_size(path), 0)));
    if (want > got) {
      buf.resize(want);
      const size_t more = std::fread(buf.data() + got, 1, want - got, f);
      buf.resize(got + more);
    }
  }
  std::fclose(f);
  return parse_npy_header(buf, path);
}

}  // namespace data_detail
}  // namespace mqcalib
