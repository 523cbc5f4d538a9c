// mqcalib/reconstruction/round_regularizer.h: AdaRound's rounding regularizer and its beta schedule.
//
// ../shared/REFERENCE.md section 4:
//   R(V)    = sum_i (1 - |2 h(V_i) - 1|^beta)
//   dR/dV_i = -2 beta |2h - 1|^(beta - 1) sign(2h - 1) h'(V_i)
//   beta(t): no regularizer during the warm-up, t < warmup * iters; after it beta goes from beta_start
//            to beta_end, linearly (BRECQ/MQBench's LinearTempDecay)
//              beta = beta_end + (beta_start - beta_end) * max(0, 1 - r),  r = (t - t0) / (iters - t0)
//            or along a cosine (AIMET/PPQ)
//              beta = beta_end + (beta_start - beta_end) * (1 + cos(pi r)) / 2,   t0 = warmup * iters.
#pragma once

#include <cmath>
#include <cstdint>

namespace mqcalib {

enum class BetaSchedule { Linear, Cosine };

// Whether iteration t (0-based) of `iters` is past the warm-up and uses the regularizer.
bool round_regularizer_active(int t, int iters, float warmup);
float round_regularizer_beta(int t, int iters, float warmup, float beta_start, float beta_end, BetaSchedule);

// One entry, given h = h(V_i): returns 1 - |2h - 1|^beta and sets dr_dh = -2 beta |2h - 1|^(beta - 1)
// sign(2h - 1), so dR/dV_i = dr_dh * h'(V_i). One pow per entry.
inline float round_regularizer_term(float h, float beta, float& dr_dh) {
  const float d = 2.0f * h - 1.0f;
  const float a = std::fabs(d);
  const float sgn = d > 0.0f ? 1.0f : (d < 0.0f ? -1.0f : 0.0f);
  const float a_pow = std::pow(a, beta - 1.0f);  // |2h-1|^(beta-1); |2h-1|^beta = a * a_pow
  dr_dh = -2.0f * beta * a_pow * sgn;
  return 1.0f - a * a_pow;
}

// R(V) over n entries (float terms accumulated in double, serially: deterministic).
double round_regularizer(const float* v, int64_t n, float beta);
// gv[i] += scale * dR/dV_i (elementwise, fixed chunks); returns R(V) (float terms, summed in double per
// fixed chunk, chunk sums merged serially in chunk order: deterministic at any thread count).
double round_regularizer_grad_add(const float* v, int64_t n, float beta, float scale, float* gv);

}  // namespace mqcalib
