// mqcalib/reconstruction/layer_mse.h: the data term of a layer-wise reconstruction and its weight
// gradient, in one fused pass (AdaRound's rec, reconstruction/adaround.h). For a batch x of N
// samples, a weight W (the layer's shape) and a target t of the layer's output shape:
//   z = conv2d_or_linear(x, W) + b,   y = f(z)      (f the fused activation, identity if none)
//   rec = sum over n, o, p of (y - t)^2 / M,          M = N * P, the elements per output channel
//   gw  = d rec / dW = sum over n, o, p of 2 (y - t) f'(z) / M * dz/dW
// with f' as reconstruction/activation_backward.h defines it at the kinks.
//
// The fast kernel never holds z, y or the output gradient for the whole batch. The batch is cut into
// fixed chunks of samples (sizes from the shapes only, never from the thread count). A chunk is
// lowered to columns once (im2col, sized to stay in a core's L2) and the columns feed both the
// forward GEMM  Z = W col  and, after the loss and f' are applied to Z in place, the gradient GEMM
// gW_chunk = gZ col^T. Depthwise convs use a zero-padded, stride-phase-split copy of each input
// plane instead, so every tap is a contiguous axpy (forward) and dot product (gradient). The chunks'
// partial gradients and losses are summed afterwards in chunk order: bit-identical at any thread
// count. The _ref twin composes the reference kernels (conv2d_nchw_f32_ref / linear_f32_ref,
// activation_f32_ref, activation_backward_f32_ref, conv2d_backward_weight_nchw_f32_ref /
// linear_backward_weight_f32_ref) and materialises every intermediate.
#pragma once

#include "core/tensor.h"
#include "reconstruction/layer_spec.h"

namespace mqcalib {

// Which kernel layer_mse_f32 runs for `layer` on inputs of shape x (for tests and diagnostics):
// direct stride-phase conv, im2col + GEMM conv, channels-last depthwise, or linear.
enum class LayerMsePath { ConvDirect, ConvIm2colGemm, Depthwise, Linear };
LayerMsePath layer_mse_path(const LayerSpec& layer, const Shape& x);

// Output shape of `layer` for an input of shape x ([N, C, H, W] conv, [N, I] linear); throws
// mqcalib::Error naming the layer on a mismatch.
Shape layer_output_shape(const LayerSpec& layer, const Shape& x);

// rec for the weight `weight` (layer.weight's shape; layer.weight's own data is not read), and
// d rec / dW into gw (same size) unless gw is null. Throws naming the layer on bad shapes, or when a
// gradient is asked through an activation without a backward (GELU).
double layer_mse_f32(const LayerSpec& layer, const float* weight, ViewF32 x, ViewF32 target, float* gw);
double layer_mse_f32_ref(const LayerSpec& layer, const float* weight, ViewF32 x, ViewF32 target, float* gw);

}  // namespace mqcalib
