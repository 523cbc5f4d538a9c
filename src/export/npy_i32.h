// mqcalib/src/export/npy_i32.h: int32 arrays as NumPy .npy files (format version 1.0, little-endian
// '<i4', C order): the integer weight codes a non-nearest rounding (AdaRound) produced, readable by
// numpy.load and by read_npy_i32.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace mqcalib {

// The file's bytes (header + little-endian payload).
std::string npy_i32_bytes(const Shape& shape, const int32_t* data);
// Written atomically (write_file_atomic). Throws Error naming the path.
void write_npy_i32(const std::string& path, const Shape& shape, const int32_t* data);
// Throws Error naming the path on a missing or non-regular file, another dtype/order, a shape other
// than `*expect` (when given; checked before the payload is read), or a file whose size is not
// exactly what its header names (checked before reading; size arithmetic checked).
std::vector<int32_t> read_npy_i32(const std::string& path, Shape* shape, const Shape* expect = nullptr);

}  // namespace mqcalib
