// mqcalib/reconstruction/rectified_sigmoid.h: AdaRound's rectified sigmoid, its derivative and inverse.
//
// ../shared/REFERENCE.md section 4 (Nagel et al. 2020, "Up or Down? Adaptive Rounding"):
//   h(V)   = clamp(sigmoid(V) * (zeta - gamma) + gamma, 0, 1),   zeta = 1.1, gamma = -0.1
//   h'(V)  = sigmoid(V) (1 - sigmoid(V)) (zeta - gamma)   where 0 <= sigmoid(V)(zeta - gamma) + gamma <= 1,
//            0 outside (the clamp's gradient mask is inclusive, as torch.clamp's backward)
//   V(f)   = -log((zeta - gamma) / (f - gamma) - 1)   so that h(V(f)) = f for f in [0, 1)
// sigmoid(V) = 1 / (1 + exp(-V)).
#pragma once

#include <algorithm>
#include <cmath>

namespace mqcalib {

constexpr float kAdaRoundZeta = 1.1f;    // ../shared/REFERENCE.md section 4
constexpr float kAdaRoundGamma = -0.1f;  // ../shared/REFERENCE.md section 4

// h(V) and h'(V) of one entry from a single exp: the formulas above, and the values of the two
// functions below.
struct RectifiedSigmoid {
  float h, dh;
};
inline RectifiedSigmoid rectified_sigmoid_and_grad(float v) {
  const float s = 1.0f / (1.0f + std::exp(-v));
  const float u = s * (kAdaRoundZeta - kAdaRoundGamma) + kAdaRoundGamma;
  return {std::min(std::max(u, 0.0f), 1.0f),
          u >= 0.0f && u <= 1.0f ? s * (1.0f - s) * (kAdaRoundZeta - kAdaRoundGamma) : 0.0f};
}

float rectified_sigmoid(float v);
float rectified_sigmoid_grad(float v);
// f in [0, 1): the fractional part of W / s. Computed in double, rounded once to float.
float rectified_sigmoid_inverse(float f);

}  // namespace mqcalib
