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
#include <string_view>

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

// Per-tensor fake quantization as constants a kernel applies in its epilogue, on one thread: the same
// arithmetic as fake_quantize_f32 (the same row loop), so a fused epilogue gives the same bits.
// scale s, lo = qmin - zp and hi = qmax - zp as floats (the clamp bounds), the tie rule.
struct FakeQuantF32 {
  float scale = 1.0f, lo = -128.0f, hi = 127.0f;
  Rounding rounding = Rounding::HalfToEven;
};
// Throws Error naming `tensor` when p is per-channel or invalid.
FakeQuantF32 fake_quant_consts(const QParams& p, std::string_view tensor);
// out[i] = fake_quantize(x[i]) for i < n, serially (for use inside a parallel region); out may alias x.
void fake_quantize_span_f32(const FakeQuantF32& fq, const float* x, float* out, int64_t n);

}  // namespace mqcalib
