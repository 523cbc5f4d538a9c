// mqcalib/reconstruction/pool_backward.h: gradients of the pooling kernels of src/exec/kernels.h,
// x and gx [N,C,H,W], gy [N,C,OH,OW]; gx is overwritten.
//   max:      gx[argmax of window] += gy, argmax = the first maximum in window order (i, then j),
//             a later NaN replacing it, as PyTorch's max_pool2d_with_indices.
//   avg:      every in-input element of the clipped window gets gy / divisor (the forward's divisor:
//             the unclipped window size with count_include_pad, else the clipped one).
//   adaptive: every element of window [floor(o*H/OH), ceil((o+1)*H/OH)) gets gy / window size.
// Planes (n, c) are independent: the fast kernels run them in fixed parallel chunks with the same
// per-plane code as the serial _ref twins, so the twins are bit-identical.
#pragma once

#include <cstdint>

#include "core/tensor.h"
#include "exec/kernels.h"

namespace mqcalib {

void max_pool2d_backward_nchw_f32(ViewF32 x, ViewF32 gy, const Pool2dParams&, MutViewF32 gx);
void max_pool2d_backward_nchw_f32_ref(ViewF32 x, ViewF32 gy, const Pool2dParams&, MutViewF32 gx);

void avg_pool2d_backward_nchw_f32(ViewF32 gy, const Pool2dParams&, MutViewF32 gx);
void avg_pool2d_backward_nchw_f32_ref(ViewF32 gy, const Pool2dParams&, MutViewF32 gx);

void adaptive_avg_pool2d_backward_nchw_f32(ViewF32 gy, MutViewF32 gx);
void adaptive_avg_pool2d_backward_nchw_f32_ref(ViewF32 gy, MutViewF32 gx);

}  // namespace mqcalib
