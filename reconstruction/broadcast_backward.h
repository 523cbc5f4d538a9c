// mqcalib/reconstruction/broadcast_backward.h: gradients of the broadcasting ops of src/exec/kernels.h,
// binary_f32 (add / mul with numpy broadcasting: residual adds, squeeze-excite's gating mul) and
// mean_f32. With y of the broadcast shape Y and an operand of shape S (right-aligned against Y, every
// dim 1 or equal to Y's), off_S(i) the operand element that Y's element i reads:
//   reduce_to_shape:  r[o] = sum over i with off_S(i) = o of g[i]                (S's shape)
//   add:  ga = reduce_to_shape(gy, A),            gb = reduce_to_shape(gy, B)
//   mul:  ga[o] = sum over i with off_A(i) = o of gy[i] * b[off_B(i)],  gb likewise with a
//   mean over dims D of x [X], count = prod of X[d] for d in D:
//         gx[i] = gy[i with the dims of D at 0] / count
// Every sum runs over its terms in increasing flat index of Y, float accumulation, in the fast kernels
// (one output per thread chunk, fixed chunks) as in the serial _ref twins: the twins are bit-identical
// at any thread count. Outputs are overwritten. A null output pointer means "not needed".
#pragma once

#include <cstdint>
#include <vector>

#include "core/tensor.h"

namespace mqcalib {

// r = reduce_to_shape(g, r.shape); g has the broadcast shape of r.shape and g.shape.
void reduce_to_shape_f32(ViewF32 g, MutViewF32 r);
void reduce_to_shape_f32_ref(ViewF32 g, MutViewF32 r);

// Gradients of y = a * b (broadcasting), gy of the broadcast shape; ga / gb have a's / b's shapes.
void mul_backward_f32(ViewF32 a, ViewF32 b, ViewF32 gy, MutViewF32* ga, MutViewF32* gb);
void mul_backward_f32_ref(ViewF32 a, ViewF32 b, ViewF32 gy, MutViewF32* ga, MutViewF32* gb);

// Gradient of y = mean_f32(x, dims, keepdim): gx has x's shape, gy mean_output_shape(x, dims, keepdim).
void mean_backward_f32(ViewF32 gy, const std::vector<int64_t>& dims, bool keepdim, MutViewF32 gx);
void mean_backward_f32_ref(ViewF32 gy, const std::vector<int64_t>& dims, bool keepdim, MutViewF32 gx);

}  // namespace mqcalib
