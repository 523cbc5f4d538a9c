// mqcalib/reconstruction/activation_backward.h: gradients of the pointwise nonlinearities of
// src/exec/kernels.h, given the pre-activation x and gy = dL/dy:  gx = gy * f'(x), with f' as
// PyTorch's autograd defines it at the kinks (the subgradient its backward kernels return):
//   Relu       f' = 1 if x > 0 else 0                               (threshold_backward)
//   Relu6      f' = 1 if 0 < x < 6 else 0                           (hardtanh_backward, strict)
//   Hardtanh   f' = 1 if min_val < x < max_val else 0               (hardtanh_backward, strict)
//   Sigmoid    f' = s (1 - s),   s = 1 / (1 + exp(-x))
//   Tanh       f' = 1 - tanh(x)^2
//   Silu       f' = s (1 + x (1 - s))
//   Hardswish  f' = 0 if x < -3;  (2x + 3) / 6 if x <= 3;  1 otherwise   (hardswish_backward)
//   Hardsigmoid f' = 1/6 if -3 < x < 3 else 0
// GELU is not supported (throws mqcalib::Error naming the activation). gx may alias gy. The fast
// kernel is the reference formula over fixed parallel chunks: the twins are bit-identical.
#pragma once

#include "core/tensor.h"
#include "exec/kernels.h"

namespace mqcalib {

void activation_backward_f32(Activation, ViewF32 x, ViewF32 gy, MutViewF32 gx, const ActivationParams& = {});
void activation_backward_f32_ref(Activation, ViewF32 x, ViewF32 gy, MutViewF32 gx, const ActivationParams& = {});

// f'(x) of one element (the formula above), used by both twins.
float activation_derivative_f32(Activation, float x, const ActivationParams&);

}  // namespace mqcalib
