// mqcalib/src/export/npy_i32.cpp: see npy_i32.h (the format in npy_array.cpp).
#include "export/npy_i32.h"

#include <cstring>

#include "export/atomic_file.h"
#include "export/npy_array.h"

namespace mqcalib {

std::string npy_i32_bytes(const Shape& shape, const int32_t* data) { return npy_bytes(NpyDtype::Int32, shape, data); }

void write_npy_i32(const std::string& path, const Shape& shape, const int32_t* data) {
  write_file_atomic(path, npy_i32_bytes(shape, data));
}

std::vector<int32_t> read_npy_i32(const std::string& path, Shape* shape, const Shape* expect) {
  const std::string payload = read_npy_payload(path, NpyDtype::Int32, "weight codes", shape, expect);
  std::vector<int32_t> out(payload.size() / sizeof(int32_t));
  if (!out.empty()) std::memcpy(out.data(), payload.data(), payload.size());
  return out;
}

}  // namespace mqcalib
