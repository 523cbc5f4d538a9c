// mqcalib/src/exec/activation_scalar.h: internal header, the pointwise nonlinearities of one float
// (formulas in kernels.h, as PyTorch's). activation.cpp's tensor kernels and the fused
// reconstruction objective (reconstruction/layer_mse.cpp) both evaluate this one definition.
#pragma once

#include <cmath>

#include "exec/kernels.h"

namespace mqcalib::detail {

constexpr float kSqrtHalf = 0.70710678118654752440f;     // 1/sqrt(2), gelu (erf form)
constexpr float kSqrt2OverPi = 0.79788456080286535588f;  // sqrt(2/pi), gelu (tanh form)
constexpr float kGeluCubic = 0.044715f;                  // gelu (tanh form), Hendrycks & Gimpel

inline float clamp_f32(float v, float lo, float hi) { return v < lo ? lo : (v > hi ? hi : v); }

inline float activation_scalar_f32(Activation a, float v, const ActivationParams& p) {
  switch (a) {
    case Activation::Relu: return v < 0.0f ? 0.0f : v;
    case Activation::Relu6: return clamp_f32(v, 0.0f, 6.0f);
    case Activation::Hardtanh: return clamp_f32(v, p.min_val, p.max_val);
    case Activation::Silu: return v / (1.0f + std::exp(-v));
    case Activation::Sigmoid: return 1.0f / (1.0f + std::exp(-v));
    case Activation::Tanh: return std::tanh(v);
    case Activation::Hardswish: return v * clamp_f32(v + 3.0f, 0.0f, 6.0f) / 6.0f;
    case Activation::Hardsigmoid: return clamp_f32(v + 3.0f, 0.0f, 6.0f) / 6.0f;
    case Activation::GeluErf: return v * 0.5f * (1.0f + std::erf(v * kSqrtHalf));
    case Activation::GeluTanh: {
      const float inner = kSqrt2OverPi * (v + kGeluCubic * v * v * v);
      return 0.5f * v * (1.0f + std::tanh(inner));
    }
  }
  return v;
}

}  // namespace mqcalib::detail
