// mqcalib/reconstruction/rectified_sigmoid.cpp: h(V), h'(V), V(f) (formulas in the header).
#include "reconstruction/rectified_sigmoid.h"

#include <cmath>

namespace mqcalib {

float rectified_sigmoid(float v) { return rectified_sigmoid_and_grad(v).h; }

float rectified_sigmoid_grad(float v) { return rectified_sigmoid_and_grad(v).dh; }

float rectified_sigmoid_inverse(float f) {
  const double zeta = kAdaRoundZeta, gamma = kAdaRoundGamma;
  return static_cast<float>(-std::log((zeta - gamma) / (static_cast<double>(f) - gamma) - 1.0));
}

}  // namespace mqcalib
