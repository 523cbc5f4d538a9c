// mqcalib/reconstruction/activation_backward.cpp: pointwise activation gradients (formulas in the header).
#include "reconstruction/activation_backward.h"

#include <cmath>
#include <string>

#include "core/parallel.h"
#include "reconstruction/simd_f32.h"

namespace mqcalib {

namespace {

constexpr int64_t kChunkElems = int64_t{1} << 14;

void check(Activation a, const ViewF32& x, const ViewF32& gy, const MutViewF32& gx, const char* fn) {
  if (x.shape != gy.shape || x.shape != gx.shape)
    throw Error(std::string(fn) + ": input " + shape_to_string(x.shape) + ", gradient gy " + shape_to_string(gy.shape) +
                " and gx " + shape_to_string(gx.shape) + " must have the same shape");
  if (a == Activation::GeluErf || a == Activation::GeluTanh)
    throw Error(std::string(fn) +
                ": GELU activation has no backward kernel (supported: relu, relu6, hardtanh, "
                "sigmoid, tanh, silu, hardswish, hardsigmoid)");
}

}  // namespace

float activation_derivative_f32(Activation a, float x, const ActivationParams& p) {
  switch (a) {
    case Activation::Relu:
      return x > 0.0f ? 1.0f : 0.0f;
    case Activation::Relu6:
      return x > 0.0f && x < 6.0f ? 1.0f : 0.0f;
    case Activation::Hardtanh:
      return x > p.min_val && x < p.max_val ? 1.0f : 0.0f;
    case Activation::Sigmoid: {
      const float s = 1.0f / (1.0f + std::exp(-x));
      return s * (1.0f - s);
    }
    case Activation::Tanh: {
      const float t = std::tanh(x);
      return 1.0f - t * t;
    }
    case Activation::Silu: {
      const float s = 1.0f / (1.0f + std::exp(-x));
      return s * (1.0f + x * (1.0f - s));
    }
    case Activation::Hardswish:
      if (x < -3.0f) return 0.0f;
      if (x <= 3.0f) return (2.0f * x + 3.0f) / 6.0f;
      return 1.0f;
    case Activation::Hardsigmoid:
      return x > -3.0f && x < 3.0f ? 1.0f / 6.0f : 0.0f;
    case Activation::GeluErf:
    case Activation::GeluTanh:
      break;
  }
  throw Error("activation_derivative_f32: unsupported activation");
}

void activation_backward_f32(Activation a, ViewF32 x, ViewF32 gy, MutViewF32 gx, const ActivationParams& p) {
  check(a, x, gy, gx, "activation_backward");
  // The piecewise-constant derivatives get their own loops (vectorizable); same values as the formula.
  parallel_for_chunks(x.size(), kChunkElems, [&](int64_t b, int64_t e, int64_t) {
    const float* xd = x.data;
    const float* g = gy.data;
    float* o = gx.data;
    using namespace recon_detail;
    if (a == Activation::Relu || a == Activation::Relu6) {  // 8 lanes: a select of gy * 1 or gy * 0
      const float top = a == Activation::Relu ? INFINITY : 6.0f;
      const V8F32 zero{}, hi = splat8_f32(top);
      int64_t i = b;
      for (; i + 8 <= e; i += 8) {
        const V8F32 xv = load8_f32(xd + i), gv = load8_f32(g + i);
        store8_f32(o + i, select8_f32((xv > zero) & (xv < hi), gv * 1.0f, gv * 0.0f));
      }
      for (; i < e; ++i) o[i] = g[i] * activation_derivative_f32(a, xd[i], p);
    } else {
      for (int64_t i = b; i < e; ++i) o[i] = g[i] * activation_derivative_f32(a, xd[i], p);
    }
  });
}

void activation_backward_f32_ref(Activation a, ViewF32 x, ViewF32 gy, MutViewF32 gx, const ActivationParams& p) {
  check(a, x, gy, gx, "activation_backward_ref");
  for (int64_t i = 0; i < x.size(); ++i) gx.data[i] = gy.data[i] * activation_derivative_f32(a, x.data[i], p);
}

}  // namespace mqcalib
