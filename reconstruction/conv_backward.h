// mqcalib/reconstruction/conv_backward.h: gradients of the 2-D convolution of src/exec/kernels.h
// (NCHW float32, any groups incl. depthwise, stride, padding, dilation).
//
// With y = conv2d(x, w, b), gy = dL/dy [N,O,OH,OW], group g = o / (O/groups), Cg = C/groups:
//   gx[n, g*Cg+c, ih, iw] = sum over (o in g, oh, ow, i, j) with ih = oh*s_h - p_h + i*d_h and
//                           iw = ow*s_w - p_w + j*d_w of gy[n,o,oh,ow] * w[o,c,i,j]
//   gw[o,c,i,j]           = sum over (n, oh, ow) of gy[n,o,oh,ow] * x[n, g*Cg+c, ih, iw]   (0 in padding)
//   gb[o]                 = sum over (n, oh, ow) of gy[n,o,oh,ow]
// Outputs are overwritten (not accumulated). gx has x's shape; gw has w's shape.
//
// gx: for stride 1 (and p <= d (K - 1)) the forward conv of gy with the transposed, flipped weight
// through the engine's conv2d_nchw_f32 (src/exec: deterministic at any thread count); otherwise
// depthwise per plane, or a GEMM + col2im per (sample, group).
// Determinism (docs/STYLE.md): gx is split over (sample, group) units, each written by one chunk.
// gw and gb are reduced over samples: fixed chunks of kConvGradSampleChunk samples each produce a
// partial, and the partials are added serially in chunk order. Fast and reference kernels differ in
// summation order (GEMM), so tests compare them with a tolerance.
#pragma once

#include <cstdint>

#include "core/tensor.h"
#include "exec/kernels.h"

namespace mqcalib {

// Samples per weight-gradient chunk: fixed, independent of the thread count.
constexpr int64_t kConvGradSampleChunk = 4;

void conv2d_backward_input_nchw_f32(ViewF32 gy, ViewF32 w, const Conv2dParams&, MutViewF32 gx);
void conv2d_backward_input_nchw_f32_ref(ViewF32 gy, ViewF32 w, const Conv2dParams&, MutViewF32 gx);

// gbias may be null (no bias gradient).
void conv2d_backward_weight_nchw_f32(ViewF32 x, ViewF32 gy, const Conv2dParams&, MutViewF32 gw, float* gbias);
void conv2d_backward_weight_nchw_f32_ref(ViewF32 x, ViewF32 gy, const Conv2dParams&, MutViewF32 gw, float* gbias);

}  // namespace mqcalib
