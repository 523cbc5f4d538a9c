// mqcalib/src/exec/activation_scalar.h: internal header, the pointwise nonlinearities of one float
// (formulas in kernels.h, as PyTorch's). activation.cpp's tensor kernels and the fused
// reconstruction objective (reconstruction/layer_mse.cpp) both evaluate this one definition.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "exec/kernels.h"

namespace mqcalib::detail {

constexpr float kSqrtHalf = 0.70710678118654752440f;     // 1/sqrt(2), gelu (erf form)
constexpr float kSqrt2OverPi = 0.79788456080286535588f;  // sqrt(2/pi), gelu (tanh form)
constexpr float kGeluCubic = 0.044715f;                  // gelu (tanh form), Hendrycks & Gimpel

inline float clamp_f32(float v, float lo, float hi) { return v < lo ? lo : (v > hi ? hi : v); }

inline float bits_to_f32(int32_t b) {
  float f;
  std::memcpy(&f, &b, sizeof f);
  return f;
}
inline int32_t f32_to_bits(float f) {
  int32_t b;
  std::memcpy(&b, &f, sizeof b);
  return b;
}

// exp(x) within 1 ulp of std::exp over the whole float range (checked exhaustively on a dense grid of
// [-110, 95] by tests/exec/test_kernels.cpp), written branch-free in plain float/int32 operations so
// a loop over it vectorizes (activation.cpp is built with -fno-trapping-math for that; the values do
// not depend on it). Cephes' expf: x = n ln2 + r with n = round(x / ln2) (the 1.5 * 2^23 rounding
// trick), |r| <= ln2 / 2 by a two-part ln2, exp(r) by its degree-7 minimax polynomial, times 2^n as
// two exact powers of two (so results reach the denormals and overflow to inf). x is first clamped
// to [-104, 89], where exp is 0 and inf in float; NaN stays NaN.
inline float exp_f32(float x) {
  constexpr float kRound = 12582912.0f;  // 1.5 * 2^23: adding it rounds to an integer
  const float xc = std::min(std::max(x, -104.0f), 89.0f);
  const float nr = xc * 1.44269504088896341f + kRound;
  const float n = nr - kRound;
  const int32_t ni = f32_to_bits(nr) - f32_to_bits(kRound);
  const float r = (xc - n * 0.693359375f) - n * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * (r * r) + r + 1.0f;
  const int32_t n1 = ni >> 1;  // ni in [-150, 129]: 2^n1 and 2^(ni - n1) are normal floats
  // The exponent fields are shifted as unsigned: a NaN x gives a meaningless ni (the result is NaN
  // through p all the same), whose signed shift would be undefined (UBSan).
  auto pow2 = [](int32_t e) { return bits_to_f32(static_cast<int32_t>(static_cast<uint32_t>(e + 127) << 23)); };
  return p * pow2(n1) * pow2(ni - n1);
}

inline float activation_scalar_f32(Activation a, float v, const ActivationParams& p) {
  switch (a) {
    case Activation::Relu:
      return v < 0.0f ? 0.0f : v;
    case Activation::Relu6:
      return clamp_f32(v, 0.0f, 6.0f);
    case Activation::Hardtanh:
      return clamp_f32(v, p.min_val, p.max_val);
    case Activation::Silu:
      return v / (1.0f + exp_f32(-v));
    case Activation::Sigmoid:
      return 1.0f / (1.0f + exp_f32(-v));
    case Activation::Tanh:
      return std::tanh(v);
    case Activation::Hardswish:
      return v * clamp_f32(v + 3.0f, 0.0f, 6.0f) / 6.0f;
    case Activation::Hardsigmoid:
      return clamp_f32(v + 3.0f, 0.0f, 6.0f) / 6.0f;
    case Activation::GeluErf:
      return v * 0.5f * (1.0f + std::erf(v * kSqrtHalf));
    case Activation::GeluTanh: {
      const float inner = kSqrt2OverPi * (v + kGeluCubic * v * v * v);
      return 0.5f * v * (1.0f + std::tanh(inner));
    }
  }
  return v;
}

}  // namespace mqcalib::detail
