// mqcalib/src/exec/batch_norm.cpp: inference batch norm, unfolded (a BN the fold pass could not
// fold, or the unfolded graph checked against the folded one). REFERENCE.md section 5.
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "core/parallel.h"
#include "exec/kernels.h"

namespace mqcalib {

namespace {

void check_bn(const ViewF32& x, const MutViewF32& y) {
  if (x.shape.size() < 2) throw Error("batch_norm: input must have a channel dim 1, got " + shape_to_string(x.shape));
  if (y.shape != x.shape)
    throw Error("batch_norm: output " + shape_to_string(y.shape) + " differs from input " + shape_to_string(x.shape));
}

}  // namespace

// Same per-element formula as the reference ((x - mean) / std * gamma + beta, std computed once per
// channel in the same way), so the results are bit-identical; only the loop is parallel.
void batch_norm_f32(ViewF32 x, const float* mean, const float* var, const float* gamma, const float* beta, float eps,
                    MutViewF32 y) {
  check_bn(x, y);
  const int64_t N = x.shape[0], C = x.shape[1], inner = x.size() / std::max<int64_t>(1, N * C);
  std::vector<float> sd(static_cast<size_t>(C));
  for (int64_t c = 0; c < C; ++c) sd[c] = std::sqrt(var[c] + eps);
  parallel_for_chunks(N * C, std::max<int64_t>(1, 16384 / std::max<int64_t>(1, inner)),
                      [&](int64_t b, int64_t e, int64_t) {
                        for (int64_t pl = b; pl < e; ++pl) {
                          const int64_t c = pl % C;
                          const float m = mean[c], s = sd[c], g = gamma ? gamma[c] : 1.0f, bt = beta ? beta[c] : 0.0f;
                          const float* xp = x.data + pl * inner;
                          float* yp = y.data + pl * inner;
                          for (int64_t k = 0; k < inner; ++k) yp[k] = (xp[k] - m) / s * g + bt;
                        }
                      });
}

void batch_norm_f32_ref(ViewF32 x, const float* mean, const float* var, const float* gamma, const float* beta,
                        float eps, MutViewF32 y) {
  check_bn(x, y);
  const int64_t N = x.shape[0], C = x.shape[1], inner = x.size() / std::max<int64_t>(1, N * C);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t k = 0; k < inner; ++k) {
        const int64_t i = (n * C + c) * inner + k;
        y.data[i] =
            (x.data[i] - mean[c]) / std::sqrt(var[c] + eps) * (gamma ? gamma[c] : 1.0f) + (beta ? beta[c] : 0.0f);
      }
}

}  // namespace mqcalib
