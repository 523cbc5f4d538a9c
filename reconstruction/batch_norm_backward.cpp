// mqcalib/reconstruction/batch_norm_backward.cpp: gx = gy / sqrt(var + eps) * gamma (header).
#include "reconstruction/batch_norm_backward.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "core/parallel.h"

namespace mqcalib {

namespace {

void check(const ViewF32& gy, const MutViewF32& gx, const char* fn) {
  if (gy.shape.size() < 2)
    throw Error(std::string(fn) + ": gradient must have a channel dim 1, got " + shape_to_string(gy.shape));
  if (gx.shape != gy.shape)
    throw Error(std::string(fn) + ": gx " + shape_to_string(gx.shape) + " differs from gy " +
                shape_to_string(gy.shape));
}

}  // namespace

void batch_norm_backward_f32(ViewF32 gy, const float* var, const float* gamma, float eps, MutViewF32 gx) {
  check(gy, gx, "batch_norm_backward");
  const int64_t N = gy.shape[0], C = gy.shape[1], inner = gy.size() / std::max<int64_t>(1, N * C);
  std::vector<float> sd(static_cast<size_t>(C));
  for (int64_t c = 0; c < C; ++c) sd[static_cast<size_t>(c)] = std::sqrt(var[c] + eps);
  parallel_for_chunks(N * C, std::max<int64_t>(1, 16384 / std::max<int64_t>(1, inner)),
                      [&](int64_t b, int64_t e, int64_t) {
                        for (int64_t pl = b; pl < e; ++pl) {
                          const int64_t c = pl % C;
                          const float s = sd[static_cast<size_t>(c)], g = gamma ? gamma[c] : 1.0f;
                          const float* gp = gy.data + pl * inner;
                          float* xp = gx.data + pl * inner;
                          for (int64_t k = 0; k < inner; ++k) xp[k] = gp[k] / s * g;
                        }
                      });
}

void batch_norm_backward_f32_ref(ViewF32 gy, const float* var, const float* gamma, float eps, MutViewF32 gx) {
  check(gy, gx, "batch_norm_backward_ref");
  const int64_t N = gy.shape[0], C = gy.shape[1], inner = gy.size() / std::max<int64_t>(1, N * C);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t k = 0; k < inner; ++k) {
        const int64_t i = (n * C + c) * inner + k;
        gx.data[i] = gy.data[i] / std::sqrt(var[c] + eps) * (gamma ? gamma[c] : 1.0f);
      }
}

}  // namespace mqcalib
