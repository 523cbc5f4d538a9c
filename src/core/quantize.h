// mqcalib/src/core/quantize.h: quantize / dequantize / fake-quantize kernels, per-tensor and
// per-channel, with a plain reference twin for each (suffix _ref). Fast and reference kernels give
// bit-identical results, at any thread count (fixed chunking, no reduction across chunks).
//
//   quantize:      q = clamp(round(x / scale[c]) + zp[c], qmin, qmax)     round = params.rounding
//   dequantize:    x = scale[c] * float(q - zp[c])
//   fake_quantize: dequantize(quantize(x))
// c is the index along params.axis for per-channel params, 0 for per-tensor.
#pragma once

#include <cstdint>

#include "core/qscheme.h"
#include "core/tensor.h"

namespace mqcalib {

void quantize_f32_i32(ViewF32 x, const QParams& p, int32_t* q);
void quantize_f32_i32_ref(ViewF32 x, const QParams& p, int32_t* q);

void dequantize_i32_f32(const int32_t* q, const Shape& shape, const QParams& p, float* x);
void dequantize_i32_f32_ref(const int32_t* q, const Shape& shape, const QParams& p, float* x);

// `out` may alias x.data (in-place fake quantization).
void fake_quantize_f32(ViewF32 x, const QParams& p, float* out);
void fake_quantize_f32_ref(ViewF32 x, const QParams& p, float* out);

}  // namespace mqcalib
