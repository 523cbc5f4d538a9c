// mqcalib/reconstruction/batch_norm_backward.h: input gradient of the inference batch norm of
// src/exec/kernels.h (batch_norm_f32, channel dim 1, running statistics fixed):
//   y = (x - mean[c]) / sqrt(var[c] + eps) * gamma[c] + beta[c]
//   gx = gy / sqrt(var[c] + eps) * gamma[c]         (gamma null: 1)
// The data-free synthesis (issue 11) runs unfolded graphs, whose BNs the gradient passes through.
// Per-element formula in the forward's order; the fast kernel runs it over fixed parallel chunks of
// planes: the twins are bit-identical. gx may alias gy.
#pragma once

#include "core/tensor.h"

namespace mqcalib {

void batch_norm_backward_f32(ViewF32 gy, const float* var, const float* gamma, float eps, MutViewF32 gx);
void batch_norm_backward_f32_ref(ViewF32 gy, const float* var, const float* gamma, float eps, MutViewF32 gx);

}  // namespace mqcalib
