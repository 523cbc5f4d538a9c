// mqcalib/reconstruction/adam.cpp: Adam, torch.optim.Adam's update (formula in the header).
#include "reconstruction/adam.h"

#include <cmath>

#include "core/parallel.h"

namespace mqcalib {

namespace {
constexpr int64_t kChunkElems = int64_t{1} << 14;
}

AdamF32::AdamF32(int64_t n, const AdamParams& p)
    : p_(p), m_(static_cast<size_t>(n), 0.0f), v_(static_cast<size_t>(n), 0.0f) {}

void AdamF32::step(float* param, const float* g) {
  ++t_;
  const double bc1 = 1.0 - std::pow(static_cast<double>(p_.beta1), static_cast<double>(t_));
  const double bc2 = 1.0 - std::pow(static_cast<double>(p_.beta2), static_cast<double>(t_));
  const float step_size = static_cast<float>(p_.lr / bc1);
  const float bc2_sqrt = static_cast<float>(std::sqrt(bc2));
  const float b1 = p_.beta1, b2 = p_.beta2, eps = p_.eps;
  float* m = m_.data();
  float* v = v_.data();
  parallel_for_chunks(static_cast<int64_t>(m_.size()), kChunkElems, [&](int64_t b, int64_t e, int64_t) {
    for (int64_t i = b; i < e; ++i) {
      m[i] = b1 * m[i] + (1.0f - b1) * g[i];
      v[i] = b2 * v[i] + (1.0f - b2) * g[i] * g[i];
      param[i] -= step_size * m[i] / (std::sqrt(v[i]) / bc2_sqrt + eps);
    }
  });
}

}  // namespace mqcalib
