// mqcalib/src/exec/linear.cpp: fully connected layer, y[N,O] = x[N,I] w[O,I]^T + b.
#include <string>

#include "core/parallel.h"
#include "exec/eigen_gemm.h"
#include "exec/kernels.h"

namespace mqcalib {

namespace {

// Rows per parallel chunk: fixed, so the GEMM shapes (and sums) never depend on the thread count.
constexpr int64_t kLinearRowChunk = 16;

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

void linear_f32(ViewF32 x, ViewF32 w, const float* bias, MutViewF32 y) {
  check_linear(x, w, y);
  const int64_t N = x.shape[0], I = x.shape[1], O = w.shape[0];
  if (N == 0 || O == 0) return;
  parallel_for_chunks(N, kLinearRowChunk, [&](int64_t b, int64_t e, int64_t) {
    float* yb = y.data + b * O;
    detail::gemm_rm_bt_f32(x.data + b * I, w.data, yb, e - b, I, O);
    if (bias)
      for (int64_t r = 0; r < e - b; ++r)
        for (int64_t o = 0; o < O; ++o) yb[r * O + o] += bias[o];
  });
}

void linear_f32_ref(ViewF32 x, ViewF32 w, const float* bias, MutViewF32 y) {
  check_linear(x, w, y);
  const int64_t N = x.shape[0], I = x.shape[1], O = w.shape[0];
  for (int64_t n = 0; n < N; ++n)
    for (int64_t o = 0; o < O; ++o) {
      float acc = 0.0f;
      for (int64_t i = 0; i < I; ++i) acc += x.data[n * I + i] * w.data[o * I + i];
      y.data[n * O + o] = acc + (bias ? bias[o] : 0.0f);
    }
}

}  // namespace mqcalib
