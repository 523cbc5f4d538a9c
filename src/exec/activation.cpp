// mqcalib/src/exec/activation.cpp: pointwise nonlinearities (formulas in kernels.h, as PyTorch's).
#include <cmath>
#include <string>

#include "core/parallel.h"
#include "exec/kernels.h"

namespace mqcalib {

namespace {

constexpr int64_t kPointwiseChunk = 1 << 15;  // elements per parallel chunk
constexpr float kSqrtHalf = 0.70710678118654752440f;     // 1/sqrt(2), gelu (erf form)
constexpr float kSqrt2OverPi = 0.79788456080286535588f;  // sqrt(2/pi), gelu (tanh form)
constexpr float kGeluCubic = 0.044715f;                  // gelu (tanh form), Hendrycks & Gimpel

inline float clampf(float v, float lo, float hi) { return v < lo ? lo : (v > hi ? hi : v); }

inline float apply(Activation a, float v, const ActivationParams& p) {
  switch (a) {
    case Activation::Relu: return v < 0.0f ? 0.0f : v;
    case Activation::Relu6: return clampf(v, 0.0f, 6.0f);
    case Activation::Hardtanh: return clampf(v, p.min_val, p.max_val);
    case Activation::Silu: return v / (1.0f + std::exp(-v));
    case Activation::Sigmoid: return 1.0f / (1.0f + std::exp(-v));
    case Activation::Tanh: return std::tanh(v);
    case Activation::Hardswish: return v * clampf(v + 3.0f, 0.0f, 6.0f) / 6.0f;
    case Activation::Hardsigmoid: return clampf(v + 3.0f, 0.0f, 6.0f) / 6.0f;
    case Activation::GeluErf: return v * 0.5f * (1.0f + std::erf(v * kSqrtHalf));
    case Activation::GeluTanh: {
      const float inner = kSqrt2OverPi * (v + kGeluCubic * v * v * v);
      return 0.5f * v * (1.0f + std::tanh(inner));
    }
  }
  return v;
}

template <Activation A>
void run_chunk(const float* x, float* y, int64_t b, int64_t e, const ActivationParams& p) {
  for (int64_t i = b; i < e; ++i) y[i] = apply(A, x[i], p);
}

void check_act(const ViewF32& x, const MutViewF32& y) {
  if (x.shape != y.shape)
    throw Error("activation: output " + shape_to_string(y.shape) + " differs from input " + shape_to_string(x.shape));
}

}  // namespace

// Parallel over fixed chunks, one specialised loop per activation (the switch hoisted out of the
// loop so the clamps vectorize). Same scalar formula as the reference: bit-identical results.
void activation_f32(Activation a, ViewF32 x, MutViewF32 y, const ActivationParams& p) {
  check_act(x, y);
  parallel_for_chunks(x.size(), kPointwiseChunk, [&](int64_t b, int64_t e, int64_t) {
    switch (a) {
#define MQCALIB_ACT(k) \
  case Activation::k: run_chunk<Activation::k>(x.data, y.data, b, e, p); break;
      MQCALIB_ACT(Relu)
      MQCALIB_ACT(Relu6)
      MQCALIB_ACT(Hardtanh)
      MQCALIB_ACT(Silu)
      MQCALIB_ACT(Sigmoid)
      MQCALIB_ACT(Tanh)
      MQCALIB_ACT(Hardswish)
      MQCALIB_ACT(Hardsigmoid)
      MQCALIB_ACT(GeluErf)
      MQCALIB_ACT(GeluTanh)
#undef MQCALIB_ACT
    }
  });
}

void activation_f32_ref(Activation a, ViewF32 x, MutViewF32 y, const ActivationParams& p) {
  check_act(x, y);
  for (int64_t i = 0; i < x.size(); ++i) y.data[i] = apply(a, x.data[i], p);
}

}  // namespace mqcalib
