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

AdamF32::Step AdamF32::begin_step() {
  ++t_;
  const double bc1 = 1.0 - std::pow(static_cast<double>(p_.beta1), static_cast<double>(t_));
  const double bc2 = 1.0 - std::pow(static_cast<double>(p_.beta2), static_cast<double>(t_));
  return {static_cast<float>(p_.lr / bc1), static_cast<float>(std::sqrt(bc2))};
}

void AdamF32::step(float* param, const float* g) {
  const Step s = begin_step();
  parallel_for_chunks(static_cast<int64_t>(m_.size()), kChunkElems, [&](int64_t b, int64_t e, int64_t) {
    for (int64_t i = b; i < e; ++i) update(i, param, g[i], s);
  });
}

}  // namespace mqcalib
