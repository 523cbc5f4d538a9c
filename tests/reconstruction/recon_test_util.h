// mqcalib/tests/reconstruction/recon_test_util.h: small helpers shared by the reconstruction tests.
#pragma once

#include <omp.h>

#include <cstdint>
#include <utility>
#include <vector>

#include "core/qscheme.h"

namespace mqcalib::test {

// QParams from its fields (per-tensor when one scale, per-channel along `axis` otherwise).
inline QParams qparams(std::vector<float> s, std::vector<int32_t> zp, int32_t qmin, int32_t qmax, int axis) {
  QParams p;
  p.scale = std::move(s);
  p.zero_point = std::move(zp);
  p.qmin = qmin;
  p.qmax = qmax;
  p.axis = axis;
  return p;
}

// Runs fn with n OpenMP threads, then restores the previous count.
template <class Fn>
void at_threads(int n, Fn&& fn) {
  const int saved = omp_get_max_threads();
  omp_set_num_threads(n);
  fn();
  omp_set_num_threads(saved);
}

}  // namespace mqcalib::test
