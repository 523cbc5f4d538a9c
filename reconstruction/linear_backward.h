// mqcalib/reconstruction/linear_backward.h: gradients of y = x w^T + b (linear_f32, src/exec/kernels.h).
//
// x [N,I], w [O,I], gy = dL/dy [N,O]:
//   gx[n,i] = sum_o gy[n,o] * w[o,i]        gw[o,i] = sum_n gy[n,o] * x[n,i]        gb[o] = sum_n gy[n,o]
// Outputs are overwritten. Determinism: gx is split over fixed chunks of rows n, gw and gb over fixed
// chunks of rows o; each output element is computed by exactly one chunk (no cross-chunk reduction),
// with single-threaded Eigen GEMMs, so results do not depend on the thread count.
#pragma once

#include "core/tensor.h"

namespace mqcalib {

void linear_backward_input_f32(ViewF32 gy, ViewF32 w, MutViewF32 gx);
void linear_backward_input_f32_ref(ViewF32 gy, ViewF32 w, MutViewF32 gx);

// gbias may be null.
void linear_backward_weight_f32(ViewF32 x, ViewF32 gy, MutViewF32 gw, float* gbias);
void linear_backward_weight_f32_ref(ViewF32 x, ViewF32 gy, MutViewF32 gw, float* gbias);

}  // namespace mqcalib
