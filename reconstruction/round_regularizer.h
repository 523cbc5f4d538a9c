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

#include <cstdint>

#include "reconstruction/simd_f32.h"

namespace mqcalib {

enum class BetaSchedule { Linear, Cosine };

// Whether iteration t (0-based) of `iters` is past the warm-up and uses the regularizer.
bool round_regularizer_active(int t, int iters, float warmup);
float round_regularizer_beta(int t, int iters, float warmup, float beta_start, float beta_end, BetaSchedule);

// 8 entries, given h = h(V_i): returns 1 - |2h - 1|^beta and sets dr_dh = -2 beta |2h - 1|^(beta - 1)
// sign(2h - 1), so dR/dV_i = dr_dh * h'(V_i). |2h-1|^(beta-1) = exp((beta - 1) log |2h-1|) with the
// vector exp / log of reconstruction/simd_f32.h (relative error below 1e-6 for the betas used), and
// 0 at 2h - 1 = 0. Every regularizer value of the engine comes from here.
inline recon_detail::V8F32 round_regularizer_term8(recon_detail::V8F32 h, float beta, recon_detail::V8F32& dr_dh) {
  using namespace recon_detail;
  const V8F32 zero{};
  const V8F32 d = 2.0f * h - 1.0f;
  const V8F32 a = abs8_f32(d);
  const V8F32 sgn = select8_f32(d > zero, splat8_f32(1.0f), select8_f32(d < zero, splat8_f32(-1.0f), zero));
  const V8I32 pos = a > zero;
  const V8F32 a_pow = select8_f32(pos, exp8_f32((beta - 1.0f) * log8_f32(select8_f32(pos, a, splat8_f32(1.0f)))), zero);
  dr_dh = -2.0f * beta * a_pow * sgn;
  return 1.0f - a * a_pow;
}
inline float round_regularizer_term(float h, float beta, float& dr_dh) {
  recon_detail::V8F32 g;
  const float r = round_regularizer_term8(recon_detail::splat8_f32(h), beta, g)[0];
  dr_dh = g[0];
  return r;
}

// R(V) over n entries (float terms accumulated in double, serially: deterministic).
double round_regularizer(const float* v, int64_t n, float beta);
// gv[i] += scale * dR/dV_i (elementwise, fixed chunks); returns R(V) (float terms, summed in double per
// fixed chunk, chunk sums merged serially in chunk order: deterministic at any thread count).
double round_regularizer_grad_add(const float* v, int64_t n, float beta, float scale, float* gv);

}  // namespace mqcalib
