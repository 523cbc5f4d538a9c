// mqcalib/reconstruction/rectified_sigmoid.h: AdaRound's rectified sigmoid, its derivative and inverse.
//
// ../shared/REFERENCE.md section 4 (Nagel et al. 2020, "Up or Down? Adaptive Rounding"):
//   h(V)   = clamp(sigmoid(V) * (zeta - gamma) + gamma, 0, 1),   zeta = 1.1, gamma = -0.1
//   h'(V)  = sigmoid(V) (1 - sigmoid(V)) (zeta - gamma)   where 0 <= sigmoid(V)(zeta - gamma) + gamma <= 1,
//            0 outside (the clamp's gradient mask is inclusive, as torch.clamp's backward)
//   V(f)   = -log((zeta - gamma) / (f - gamma) - 1)   so that h(V(f)) = f for f in [0, 1)
// sigmoid(V) = 1 / (1 + exp(-V)), exp from recon_detail::exp8_f32 (reconstruction/simd_f32.h).
#pragma once

#include "reconstruction/simd_f32.h"

namespace mqcalib {

constexpr float kAdaRoundZeta = 1.1f;    // ../shared/REFERENCE.md section 4
constexpr float kAdaRoundGamma = -0.1f;  // ../shared/REFERENCE.md section 4

// h(V) and h'(V) of 8 entries from one vector exp (recon_detail::exp8_f32, relative error below 2e-7):
// the formulas above. Every h and h' of the engine comes from here, the scalar functions included,
// so the vectorized passes and the scalar code agree exactly.
inline void rectified_sigmoid_and_grad8(recon_detail::V8F32 v, recon_detail::V8F32& h, recon_detail::V8F32& dh) {
  using namespace recon_detail;
  const V8F32 s = 1.0f / (1.0f + exp8_f32(-v));
  const V8F32 u = s * (kAdaRoundZeta - kAdaRoundGamma) + kAdaRoundGamma;
  const V8F32 zero{}, one = splat8_f32(1.0f);
  h = select8_f32(u < zero, zero, select8_f32(u > one, one, u));
  dh = select8_f32((u >= zero) & (u <= one), s * (1.0f - s) * (kAdaRoundZeta - kAdaRoundGamma), zero);
}

struct RectifiedSigmoid {
  float h, dh;
};
inline RectifiedSigmoid rectified_sigmoid_and_grad(float v) {
  recon_detail::V8F32 h, dh;
  rectified_sigmoid_and_grad8(recon_detail::splat8_f32(v), h, dh);
  return {h[0], dh[0]};
}

float rectified_sigmoid(float v);
float rectified_sigmoid_grad(float v);
// f in [0, 1): the fractional part of W / s. Computed in double, rounded once to float.
float rectified_sigmoid_inverse(float f);

}  // namespace mqcalib
