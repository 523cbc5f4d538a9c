// mqcalib/reconstruction/rectified_sigmoid.cpp: h(V), h'(V), V(f) (formulas in the header).
#include "reconstruction/rectified_sigmoid.h"

#include <algorithm>
#include <cmath>

namespace mqcalib {

float rectified_sigmoid(float v) {
  const float s = 1.0f / (1.0f + std::exp(-v));
  return std::min(std::max(s * (kAdaRoundZeta - kAdaRoundGamma) + kAdaRoundGamma, 0.0f), 1.0f);
}

float rectified_sigmoid_grad(float v) {
  const float s = 1.0f / (1.0f + std::exp(-v));
  const float u = s * (kAdaRoundZeta - kAdaRoundGamma) + kAdaRoundGamma;
  return u >= 0.0f && u <= 1.0f ? s * (1.0f - s) * (kAdaRoundZeta - kAdaRoundGamma) : 0.0f;
}

float rectified_sigmoid_inverse(float f) {
  const double zeta = kAdaRoundZeta, gamma = kAdaRoundGamma;
  return static_cast<float>(-std::log((zeta - gamma) / (static_cast<double>(f) - gamma) - 1.0));
}

}  // namespace mqcalib
