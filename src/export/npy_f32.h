// mqcalib/src/export/npy_f32.h: float32 arrays as NumPy .npy files (format 1.0, '<f4', C order):
// the dumps `mqcalib verify` writes for an external runtime (inputs, outputs, codes).
#pragma once

#include <string>

#include "core/tensor.h"

namespace mqcalib {

// Written atomically (write_file_atomic). Throws Error naming the path.
void write_npy_f32(const std::string& path, const Shape& shape, const float* data);

}  // namespace mqcalib
