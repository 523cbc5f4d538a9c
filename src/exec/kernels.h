// mqcalib/src/exec/kernels.h: float32 forward kernels of the executor, NCHW, row-major.
//
// Every fast kernel has a plain-loop reference twin `<name>_ref` (docs/STYLE.md) used by the tests.
// Fast kernels are deterministic at any thread count: every output is computed by one thread in an
// order fixed by the problem (conv/linear: one fma chain per output over the taps, exec/gemm_kernel.h;
// pointwise: elementwise; reductions: fixed chunks, src/core/parallel.h), so results never depend on
// the number of threads or on the instruction set the run-time dispatch picks (AVX2 / AVX-512).
// Fast and reference kernels are bit-identical (the tests check it).
//
// Output buffers are preallocated by the caller with the shape given by the *_output_shape helper.
// Unless stated, output must not alias input. Shape errors throw mqcalib::Error naming the kernel.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "core/quantize.h"
#include "core/tensor.h"

namespace mqcalib {

// ---------------------------------------------------------------------------------------------
// Convolution (conv.cpp, conv_gemm.cpp): x [N,C,H,W], w [O, C/groups, kh, kw], bias [O] or null,
// y [N,O,OH,OW].
struct Conv2dParams {
  int64_t stride_h = 1, stride_w = 1, pad_h = 0, pad_w = 0, dil_h = 1, dil_w = 1, groups = 1;
};

// OH = floor((H + 2*pad_h - dil_h*(kh-1) - 1) / stride_h) + 1 (PyTorch's Conv2d formula).
Shape conv2d_output_shape(const Shape& x, const Shape& w, const Conv2dParams&);

enum class Activation;
struct ActivationParams;

// What a conv (or linear) kernel applies to each output element e of channel o after its sum over
// the taps, in this order (each step optional):
//   v = acc + bias[o];  v = fq_pre(v);  v = v + residual[e];  v = fq_sum(v);  v = act(v);  v = fq_out(v)
// fq_* are per-tensor fake quantizations (core/quantize.h, the same arithmetic as fake_quantize_f32),
// act the kernels of activation_f32 and the add IEEE's: a fused conv gives the bits of the unfused ops.
// residual has y's shape and may be y's own buffer (each element is read before it is written).
struct ConvEpilogue {
  const float* bias = nullptr;
  const FakeQuantF32* fq_pre = nullptr;
  const float* residual = nullptr;
  const FakeQuantF32* fq_sum = nullptr;
  const Activation* act = nullptr;
  const ActivationParams* act_params = nullptr;  // with act; null: defaults
  const FakeQuantF32* fq_out = nullptr;
};

// Fast. Every output is one chain of fused multiply-adds over the taps k = (c, i, j) ascending, then
// the epilogue: the same bits at any thread count and on AVX2 or AVX-512 (exec/gemm_kernel.h).
//  - depthwise (C/groups == 1): a direct kernel per plane;
//  - otherwise a register-tiled GEMM, W [O, K] x X [K, columns], columns over every sample's output
//    positions: read in place from the input's zero-padded stride-phase planes when most columns
//    of the planes' grid are outputs (large maps), else packed from them per panel (small maps).
void conv2d_nchw_f32(ViewF32 x, ViewF32 w, const ConvEpilogue& ep, const Conv2dParams&, MutViewF32 y);
// The same with a bias alone.
void conv2d_nchw_f32(ViewF32 x, ViewF32 w, const float* bias, const Conv2dParams&, MutViewF32 y);
// Reference: y = bias + (sum over (c, i, j) in that order of std::fma, padding skipped), plain loops.
// Equal to the fast kernel bit for bit (a padded tap adds an exact +0 to a sum that is never -0).
void conv2d_nchw_f32_ref(ViewF32 x, ViewF32 w, const float* bias, const Conv2dParams&, MutViewF32 y);
// The reference epilogue (the steps above, plain loops) applied to y in place after the bias.
void conv_epilogue_nchw_f32_ref(const ConvEpilogue& ep, MutViewF32 y);

// ---------------------------------------------------------------------------------------------
// Linear (linear.cpp): x [N,I], w [O,I], bias [O] or null, y [N,O]; y = x w^T + b. The fast kernel
// is the conv GEMM (a 1x1 convolution of N samples of I channels), epilogue included; the reference
// sums i ascending with std::fma, so the twins agree bit for bit.
void linear_f32(ViewF32 x, ViewF32 w, const ConvEpilogue& ep, MutViewF32 y);
void linear_f32(ViewF32 x, ViewF32 w, const float* bias, MutViewF32 y);
void linear_f32_ref(ViewF32 x, ViewF32 w, const float* bias, MutViewF32 y);

// ---------------------------------------------------------------------------------------------
// Batch norm, inference form, unfolded (batch_norm.cpp): channel dim 1, any rank >= 2.
// y = (x - mean) / sqrt(var + eps) * gamma + beta; gamma/beta may be null (1 and 0).
void batch_norm_f32(ViewF32 x, const float* mean, const float* var, const float* gamma, const float* beta, float eps,
                    MutViewF32 y);
void batch_norm_f32_ref(ViewF32 x, const float* mean, const float* var, const float* gamma, const float* beta,
                        float eps, MutViewF32 y);

// ---------------------------------------------------------------------------------------------
// Pointwise nonlinearities (activation.cpp). y may alias x (in place). Formulas as PyTorch's:
//   Relu        max(x, 0)                          Relu6      min(max(x, 0), 6)
//   Hardtanh    min(max(x, min_val), max_val)      Sigmoid    1 / (1 + exp(-x))
//   Silu        x / (1 + exp(-x))                  Tanh       tanh(x)
//   Hardswish   x * min(max(x + 3, 0), 6) / 6      Hardsigmoid min(max(x + 3, 0), 6) / 6
//   GeluErf     x * 0.5 * (1 + erf(x / sqrt(2)))
//   GeluTanh    0.5 * x * (1 + tanh(sqrt(2/pi) * (x + 0.044715 x^3)))
// NaN propagates through the clamps.
enum class Activation { Relu, Relu6, Hardtanh, Silu, Sigmoid, Tanh, Hardswish, Hardsigmoid, GeluErf, GeluTanh };
struct ActivationParams {
  float min_val = -1.0f;  // hardtanh
  float max_val = 1.0f;   // hardtanh
};
void activation_f32(Activation, ViewF32 x, MutViewF32 y, const ActivationParams& = {});
// y[i] = f(x[i]) for i < n, serially (inside a parallel region: epilogues); the same loops as
// activation_f32, so the same bits. y may alias x.
void activation_span_f32(Activation, const float* x, float* y, int64_t n, const ActivationParams& = {});
void activation_f32_ref(Activation, ViewF32 x, MutViewF32 y, const ActivationParams& = {});

// ---------------------------------------------------------------------------------------------
// Binary elementwise with numpy broadcasting (binary.cpp). y has broadcast_shape(a, b); y may
// alias a when a already has the output shape.
enum class BinaryOp { Add, Mul };
Shape broadcast_shape(const Shape& a, const Shape& b);  // throws Error if not broadcastable
void binary_f32(BinaryOp, ViewF32 a, ViewF32 b, MutViewF32 y);
void binary_f32_ref(BinaryOp, ViewF32 a, ViewF32 b, MutViewF32 y);
// y = a (op) s; y may alias a.
void binary_scalar_f32(BinaryOp, ViewF32 a, float s, MutViewF32 y);
void binary_scalar_f32_ref(BinaryOp, ViewF32 a, float s, MutViewF32 y);

// ---------------------------------------------------------------------------------------------
// Pooling (pool.cpp), x [N,C,H,W].
struct Pool2dParams {
  int64_t kernel_h = 1, kernel_w = 1, stride_h = 1, stride_w = 1, pad_h = 0, pad_w = 0, dil_h = 1, dil_w = 1;
  bool ceil_mode = false;
  bool count_include_pad = true;  // avg pool only
};
// PyTorch's pooling_output_shape: out = floor_or_ceil((H + 2p - d(k-1) - 1) / s) + 1, and with
// ceil_mode the last window must start inside the input or the left padding.
Shape pool2d_output_shape(const Shape& x, const Pool2dParams&);
void max_pool2d_nchw_f32(ViewF32 x, const Pool2dParams&, MutViewF32 y);
void max_pool2d_nchw_f32_ref(ViewF32 x, const Pool2dParams&, MutViewF32 y);
// Window [oh*s - p, min(oh*s - p + k, H + p)) clipped to [0, H); divisor is the unclipped window
// size (count_include_pad) or the clipped one (PyTorch's avg_pool2d). dil must be 1.
void avg_pool2d_nchw_f32(ViewF32 x, const Pool2dParams&, MutViewF32 y);
void avg_pool2d_nchw_f32_ref(ViewF32 x, const Pool2dParams&, MutViewF32 y);
// Adaptive average pooling: window [floor(o*H/OH), ceil((o+1)*H/OH)) (PyTorch's start/end index).
void adaptive_avg_pool2d_nchw_f32(ViewF32 x, int64_t out_h, int64_t out_w, MutViewF32 y);
void adaptive_avg_pool2d_nchw_f32_ref(ViewF32 x, int64_t out_h, int64_t out_w, MutViewF32 y);

// ---------------------------------------------------------------------------------------------
// Reductions (reduce.cpp).
// Mean over `dims` (negative allowed, deduplicated); keepdim keeps them as size 1.
Shape mean_output_shape(const Shape& x, const std::vector<int64_t>& dims, bool keepdim);
void mean_f32(ViewF32 x, const std::vector<int64_t>& dims, bool keepdim, MutViewF32 y);
void mean_f32_ref(ViewF32 x, const std::vector<int64_t>& dims, bool keepdim, MutViewF32 y);
// Softmax along `axis`: exp(x - max) / sum exp(x - max).
void softmax_f32(ViewF32 x, int64_t axis, MutViewF32 y);
void softmax_f32_ref(ViewF32 x, int64_t axis, MutViewF32 y);

// ---------------------------------------------------------------------------------------------
// Layout (layout.cpp). Pure data movement, so fast and reference results are bit-identical.
int64_t normalize_axis(int64_t axis, int rank, const char* what);  // throws naming `what`
Shape cat_output_shape(const std::vector<Shape>& xs, int64_t axis);
void cat_f32(const std::vector<ViewF32>& xs, int64_t axis, MutViewF32 y);
void cat_f32_ref(const std::vector<ViewF32>& xs, int64_t axis, MutViewF32 y);
// Section sizes of torch.chunk(n, chunks): ceil(n / chunks) each, the last smaller; may give fewer
// than `chunks` sections (torch.chunk(6, 4) -> 2,2,2).
std::vector<int64_t> chunk_sizes(int64_t n, int64_t chunks);
// Splits x along axis into consecutive sections of the given sizes (sum must equal the dim).
void split_f32(ViewF32 x, int64_t axis, const std::vector<int64_t>& sizes, const std::vector<MutViewF32>& ys);
void split_f32_ref(ViewF32 x, int64_t axis, const std::vector<int64_t>& sizes, const std::vector<MutViewF32>& ys);
// y = x.permute(perm); y's shape is x's permuted.
Shape transpose_output_shape(const Shape& x, const std::vector<int64_t>& perm);
void transpose_f32(ViewF32 x, const std::vector<int64_t>& perm, MutViewF32 y);
void transpose_f32_ref(ViewF32 x, const std::vector<int64_t>& perm, MutViewF32 y);
// Shape of torch.flatten(x, start, end) and of x.reshape(dims) (one -1 inferred). Data unchanged.
Shape flatten_output_shape(const Shape& x, int64_t start_dim, int64_t end_dim);
Shape reshape_output_shape(const Shape& x, const std::vector<int64_t>& dims);

}  // namespace mqcalib
