// mqcalib/src/export/npy_f32.cpp: see npy_f32.h (the format in npy_array.cpp).
#include "export/npy_f32.h"

#include <cstring>

#include "export/atomic_file.h"
#include "export/npy_array.h"

namespace mqcalib {

std::string npy_f32_bytes(const Shape& shape, const float* data) { return npy_bytes(NpyDtype::Float32, shape, data); }

void write_npy_f32(const std::string& path, const Shape& shape, const float* data) {
  write_file_atomic(path, npy_f32_bytes(shape, data));
}

std::vector<float> read_npy_f32(const std::string& path, const std::string& what, Shape* shape, const Shape* expect) {
  const std::string payload = read_npy_payload(path, NpyDtype::Float32, what, shape, expect);
  std::vector<float> out(payload.size() / sizeof(float));
  if (!out.empty()) std::memcpy(out.data(), payload.data(), payload.size());
  return out;
}

}  // namespace mqcalib
