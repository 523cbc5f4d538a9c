// Shared helpers of the calibrator tests: deterministic random data.
#pragma once

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "calibrators/observer.h"

namespace mqcalib::test {

inline std::vector<float> gaussian(int64_t n, uint64_t seed, double sigma = 1.0) {
  std::mt19937_64 g(seed);
  std::normal_distribution<double> d(0.0, sigma);
  std::vector<float> v(static_cast<size_t>(n));
  for (float& x : v) x = static_cast<float>(d(g));
  return v;
}

// Unit Laplace (b = 1) by inverse CDF.
inline std::vector<float> laplace(int64_t n, uint64_t seed, double b = 1.0) {
  std::mt19937_64 g(seed);
  std::uniform_real_distribution<double> u(-0.5, 0.5);
  std::vector<float> v(static_cast<size_t>(n));
  for (float& x : v) {
    double r = u(g);
    while (r == -0.5) r = u(g);
    x = static_cast<float>(-b * (r < 0 ? -1.0 : 1.0) * std::log(1.0 - 2.0 * std::fabs(r)));
  }
  return v;
}

inline std::vector<float> uniform(int64_t n, uint64_t seed, double a) {
  std::mt19937_64 g(seed);
  std::uniform_real_distribution<double> u(-a, a);
  std::vector<float> v(static_cast<size_t>(n));
  for (float& x : v) x = static_cast<float>(u(g));
  return v;
}

inline ViewF32 view(const std::vector<float>& v) { return ViewF32{v.data(), Shape{static_cast<int64_t>(v.size())}}; }

inline QScheme int_scheme(int bits, bool narrow = true) {
  QScheme s;
  s.bits = bits;
  s.signedness = Signedness::Signed;
  s.symmetry = Symmetry::Symmetric;
  s.narrow_range = narrow;
  return s;
}

}  // namespace mqcalib::test
