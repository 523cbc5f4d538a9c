// mqcalib/src/export/npy_i32.cpp: see npy_i32.h. Header: "\x93NUMPY" 1 0, uint16 header length, a
// Python dict literal padded with spaces and ending in '\n' so that the data starts on a 64-byte boundary.
#include "export/npy_i32.h"

#include <cstring>
#include <fstream>
#include <sstream>

#include "core/error.h"
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

std::vector<int32_t> read_npy_i32(const std::string& path, Shape* shape) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw Error("weight codes '" + path + "': cannot open the file");
  std::stringstream ss;
  ss << f.rdbuf();
  const std::string b = ss.str();
  if (b.size() < 10 || b.compare(0, 6, "\x93NUMPY") != 0 || b[6] != 1)
    throw Error("weight codes '" + path + "': not a version 1 .npy file");
  const size_t hl = static_cast<unsigned char>(b[8]) | (static_cast<size_t>(static_cast<unsigned char>(b[9])) << 8);
  if (b.size() < 10 + hl) throw Error("weight codes '" + path + "': truncated header");
  const std::string h = b.substr(10, hl);
  if (h.find("'descr': '<i4'") == std::string::npos || h.find("'fortran_order': False") == std::string::npos)
    throw Error("weight codes '" + path + "': expected little-endian int32 ('<i4') in C order, header " + h);
  const size_t l = h.find("'shape': ("), r = h.find(')', l);
  if (l == std::string::npos || r == std::string::npos) throw Error("weight codes '" + path + "': no shape in header");
  Shape s;
  std::stringstream dims(h.substr(l + 10, r - l - 10));
  std::string tok;
  int64_t n = 1;
  while (std::getline(dims, tok, ','))
    if (tok.find_first_not_of(' ') != std::string::npos) {
      s.push_back(std::stoll(tok));
      n *= s.back();
    }
  if (b.size() != 10 + hl + sizeof(int32_t) * static_cast<size_t>(n))
    throw Error("weight codes '" + path + "': payload has " + std::to_string(b.size() - 10 - hl) + " bytes, shape " +
                shape_to_string(s) + " needs " + std::to_string(4 * n));
  std::vector<int32_t> out(static_cast<size_t>(n));
  std::memcpy(out.data(), b.data() + 10 + hl, sizeof(int32_t) * out.size());
  if (shape) *shape = s;
  return out;
}

}  // namespace mqcalib
