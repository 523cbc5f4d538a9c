// mqcalib/src/core/bias_i32.h: biases on the int32 grid, as integer runtimes store them.
//
// A quantized conv / linear accumulates sum (q_x - zp_x)(q_w - zp_w) in int32 at scale s_in * s_w[c],
// so its bias is stored as int32 at that scale with zero point 0 (docs/quantization.md, "Bias";
// REFERENCE.md section 1):
//   s_b[c] = s_in * s_w[c]                                   float32 product, as the runtimes compute it
//   q_b[c] = clamp(round(b[c] / s_b[c]), INT32_MIN, INT32_MAX)
//   b~[c]  = q_b[c] * s_b[c]                                 (the simulation's bias)
// Division, clamp and product are done in double: an int32 does not fit a float mantissa, and
// float(b) / float(s) would round before the tie test. round() is the backend's own tie rule
// (params.rounding): half-to-even (TensorRT, ONNX Runtime, FBGEMM, SNPE) or half-away-from-zero (ncnn,
// MNN, TVM, ACL): ties are rare for real biases but the rule is the runtime's, not ours.
#pragma once

#include <cstdint>

#include "core/qscheme.h"

namespace mqcalib {

// The bias params of a layer with `channels` outputs reading an input of scale s_in, with weight params
// `weight` (per-tensor or per-channel on axis 0). Per-channel (axis 0) whenever the layer has more
// than one output or per-channel weights; qmin/qmax the int32 range; zero points 0.
QParams bias_qparams_i32(float s_in, const QParams& weight, int64_t channels, Rounding rounding);

// q_b[c] for c < n (formula above). p from bias_qparams_i32 (n == p.channels(), or 1 per-tensor).
void quantize_bias_f32_i32(const float* bias, int64_t n, const QParams& p, int32_t* q);
// b~[c] = q_b[c] * s_b[c], rounded once to float. `out` may alias `bias`.
void fake_quantize_bias_f32(const float* bias, int64_t n, const QParams& p, float* out);

}  // namespace mqcalib
