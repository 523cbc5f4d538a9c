// mqcalib/src/exec/conv.cpp: 2-D convolution, NCHW float32: the entry point, the depthwise kernel (the
// GEMM path is conv_gemm.cpp) and the reference twins.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "core/parallel.h"
#include "exec/conv_gemm.h"
#include "exec/kernels.h"

namespace mqcalib {

namespace {

void check_conv(const Shape& x, const Shape& w, const Conv2dParams& p) {
  if (x.size() != 4) throw Error("conv2d: input must be [N,C,H,W], got " + shape_to_string(x));
  if (w.size() != 4) throw Error("conv2d: weight must be [O,C/groups,kh,kw], got " + shape_to_string(w));
  if (p.groups < 1 || p.stride_h < 1 || p.stride_w < 1 || p.dil_h < 1 || p.dil_w < 1 || p.pad_h < 0 || p.pad_w < 0)
    throw Error("conv2d: invalid stride/padding/dilation/groups");
  if (x[1] % p.groups != 0 || w[0] % p.groups != 0)
    throw Error("conv2d: channels (in " + std::to_string(x[1]) + ", out " + std::to_string(w[0]) +
                ") not divisible by groups " + std::to_string(p.groups));
  if (w[1] * p.groups != x[1])
    throw Error("conv2d: input has " + std::to_string(x[1]) + " channels but weight " + shape_to_string(w) +
                " with groups " + std::to_string(p.groups) + " expects " + std::to_string(w[1] * p.groups));
}

void check_out(const Shape& expected, const MutViewF32& y) {
  if (y.shape != expected)
    throw Error("conv2d: output buffer " + shape_to_string(y.shape) + " but expected " + shape_to_string(expected));
}

}  // namespace

Shape conv2d_output_shape(const Shape& x, const Shape& w, const Conv2dParams& p) {
  check_conv(x, w, p);
  const int64_t oh = (x[2] + 2 * p.pad_h - p.dil_h * (w[2] - 1) - 1) / p.stride_h + 1;
  const int64_t ow = (x[3] + 2 * p.pad_w - p.dil_w * (w[3] - 1) - 1) / p.stride_w + 1;
  if (x[2] + 2 * p.pad_h - p.dil_h * (w[2] - 1) - 1 < 0 || x[3] + 2 * p.pad_w - p.dil_w * (w[3] - 1) - 1 < 0)
    throw Error("conv2d: input " + shape_to_string(x) + " smaller than the (dilated) kernel " + shape_to_string(w));
  return {x[0], w[0], oh, ow};
}

void conv2d_nchw_f32(ViewF32 x, ViewF32 w, const ConvEpilogue& ep, const Conv2dParams& p, MutViewF32 y) {
  check_out(conv2d_output_shape(x.shape, w.shape, p), y);
  if (y.size() == 0) return;
  // (one input channel, e.g. a grayscale stem, is a GEMM: every output channel reads it)
  const bool depthwise = w.shape[1] == 1 && p.groups == x.shape[1] && x.shape[1] > 1;
  if (depthwise && w.shape[0] == x.shape[1] &&
      exec_detail::depthwise_prefers_channels_last(x.shape, w.shape, p, y.shape))
    exec_detail::conv2d_depthwise_cl_nchw_f32(x, w, ep, p, y);
  else if (depthwise)
    exec_detail::conv2d_depthwise_nchw_f32(x, w, ep, p, y);
  else
    exec_detail::conv2d_gemm_nchw_f32(x, w, ep, p, y);
}

void conv2d_nchw_f32(ViewF32 x, ViewF32 w, const float* bias, const Conv2dParams& p, MutViewF32 y) {
  ConvEpilogue ep;
  ep.bias = bias;
  conv2d_nchw_f32(x, w, ep, p, y);
}

void conv2d_nchw_f32_ref(ViewF32 x, ViewF32 w, const float* bias, const Conv2dParams& p, MutViewF32 y) {
  check_out(conv2d_output_shape(x.shape, w.shape, p), y);
  const int64_t N = x.shape[0], C = x.shape[1], H = x.shape[2], W = x.shape[3];
  const int64_t O = w.shape[0], KH = w.shape[2], KW = w.shape[3];
  const int64_t OH = y.shape[2], OW = y.shape[3];
  const int64_t Cg = C / p.groups, Og = O / p.groups;
  for (int64_t n = 0; n < N; ++n)
    for (int64_t o = 0; o < O; ++o) {
      const int64_t g = o / Og;
      for (int64_t oh = 0; oh < OH; ++oh)
        for (int64_t ow = 0; ow < OW; ++ow) {
          float acc = 0.0f;
          for (int64_t c = 0; c < Cg; ++c)
            for (int64_t i = 0; i < KH; ++i) {
              const int64_t ih = oh * p.stride_h - p.pad_h + i * p.dil_h;
              if (ih < 0 || ih >= H) continue;
              for (int64_t j = 0; j < KW; ++j) {
                const int64_t iw = ow * p.stride_w - p.pad_w + j * p.dil_w;
                if (iw < 0 || iw >= W) continue;
                acc = std::fma(x.data[((n * C + g * Cg + c) * H + ih) * W + iw],
                               w.data[((o * Cg + c) * KH + i) * KW + j], acc);
              }
            }
          y.data[((n * O + o) * OH + oh) * OW + ow] = bias ? acc + bias[o] : acc;
        }
    }
}

// Plain loops, one element at a time, in the order of ConvEpilogue's formula (after the bias).
void conv_epilogue_nchw_f32_ref(const ConvEpilogue& ep, MutViewF32 y) {
  const ActivationParams ap = ep.act_params ? *ep.act_params : ActivationParams{};
  for (int64_t e = 0; e < y.size(); ++e) {
    float v = y.data[e];
    if (ep.fq_pre) fake_quantize_span_f32(*ep.fq_pre, &v, &v, 1);
    if (ep.residual) v = v + ep.residual[e];
    if (ep.fq_sum) fake_quantize_span_f32(*ep.fq_sum, &v, &v, 1);
    if (ep.act) activation_f32_ref(*ep.act, ViewF32{&v, {1}}, MutViewF32{&v, {1}}, ap);
    if (ep.fq_out) fake_quantize_span_f32(*ep.fq_out, &v, &v, 1);
    y.data[e] = v;
  }
}

}  // namespace mqcalib
