// mqcalib/tests/exec/test_util.h: random tensors and comparisons for the exec tests.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>

#include "core/tensor.h"
#include "exec/kernels.h"

namespace mqcalib::test {

// Conv2dParams with the same stride, padding and dilation on both axes.
inline Conv2dParams conv_params(int64_t stride, int64_t pad, int64_t dil = 1, int64_t groups = 1) {
  Conv2dParams p;
  p.stride_h = p.stride_w = stride;
  p.pad_h = p.pad_w = pad;
  p.dil_h = p.dil_w = dil;
  p.groups = groups;
  return p;
}

inline TensorF32 random_tensor(const Shape& s, uint32_t seed, float lo = -1.0f, float hi = 1.0f) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(lo, hi);
  TensorF32 t(s);
  for (int64_t i = 0; i < t.size(); ++i) t[i] = u(rng);
  return t;
}

inline float max_abs(const float* a, int64_t n) {
  float m = 0.0f;
  for (int64_t i = 0; i < n; ++i) m = std::max(m, std::fabs(a[i]));
  return m;
}

// max|a - b| / max(max|b|, 1e-30)
inline double max_rel_diff(const TensorF32& a, const TensorF32& b) {
  if (a.shape() != b.shape()) return 1e30;
  double d = 0.0;
  for (int64_t i = 0; i < a.size(); ++i) d = std::max(d, std::fabs(static_cast<double>(a[i]) - b[i]));
  return d / std::max<double>(max_abs(b.data(), b.size()), 1e-30);
}

inline bool bit_identical(const TensorF32& a, const TensorF32& b) {
  return a.shape() == b.shape() && std::memcmp(a.data(), b.data(), sizeof(float) * static_cast<size_t>(a.size())) == 0;
}

}  // namespace mqcalib::test
