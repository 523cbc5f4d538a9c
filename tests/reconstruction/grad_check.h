// mqcalib/tests/reconstruction/grad_check.h: double-precision reference forwards (plain loops, the
// formulas of src/exec/kernels.h) and central finite differences, for the backward-kernel tests.
#pragma once

#include <algorithm>
#include <cmath>
#include <functional>
#include <random>
#include <vector>

#include "core/tensor.h"
#include "exec/kernels.h"

namespace mqcalib::test {

using VecD = std::vector<double>;

// Central-difference step in double precision: truncation O(h^2) and round-off O(eps / h) both far
// below the float32 gradients under test.
constexpr double kFdStep = 1e-6;

inline VecD to_double(const TensorF32& t) { return VecD(t.vec().begin(), t.vec().end()); }

// Central differences of the scalar f at every coordinate of x.
inline VecD finite_diff(const std::function<double(const VecD&)>& f, VecD x, double h = kFdStep) {
  VecD g(x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    const double x0 = x[i];
    x[i] = x0 + h;
    const double fp = f(x);
    x[i] = x0 - h;
    const double fm = f(x);
    x[i] = x0;
    g[i] = (fp - fm) / (2.0 * h);
  }
  return g;
}

inline double dot(const VecD& a, const VecD& b) {
  double s = 0.0;
  for (size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
  return s;
}

// max |a - b| / max(max |b|, floor) with a in float.
inline double rel_err(const TensorF32& a, const VecD& b, double floor = 1e-12) {
  double d = 0.0, m = floor;
  for (size_t i = 0; i < b.size(); ++i) {
    d = std::max(d, std::fabs(static_cast<double>(a[static_cast<int64_t>(i)]) - b[i]));
    m = std::max(m, std::fabs(b[i]));
  }
  return d / m;
}

inline VecD conv2d_d(const VecD& x, const Shape& xs, const VecD& w, const Shape& ws, const VecD* b,
                     const Conv2dParams& p) {
  const Shape ys = conv2d_output_shape(xs, ws, p);
  const int64_t N = xs[0], C = xs[1], H = xs[2], W = xs[3], O = ws[0], KH = ws[2], KW = ws[3];
  const int64_t OH = ys[2], OW = ys[3], Cg = C / p.groups, Og = O / p.groups;
  VecD y(static_cast<size_t>(numel(ys)));
  for (int64_t n = 0; n < N; ++n)
    for (int64_t o = 0; o < O; ++o)
      for (int64_t oh = 0; oh < OH; ++oh)
        for (int64_t ow = 0; ow < OW; ++ow) {
          double acc = b ? (*b)[static_cast<size_t>(o)] : 0.0;
          for (int64_t c = 0; c < Cg; ++c)
            for (int64_t i = 0; i < KH; ++i)
              for (int64_t j = 0; j < KW; ++j) {
                const int64_t ih = oh * p.stride_h - p.pad_h + i * p.dil_h,
                              iw = ow * p.stride_w - p.pad_w + j * p.dil_w;
                if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
                acc += x[static_cast<size_t>(((n * C + (o / Og) * Cg + c) * H + ih) * W + iw)] *
                       w[static_cast<size_t>(((o * Cg + c) * KH + i) * KW + j)];
              }
          y[static_cast<size_t>(((n * O + o) * OH + oh) * OW + ow)] = acc;
        }
  return y;
}

inline VecD linear_d(const VecD& x, const Shape& xs, const VecD& w, const Shape& ws, const VecD* b) {
  const int64_t N = xs[0], I = xs[1], O = ws[0];
  VecD y(static_cast<size_t>(N * O));
  for (int64_t n = 0; n < N; ++n)
    for (int64_t o = 0; o < O; ++o) {
      double acc = b ? (*b)[static_cast<size_t>(o)] : 0.0;
      for (int64_t i = 0; i < I; ++i) acc += x[static_cast<size_t>(n * I + i)] * w[static_cast<size_t>(o * I + i)];
      y[static_cast<size_t>(n * O + o)] = acc;
    }
  return y;
}

inline double activation_d(Activation a, double x, const ActivationParams& p = {}) {
  const double s = 1.0 / (1.0 + std::exp(-x));
  switch (a) {
    case Activation::Relu:
      return std::max(x, 0.0);
    case Activation::Relu6:
      return std::min(std::max(x, 0.0), 6.0);
    case Activation::Hardtanh:
      return std::min(std::max(x, static_cast<double>(p.min_val)), static_cast<double>(p.max_val));
    case Activation::Sigmoid:
      return s;
    case Activation::Tanh:
      return std::tanh(x);
    case Activation::Silu:
      return x * s;
    case Activation::Hardswish:
      return x * std::min(std::max(x + 3.0, 0.0), 6.0) / 6.0;
    case Activation::Hardsigmoid:
      return std::min(std::max(x + 3.0, 0.0), 6.0) / 6.0;
    default:
      return NAN;
  }
}

// Random values in [lo, hi) at least `gap` away from every kink.
inline TensorF32 random_away_from(const Shape& s, uint32_t seed, float lo, float hi, const std::vector<float>& kinks,
                                  float gap = 1e-3f) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(lo, hi);
  TensorF32 t(s);
  for (int64_t i = 0; i < t.size(); ++i) {
    float v;
    bool ok;
    do {
      v = u(rng);
      ok = true;
      for (float k : kinks) ok = ok && std::fabs(v - k) >= gap;
    } while (!ok);
    t[i] = v;
  }
  return t;
}

}  // namespace mqcalib::test
