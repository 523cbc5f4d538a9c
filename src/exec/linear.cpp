// mqcalib/src/exec/linear.cpp: fully connected layer, y[N,O] = x[N,I] w[O,I]^T + b, on the conv GEMM.
#include <cmath>
#include <string>

#include "exec/conv_gemm.h"
#include "exec/kernels.h"

namespace mqcalib {

namespace {

void check_linear(const ViewF32& x, const ViewF32& w, const MutViewF32& y) {
  if (x.shape.size() != 2 || w.shape.size() != 2 || y.shape.size() != 2)
    throw Error("linear: expected x [N,I], w [O,I], y [N,O], got " + shape_to_string(x.shape) + ", " +
                shape_to_string(w.shape) + ", " + shape_to_string(y.shape));
  if (x.shape[1] != w.shape[1])
    throw Error("linear: input features " + std::to_string(x.shape[1]) + " but weight " + shape_to_string(w.shape));
  if (y.shape[0] != x.shape[0] || y.shape[1] != w.shape[0])
    throw Error("linear: output buffer " + shape_to_string(y.shape) + " does not match [" + std::to_string(x.shape[0]) +
                ", " + std::to_string(w.shape[0]) + "]");
}

}  // namespace

// y [N, O] is the conv GEMM's output of N samples of O channels and 1 x 1 positions.
void linear_f32(ViewF32 x, ViewF32 w, const ConvEpilogue& ep, MutViewF32 y) {
  check_linear(x, w, y);
  const int64_t N = x.shape[0], I = x.shape[1], O = w.shape[0];
  if (N == 0 || O == 0) return;
  exec_detail::conv2d_gemm_nchw_f32(ViewF32{x.data, {N, I, 1, 1}}, ViewF32{w.data, {O, I, 1, 1}}, ep, Conv2dParams{},
                                    MutViewF32{y.data, {N, O, 1, 1}});
}

void linear_f32(ViewF32 x, ViewF32 w, const float* bias, MutViewF32 y) {
  ConvEpilogue ep;
  ep.bias = bias;
  linear_f32(x, w, ep, y);
}

void linear_f32_ref(ViewF32 x, ViewF32 w, const float* bias, MutViewF32 y) {
  check_linear(x, w, y);
  const int64_t N = x.shape[0], I = x.shape[1], O = w.shape[0];
  for (int64_t n = 0; n < N; ++n)
    for (int64_t o = 0; o < O; ++o) {
      float acc = 0.0f;
      for (int64_t i = 0; i < I; ++i) acc = std::fma(x.data[n * I + i], w.data[o * I + i], acc);
      y.data[n * O + o] = bias ? acc + bias[o] : acc;
    }
}

}  // namespace mqcalib
