// mqcalib/src/export/npy_i32.cpp: see npy_i32.h. Header: "\x93NUMPY" 1 0, uint16 header length, a
// Python dict literal padded with spaces and ending in '\n' so that the data starts on a 64-byte boundary.
#include "export/npy_i32.h"

#include <cstring>

#include "core/error.h"
#include "core/input_file.h"
#include "export/atomic_file.h"

namespace mqcalib {

std::string npy_i32_bytes(const Shape& shape, const int32_t* data) {
  std::string dict = "{'descr': '<i4', 'fortran_order': False, 'shape': (";
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
  bytes.append(reinterpret_cast<const char*>(data), sizeof(int32_t) * static_cast<size_t>(n));  // x86: little-endian
  return bytes;
}

void write_npy_i32(const std::string& path, const Shape& shape, const int32_t* data) {
  write_file_atomic(path, npy_i32_bytes(shape, data));
}

std::vector<int32_t> read_npy_i32(const std::string& path, Shape* shape, const Shape* expect) {
  const InputFile f(path, "weight codes");
  auto fail = [&](const std::string& what) { return Error("weight codes '" + path + "': " + what); };
  const std::vector<uint8_t> pre = f.read_prefix(10);
  if (pre.size() < 10 || std::memcmp(pre.data(), "\x93NUMPY", 6) != 0 || pre[6] != 1)
    throw fail("not a version 1 .npy file");
  const size_t hl = size_t{pre[8]} | (size_t{pre[9]} << 8);
  if (f.size() < static_cast<int64_t>(10 + hl)) throw fail("truncated header");
  std::string h(hl, '\0');
  f.read_exact(h.data(), hl, 10);
  if (h.find("'descr': '<i4'") == std::string::npos || h.find("'fortran_order': False") == std::string::npos)
    throw fail("expected little-endian int32 ('<i4') in C order, header " + h);
  const size_t l = h.find("'shape': (");
  const size_t r = l == std::string::npos ? l : h.find(')', l);
  if (r == std::string::npos) throw fail("no shape in header");
  Shape s;
  const std::string ctx = "weight codes '" + path + "': shape";
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
  const int64_t need = checked_add(checked_mul(n, 4, ctx), static_cast<int64_t>(10 + hl), ctx);
  if (f.size() != need)
    throw fail("payload has " + std::to_string(f.size() - static_cast<int64_t>(10 + hl)) + " bytes, shape " +
               shape_to_string(s) + " needs " + std::to_string(need - static_cast<int64_t>(10 + hl)));
  std::vector<int32_t> out(static_cast<size_t>(n));
  if (n > 0) f.read_exact(out.data(), sizeof(int32_t) * out.size(), static_cast<int64_t>(10 + hl));  // little-endian
  if (shape) *shape = s;
  return out;
}

}  // namespace mqcalib
