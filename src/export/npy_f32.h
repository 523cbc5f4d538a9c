// mqcalib/src/export/npy_f32.h: float32 arrays as NumPy .npy files (format version 1.0, little-endian
// '<f4', C order; npy_array.h): the folded FP weights a result needs (QuantRecord::float_weights), the
// dumps `mqcalib verify` writes for an external runtime, and synthetic calibration images, readable by
// numpy.load and by read_npy_f32.
#pragma once

#include <string>
#include <vector>

#include "core/tensor.h"

namespace mqcalib {

std::string npy_f32_bytes(const Shape& shape, const float* data);
// Written atomically (write_file_atomic). Throws Error naming the path.
void write_npy_f32(const std::string& path, const Shape& shape, const float* data);
// Throws Error "<what> '<path>': ..." as read_npy_payload (npy_array.h).
std::vector<float> read_npy_f32(const std::string& path, const std::string& what, Shape* shape,
                                const Shape* expect = nullptr);

}  // namespace mqcalib
