// mqcalib/reconstruction/fake_quant_backward.h: straight-through estimator (STE) gradient of
// fake_quantize_f32 (src/core/quantize.h), per-tensor or per-channel QParams.
//
// Forward:  y = s[c] * (clamp(round(x / s[c]) + zp[c], qmin, qmax) - zp[c])     x / s: true division
// Backward: gx = gy  if  qmin <= round(x / s[c]) + zp[c] <= qmax   (inside the clamp range)
//           gx = 0   otherwise                                       (clipped)
// round() is p.rounding, the forward's tie rule (PyTorch's fake_quantize_per_*_affine backward uses the
// same mask, with x * inv_scale). NaN input gives 0. gx may alias gy. The fast kernel runs the reference
// formula over fixed parallel chunks: the twins are bit-identical.
#pragma once

#include "core/qscheme.h"
#include "core/tensor.h"

namespace mqcalib {

void fake_quantize_backward_ste_f32(ViewF32 x, ViewF32 gy, const QParams& p, MutViewF32 gx);
void fake_quantize_backward_ste_f32_ref(ViewF32 x, ViewF32 gy, const QParams& p, MutViewF32 gx);

}  // namespace mqcalib
