// mqcalib/reconstruction/linear_backward.cpp: linear input / weight / bias gradients, fast and _ref.
#include "reconstruction/linear_backward.h"

#include <Eigen/Core>
#include <string>

#include "core/parallel.h"
#include "exec/eigen_gemm.h"

namespace mqcalib {

using MatRow = detail::MatRowF32;

namespace {

// Rows per chunk: fixed (never derived from the thread count).
constexpr int64_t kRowChunk = 16;

void check(const Shape& x, const Shape& w, const Shape& gy, const char* fn) {
  if (x.size() != 2 || w.size() != 2 || gy.size() != 2 || x[1] != w[1] || gy[0] != x[0] || gy[1] != w[0])
    throw Error(std::string(fn) + ": expected input [N,I], weight [O,I], gradient gy [N,O]; got input " +
                shape_to_string(x) + ", weight " + shape_to_string(w) + ", gy " + shape_to_string(gy));
}

}  // namespace

void linear_backward_input_f32(ViewF32 gy, ViewF32 w, MutViewF32 gx) {
  check(gx.shape, w.shape, gy.shape, "linear_backward_input");
  const int64_t N = gx.shape[0], I = gx.shape[1], O = w.shape[0];
  Eigen::Map<const MatRow> Wm(w.data, O, I);
  parallel_for_chunks(N, kRowChunk, [&](int64_t b, int64_t e, int64_t) {
    Eigen::Map<const MatRow> G(gy.data + b * O, e - b, O);
    Eigen::Map<MatRow> X(gx.data + b * I, e - b, I);
    X.noalias() = G * Wm;
  });
}

void linear_backward_input_f32_ref(ViewF32 gy, ViewF32 w, MutViewF32 gx) {
  check(gx.shape, w.shape, gy.shape, "linear_backward_input_ref");
  const int64_t N = gx.shape[0], I = gx.shape[1], O = w.shape[0];
  for (int64_t n = 0; n < N; ++n)
    for (int64_t i = 0; i < I; ++i) {
      float acc = 0.0f;
      for (int64_t o = 0; o < O; ++o) acc += gy.data[n * O + o] * w.data[o * I + i];
      gx.data[n * I + i] = acc;
    }
}

void linear_backward_weight_f32(ViewF32 x, ViewF32 gy, MutViewF32 gw, float* gbias) {
  check(x.shape, gw.shape, gy.shape, "linear_backward_weight");
  const int64_t N = x.shape[0], I = x.shape[1], O = gw.shape[0];
  Eigen::Map<const MatRow> X(x.data, N, I);
  Eigen::Map<const MatRow> G(gy.data, N, O);
  parallel_for_chunks(O, kRowChunk, [&](int64_t b, int64_t e, int64_t) {
    Eigen::Map<MatRow> Gw(gw.data + b * I, e - b, I);
    Gw.noalias() = G.middleCols(b, e - b).transpose() * X;
    if (gbias)
      for (int64_t o = b; o < e; ++o) {
        float s = 0.0f;
        for (int64_t n = 0; n < N; ++n) s += gy.data[n * O + o];
        gbias[o] = s;
      }
  });
}

void linear_backward_weight_f32_ref(ViewF32 x, ViewF32 gy, MutViewF32 gw, float* gbias) {
  check(x.shape, gw.shape, gy.shape, "linear_backward_weight_ref");
  const int64_t N = x.shape[0], I = x.shape[1], O = gw.shape[0];
  for (int64_t o = 0; o < O; ++o) {
    for (int64_t i = 0; i < I; ++i) {
      float acc = 0.0f;
      for (int64_t n = 0; n < N; ++n) acc += gy.data[n * O + o] * x.data[n * I + i];
      gw.data[o * I + i] = acc;
    }
    if (gbias) {
      float s = 0.0f;
      for (int64_t n = 0; n < N; ++n) s += gy.data[n * O + o];
      gbias[o] = s;
    }
  }
}

}  // namespace mqcalib
