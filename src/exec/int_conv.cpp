// mqcalib/src/exec/int_conv.cpp: exact int32 accumulation of convolutions and linear layers (see
// int_kernels.h). The fast kernels reuse the float32 kernels when float32 is exact for the layer,
// and a float64 GEMM otherwise: the result is the exact integer either way.
#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <string>

#include "core/parallel.h"
#include "exec/int_kernels.h"

namespace mqcalib {

namespace {

// Largest |partial sum| of K products of (x - zp_x) and (w - zp_w): below 2^24 every partial sum,
// in any order, is an integer float32 represents exactly.
constexpr double kF32ExactLimit = 16777216.0;  // 2^24

int64_t max_abs_shifted(const int32_t* v, int64_t n, int32_t zp) {
  int64_t m = 0;
  for (int64_t i = 0; i < n; ++i) m = std::max<int64_t>(m, std::llabs(static_cast<int64_t>(v[i]) - zp));
  return m;
}

int32_t zp_of(const std::vector<int32_t>& zp_w, int64_t o) {
  return zp_w.size() == 1 ? zp_w[0] : zp_w.at(static_cast<size_t>(o));
}

int64_t max_abs_weights(const int32_t* w, int64_t O, int64_t per_out, const std::vector<int32_t>& zp_w) {
  int64_t m = 0;
  for (int64_t o = 0; o < O; ++o) m = std::max(m, max_abs_shifted(w + o * per_out, per_out, zp_of(zp_w, o)));
  return m;
}

void check_zp(const std::vector<int32_t>& zp_w, int64_t O, const char* what) {
  if (zp_w.size() != 1 && static_cast<int64_t>(zp_w.size()) != O)
    throw Error(std::string(what) + ": " + std::to_string(zp_w.size()) + " weight zero points for " +
                std::to_string(O) + " output channels");
}

// Shifted operands as float (x - zp_x, w - zp_w).
std::vector<float> shifted_f32(const int32_t* v, int64_t n, int64_t per, const std::vector<int32_t>& zp) {
  std::vector<float> f(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) f[static_cast<size_t>(i)] = static_cast<float>(v[i] - zp_of(zp, i / per));
  return f;
}

// y = round-trip of an exact float/double integer result plus the bias.
template <class T>
void finish(const T* y, int64_t n, int64_t O, int64_t inner, const int32_t* bias, int32_t* acc) {
  for (int64_t i = 0; i < n; ++i)
    acc[i] = static_cast<int32_t>(static_cast<int64_t>(y[i]) + (bias ? bias[(i / inner) % O] : 0));
}

using MatRowF64 = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// Float64 path: per (sample, group) unit, im2col of the shifted input then one GEMM.
void conv_f64(const int32_t* x, const Shape& xs, int32_t zp_x, const int32_t* w, const Shape& ws,
              const std::vector<int32_t>& zp_w, const Conv2dParams& p, const Shape& ys, double* y) {
  const int64_t N = xs[0], C = xs[1], H = xs[2], W = xs[3], O = ws[0], KH = ws[2], KW = ws[3];
  const int64_t G = p.groups, Cg = C / G, Og = O / G, OH = ys[2], OW = ys[3], K = Cg * KH * KW, P = OH * OW;
  std::vector<double> wd(static_cast<size_t>(O * K));
  for (int64_t i = 0; i < O * K; ++i) wd[static_cast<size_t>(i)] = static_cast<double>(w[i] - zp_of(zp_w, i / K));
  parallel_for_chunks(N * G, 1, [&](int64_t b, int64_t e, int64_t) {
    std::vector<double> col(static_cast<size_t>(K * P));
    for (int64_t u = b; u < e; ++u) {
      const int64_t n = u / G, g = u % G;
      for (int64_t c = 0; c < Cg; ++c)
        for (int64_t i = 0; i < KH; ++i)
          for (int64_t j = 0; j < KW; ++j) {
            double* cr = col.data() + ((c * KH + i) * KW + j) * P;
            const int32_t* xp = x + (n * C + g * Cg + c) * H * W;
            for (int64_t oh = 0; oh < OH; ++oh)
              for (int64_t ow = 0; ow < OW; ++ow) {
                const int64_t ih = oh * p.stride_h - p.pad_h + i * p.dil_h,
                              iw = ow * p.stride_w - p.pad_w + j * p.dil_w;
                const bool in = ih >= 0 && ih < H && iw >= 0 && iw < W;
                cr[oh * OW + ow] = in ? static_cast<double>(xp[ih * W + iw] - zp_x) : 0.0;
              }
          }
      Eigen::Map<const MatRowF64> A(wd.data() + g * Og * K, Og, K);
      Eigen::Map<const MatRowF64> B(col.data(), K, P);
      Eigen::Map<MatRowF64> Y(y + (n * O + g * Og) * P, Og, P);
      Y.noalias() = A * B;
    }
  });
}

}  // namespace

void conv2d_nchw_i32(const int32_t* x, const Shape& xs, int32_t zp_x, const int32_t* w, const Shape& ws,
                     const std::vector<int32_t>& zp_w, const int32_t* bias, const Conv2dParams& p, int32_t* acc) {
  const Shape ys = conv2d_output_shape(xs, ws, p);  // validates the shapes
  check_zp(zp_w, ws[0], "conv2d_i32");
  const int64_t per_out = ws[1] * ws[2] * ws[3];
  const double bound = static_cast<double>(per_out) * static_cast<double>(max_abs_shifted(x, numel(xs), zp_x)) *
                       static_cast<double>(max_abs_weights(w, ws[0], per_out, zp_w));
  const int64_t n = numel(ys), inner = ys[2] * ys[3];
  if (bound < kF32ExactLimit) {
    const std::vector<float> xf = shifted_f32(x, numel(xs), numel(xs), {zp_x});
    const std::vector<float> wf = shifted_f32(w, numel(ws), per_out, zp_w);
    std::vector<float> y(static_cast<size_t>(n));
    conv2d_nchw_f32(ViewF32{xf.data(), xs}, ViewF32{wf.data(), ws}, nullptr, p, MutViewF32{y.data(), ys});
    finish(y.data(), n, ys[1], inner, bias, acc);
    return;
  }
  std::vector<double> y(static_cast<size_t>(n));
  conv_f64(x, xs, zp_x, w, ws, zp_w, p, ys, y.data());
  finish(y.data(), n, ys[1], inner, bias, acc);
}

void conv2d_nchw_i32_ref(const int32_t* x, const Shape& xs, int32_t zp_x, const int32_t* w, const Shape& ws,
                         const std::vector<int32_t>& zp_w, const int32_t* bias, const Conv2dParams& p, int32_t* acc) {
  const Shape ys = conv2d_output_shape(xs, ws, p);
  check_zp(zp_w, ws[0], "conv2d_i32_ref");
  const int64_t N = xs[0], C = xs[1], H = xs[2], W = xs[3], O = ws[0], KH = ws[2], KW = ws[3];
  const int64_t Cg = C / p.groups, Og = O / p.groups, OH = ys[2], OW = ys[3];
  for (int64_t n = 0; n < N; ++n)
    for (int64_t o = 0; o < O; ++o)
      for (int64_t oh = 0; oh < OH; ++oh)
        for (int64_t ow = 0; ow < OW; ++ow) {
          int64_t s = bias ? bias[o] : 0;
          const int64_t g = o / Og;
          for (int64_t c = 0; c < Cg; ++c)
            for (int64_t i = 0; i < KH; ++i)
              for (int64_t j = 0; j < KW; ++j) {
                const int64_t ih = oh * p.stride_h - p.pad_h + i * p.dil_h,
                              iw = ow * p.stride_w - p.pad_w + j * p.dil_w;
                if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
                const int64_t xv = x[((n * C + g * Cg + c) * H + ih) * W + iw] - zp_x;
                const int64_t wv = w[((o * Cg + c) * KH + i) * KW + j] - zp_of(zp_w, o);
                s += xv * wv;
              }
          acc[((n * O + o) * OH + oh) * OW + ow] = static_cast<int32_t>(s);
        }
}

void linear_i32(const int32_t* x, int64_t M, int64_t I, int32_t zp_x, const int32_t* w, int64_t O,
                const std::vector<int32_t>& zp_w, const int32_t* bias, int32_t* acc) {
  check_zp(zp_w, O, "linear_i32");
  const double bound = static_cast<double>(I) * static_cast<double>(max_abs_shifted(x, M * I, zp_x)) *
                       static_cast<double>(max_abs_weights(w, O, I, zp_w));
  if (bound < kF32ExactLimit) {
    const std::vector<float> xf = shifted_f32(x, M * I, M * I, {zp_x});
    const std::vector<float> wf = shifted_f32(w, O * I, I, zp_w);
    std::vector<float> y(static_cast<size_t>(M * O));
    linear_f32(ViewF32{xf.data(), {M, I}}, ViewF32{wf.data(), {O, I}}, nullptr, MutViewF32{y.data(), {M, O}});
    finish(y.data(), M * O, O, 1, bias, acc);
    return;
  }
  std::vector<double> xd(static_cast<size_t>(M * I)), wd(static_cast<size_t>(O * I)), y(static_cast<size_t>(M * O));
  for (int64_t i = 0; i < M * I; ++i) xd[static_cast<size_t>(i)] = static_cast<double>(x[i] - zp_x);
  for (int64_t i = 0; i < O * I; ++i) wd[static_cast<size_t>(i)] = static_cast<double>(w[i] - zp_of(zp_w, i / I));
  Eigen::Map<const MatRowF64> X(xd.data(), M, I), Wm(wd.data(), O, I);
  Eigen::Map<MatRowF64> Y(y.data(), M, O);
  Y.noalias() = X * Wm.transpose();
  finish(y.data(), M * O, O, 1, bias, acc);
}

void linear_i32_ref(const int32_t* x, int64_t M, int64_t I, int32_t zp_x, const int32_t* w, int64_t O,
                    const std::vector<int32_t>& zp_w, const int32_t* bias, int32_t* acc) {
  check_zp(zp_w, O, "linear_i32_ref");
  for (int64_t m = 0; m < M; ++m)
    for (int64_t o = 0; o < O; ++o) {
      int64_t s = bias ? bias[o] : 0;
      for (int64_t i = 0; i < I; ++i)
        s += (static_cast<int64_t>(x[m * I + i]) - zp_x) * (static_cast<int64_t>(w[o * I + i]) - zp_of(zp_w, o));
      acc[m * O + o] = static_cast<int32_t>(s);
    }
}

}  // namespace mqcalib
