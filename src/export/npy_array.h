// mqcalib/src/export/npy_array.h: NumPy .npy files (format version 1.0, little-endian, C order) of
// int32 ('<i4') or float32 ('<f4') arrays: the bytes of one, and the checked payload of one on disk.
// The typed front ends: npy_i32.h (weight codes), npy_f32.h (folded FP weights, synthetic images).
#pragma once

#include <string>

#include "core/tensor.h"

namespace mqcalib {

enum class NpyDtype { Int32, Float32 };

// Header + little-endian payload of numel(shape) elements at `data`.
std::string npy_bytes(NpyDtype dtype, const Shape& shape, const void* data);
// The payload bytes of the .npy at `path`, its shape in *shape. Throws Error "<what> '<path>': ..." on
// a missing or non-regular file (core/input_file.h), another version, dtype or order, a shape other
// than `*expect` (when given; checked before the payload is read), or a file whose size is not exactly
// what its header names (checked before reading; size arithmetic checked).
std::string read_npy_payload(const std::string& path, NpyDtype dtype, const std::string& what, Shape* shape,
                             const Shape* expect = nullptr);

}  // namespace mqcalib
