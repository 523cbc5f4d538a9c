// mqcalib/src/export/npy_f32.cpp: see npy_f32.h. Header: "\x93NUMPY" 1 0, uint16 header length, the
// dict padded with spaces and ending in '\n' so that the data starts on a 64-byte boundary.
#include "export/npy_f32.h"

#include "export/atomic_file.h"

namespace mqcalib {

void write_npy_f32(const std::string& path, const Shape& shape, const float* data) {
  std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (";
  for (size_t i = 0; i < shape.size(); ++i)
    dict += std::to_string(shape[i]) + (shape.size() == 1 ? "," : (i + 1 < shape.size() ? ", " : ""));
  dict += "), }";
  while ((10 + dict.size() + 1) % 64 != 0) dict += ' ';
  dict += '\n';
  std::string bytes("\x93NUMPY\x01\x00", 8);
  bytes += static_cast<char>(dict.size() & 0xff);
  bytes += static_cast<char>(dict.size() >> 8);
  bytes += dict;
  bytes.append(reinterpret_cast<const char*>(data), sizeof(float) * static_cast<size_t>(numel(shape)));  // x86: LE
  write_file_atomic(path, bytes);
}

}  // namespace mqcalib
