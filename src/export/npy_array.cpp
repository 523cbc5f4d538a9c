// mqcalib/src/export/npy_array.cpp: see npy_array.h. Header: "\x93NUMPY" 1 0, uint16 header length, a
// Python dict literal padded with spaces and ending in '\n' so that the data starts on a 64-byte boundary.
#include "export/npy_array.h"

#include <fstream>
#include <sstream>

#include "core/error.h"

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

std::string read_npy_payload(const std::string& path, NpyDtype dtype, const std::string& what, Shape* shape) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw Error(what + " '" + path + "': cannot open the file");
  std::stringstream ss;
  ss << f.rdbuf();
  const std::string b = ss.str();
  if (b.size() < 10 || b.compare(0, 6, "\x93NUMPY") != 0 || b[6] != 1)
    throw Error(what + " '" + path + "': not a version 1 .npy file");
  const size_t hl = static_cast<unsigned char>(b[8]) | (static_cast<size_t>(static_cast<unsigned char>(b[9])) << 8);
  if (b.size() < 10 + hl) throw Error(what + " '" + path + "': truncated header");
  const std::string h = b.substr(10, hl);
  if (h.find(std::string("'descr': '") + descr(dtype) + "'") == std::string::npos ||
      h.find("'fortran_order': False") == std::string::npos)
    throw Error(what + " '" + path + "': expected little-endian " + dtype_name(dtype) + " ('" + descr(dtype) +
                "') in C order, header " + h);
  const size_t l = h.find("'shape': ("), r = h.find(')', l);
  if (l == std::string::npos || r == std::string::npos) throw Error(what + " '" + path + "': no shape in header");
  Shape s;
  std::stringstream dims(h.substr(l + 10, r - l - 10));
  std::string tok;
  int64_t n = 1;
  while (std::getline(dims, tok, ','))
    if (tok.find_first_not_of(' ') != std::string::npos) {
      s.push_back(std::stoll(tok));
      n *= s.back();
    }
  if (b.size() != 10 + hl + kElementBytes * static_cast<size_t>(n))
    throw Error(what + " '" + path + "': payload has " + std::to_string(b.size() - 10 - hl) + " bytes, shape " +
                shape_to_string(s) + " needs " + std::to_string(kElementBytes * static_cast<size_t>(n)));
  if (shape) *shape = s;
  return b.substr(10 + hl);
}

}  // namespace mqcalib
