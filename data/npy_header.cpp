// mqcalib/data/npy_header.cpp: NumPy .npy headers (format 1.0 / 2.0 / 3.0, NEP 1), bounded.
#include <cctype>
#include <cstring>

#include "core/error.h"
#include "data/io_util.h"

namespace mqcalib {
namespace data_detail {
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

// The dimensions of a shape tuple's text "2, 3" / "5," / "" (a scalar); each fits in int64.
std::vector<int64_t> parse_shape_tuple(const std::string& tuple, const std::string& path) {
  std::vector<int64_t> shape;
  size_t i = 0;
  while (i < tuple.size()) {
    while (i < tuple.size() && (std::isspace(static_cast<unsigned char>(tuple[i])) || tuple[i] == ',')) ++i;
    if (i >= tuple.size()) break;
    size_t j = i;
    int64_t v = 0;
    while (j < tuple.size() && std::isdigit(static_cast<unsigned char>(tuple[j]))) {
      if (v > (int64_t{1} << 56)) npy_fail(path, "dimension '" + tuple.substr(i, 24) + "...' in 'shape' is too large");
      v = v * 10 + (tuple[j] - '0');
      ++j;
    }
    if (j == i) npy_fail(path, "cannot parse 'shape' (" + tuple + ") in header");
    shape.push_back(v);
    if (j < tuple.size() && tuple[j] == 'L') ++j;  // Python 2 long suffix
    i = j;
  }
  return shape;
}

}  // namespace

size_t npy_header_total(const std::vector<uint8_t>& prefix, const std::string& path) {
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
  if (header_len > kMaxNpyHeaderBytes)
    npy_fail(path, "header length " + std::to_string(header_len) + " is more than the " +
                       std::to_string(kMaxNpyHeaderBytes) + " bytes accepted");
  return start + header_len;
}

NpyHeader parse_npy_header(const std::vector<uint8_t>& prefix, const std::string& path) {
  const size_t total = npy_header_total(prefix, path);
  const size_t start = prefix[6] == 1 ? 10 : 12;
  if (prefix.size() < total)
    npy_fail(path, "truncated header (" + std::to_string(prefix.size()) + " bytes, header needs " +
                       std::to_string(total) + ")");
  const std::string h(reinterpret_cast<const char*>(prefix.data() + start), total - start);
  NpyHeader out;
  out.data_offset = total;

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
  out.shape = parse_shape_tuple(h.substr(p + 1, close - p - 1), path);
  return out;
}

NpyHeader read_npy_header(const InputFile& f) {
  std::vector<uint8_t> buf = f.read_prefix(12);
  const size_t total = npy_header_total(buf, f.path());
  if (total > buf.size()) buf = f.read_prefix(total);
  return parse_npy_header(buf, f.path());
}

int64_t npy_payload_end(const NpyHeader& h, int64_t item, const std::string& path) {
  const std::string ctx = ".npy file '" + path + "': shape " + shape_to_string(h.shape);
  int64_t n = item;
  for (int64_t d : h.shape) n = checked_mul(n, d, ctx);
  return checked_add(n, static_cast<int64_t>(h.data_offset), ctx);
}

}  // namespace data_detail
}  // namespace mqcalib
