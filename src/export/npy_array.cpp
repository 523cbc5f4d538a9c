// mqcalib/src/export/npy_array.cpp: see npy_array.h. Header: "\x93NUMPY" 1 0, uint16 header length, a
// Python dict literal padded with spaces and ending in '\n' so that the data starts on a 64-byte boundary.
#include "export/npy_array.h"

#include <cstring>

#include "core/error.h"
#include "core/input_file.h"

namespace mqcalib {

namespace {

const char* descr(NpyDtype d) { return d == NpyDtype::Int32 ? "<i4" : "<f4"; }
const char* dtype_name(NpyDtype d) { return d == NpyDtype::Int32 ? "int32" : "float32"; }
constexpr size_t kElementBytes = 4;  // both dtypes

}  // namespace

std::string npy_bytes(NpyDtype dtype, const Shape& shape, const void* data) {
  std::string dict = std::string("{'descr': '") + descr(dtype) + "', 'fortran_order': False, 'shape': (";
  int64_t n = 1;
  for (size_t i = 0; i < shape.size(); ++i) {
    dict += std::to_string(shape[i]) + (shape.size() == 1 ? "," : (i + 1 < shape.size() ? ", " : ""));
    n *= shape[i];
  }
  dict += "), }";
  const size_t pre = 10;  // magic (6) + version (2) + header length (2)
  while ((pre + dict.size() + 1) % 64 != 0) dict += ' ';
  dict += '\n';
  std::string bytes("\x93NUMPY\x01\x00", 8);
  const uint16_t hl = static_cast<uint16_t>(dict.size());
  bytes += static_cast<char>(hl & 0xff);
  bytes += static_cast<char>(hl >> 8);
  bytes += dict;
  bytes.append(static_cast<const char*>(data), kElementBytes * static_cast<size_t>(n));  // x86: little-endian
  return bytes;
}

std::string read_npy_payload(const std::string& path, NpyDtype dtype, const std::string& what, Shape* shape,
                             const Shape* expect) {
  const InputFile f(path, what);
  auto fail = [&](const std::string& why) { return Error(what + " '" + path + "': " + why); };
  const std::vector<uint8_t> pre = f.read_prefix(10);
  if (pre.size() < 10 || std::memcmp(pre.data(), "\x93NUMPY", 6) != 0 || pre[6] != 1)
    throw fail("not a version 1 .npy file");
  const size_t hl = size_t{pre[8]} | (size_t{pre[9]} << 8);
  if (f.size() < static_cast<int64_t>(10 + hl)) throw fail("truncated header");
  std::string h(hl, '\0');
  f.read_exact(h.data(), hl, 10);
  if (h.find(std::string("'descr': '") + descr(dtype) + "'") == std::string::npos ||
      h.find("'fortran_order': False") == std::string::npos)
    throw fail(std::string("expected little-endian ") + dtype_name(dtype) + " ('" + descr(dtype) +
               "') in C order, header " + h);
  const size_t l = h.find("'shape': (");
  const size_t r = l == std::string::npos ? l : h.find(')', l);
  if (r == std::string::npos) throw fail("no shape in header");
  Shape s;
  const std::string ctx = what + " '" + path + "': shape";
  int64_t n = 1;
  for (size_t i = l + 10; i < r;) {
    if (h[i] == ' ' || h[i] == ',') {
      ++i;
      continue;
    }
    if (h[i] < '0' || h[i] > '9') throw fail("cannot parse the shape in header " + h);
    int64_t d = 0;
    for (; i < r && h[i] >= '0' && h[i] <= '9'; ++i) d = checked_add(checked_mul(d, 10, ctx), h[i] - '0', ctx);
    s.push_back(d);
    n = checked_mul(n, d, ctx);
  }
  if (expect && s != *expect) throw fail("shape " + shape_to_string(s) + ", expected " + shape_to_string(*expect));
  const int64_t payload = checked_mul(n, static_cast<int64_t>(kElementBytes), ctx);
  const int64_t need = checked_add(payload, static_cast<int64_t>(10 + hl), ctx);
  if (f.size() != need)
    throw fail("payload has " + std::to_string(f.size() - static_cast<int64_t>(10 + hl)) + " bytes, shape " +
               shape_to_string(s) + " needs " + std::to_string(payload));
  std::string out(static_cast<size_t>(payload), '\0');
  if (payload > 0) f.read_exact(out.data(), out.size(), static_cast<int64_t>(10 + hl));  // little-endian
  if (shape) *shape = s;
  return out;
}

}  // namespace mqcalib
