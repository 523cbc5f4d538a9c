// mqcalib/reconstruction/round_regularizer.cpp: R(V), dR/dV and the beta schedule (header formulas).
#include "reconstruction/round_regularizer.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/parallel.h"
#include "reconstruction/rectified_sigmoid.h"

namespace mqcalib {

namespace {
constexpr int64_t kChunkElems = int64_t{1} << 14;
constexpr double kPi = 3.14159265358979323846;

// Warm-up end t0 = warmup * iters in float (0.2f * 1000 is exactly 200, as Python's 0.2 * 1000).
double warmup_end(int iters, float warmup) { return static_cast<double>(warmup * static_cast<float>(iters)); }

}  // namespace

bool round_regularizer_active(int t, int iters, float warmup) { return t >= warmup_end(iters, warmup); }

float round_regularizer_beta(int t, int iters, float warmup, float beta_start, float beta_end, BetaSchedule s) {
  const double t0 = warmup_end(iters, warmup);
  if (t < t0 || iters <= t0) return beta_start;
  const double r = (t - t0) / (iters - t0);
  const double f = s == BetaSchedule::Linear ? std::max(0.0, 1.0 - r) : 0.5 * (1.0 + std::cos(kPi * std::min(1.0, r)));
  return static_cast<float>(beta_end + (beta_start - beta_end) * f);
}

double round_regularizer(const float* v, int64_t n, float beta) {
  double s = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    float dr_dh;
    s += static_cast<double>(round_regularizer_term(rectified_sigmoid(v[i]), beta, dr_dh));
  }
  return s;
}

double round_regularizer_grad_add(const float* v, int64_t n, float beta, float scale, float* gv) {
  std::vector<double> part(static_cast<size_t>(num_chunks(n, kChunkElems)), 0.0);
  parallel_for_chunks(n, kChunkElems, [&](int64_t b, int64_t e, int64_t k) {
    double s = 0.0;
    for (int64_t i = b; i < e; ++i) {
      const RectifiedSigmoid r = rectified_sigmoid_and_grad(v[i]);
      float dr_dh;
      s += static_cast<double>(round_regularizer_term(r.h, beta, dr_dh));
      gv[i] += scale * dr_dh * r.dh;
    }
    part[static_cast<size_t>(k)] = s;
  });
  double r = 0.0;
  for (double s : part) r += s;
  return r;
}

}  // namespace mqcalib
