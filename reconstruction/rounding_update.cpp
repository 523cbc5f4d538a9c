// mqcalib/reconstruction/rounding_update.cpp: dL/dV, the regularizer and Adam's step in one pass (header).
#include "reconstruction/rounding_update.h"

#include <algorithm>

#include "core/parallel.h"
#include "reconstruction/round_regularizer.h"

namespace mqcalib {

// The Adam update runs in its own loop per chunk (no call inside, so it vectorizes).
double rounding_update_f32(const SoftWeight& sw, const float* h_, const float* dh_, const float* g_w,
                           std::optional<float> beta, float lambda, float* gv, AdamF32* adam, float* v,
                           std::vector<double>& reg_part) {
  const int64_t n = sw.size();
  const AdamF32::Step st = adam ? adam->begin_step() : AdamF32::Step{};
  reg_part.assign(static_cast<size_t>(num_chunks(n, kRoundingChunk)), 0.0);
  parallel_for_chunks(n, kRoundingChunk, [&](int64_t b, int64_t e, int64_t k) {
    using namespace recon_detail;
    V8F32 r{};
    sw.for_channel_runs(b, e, [&](size_t c, int64_t i0, int64_t i1) {
      for (int64_t i = i0; i < i1; i += 8) {
        const int64_t cnt = std::min<int64_t>(8, i1 - i);
        const V8F32 h = load_partial8_f32(h_ + i, cnt), dh = load_partial8_f32(dh_ + i, cnt);
        V8F32 g = sw.grad8(c, i, cnt, h, dh, load_partial8_f32(g_w + i, cnt));
        if (beta) {
          V8F32 dr_dh;
          r += select8_f32(first_lanes8(cnt), round_regularizer_term8(h, *beta, dr_dh), V8F32{});
          g += lambda * dr_dh * dh;
        }
        store_partial8_f32(gv + i, g, cnt);
      }
    });
    if (adam)
      for (int64_t i = b; i < e; ++i) adam->update(i, v, gv[i], st);
    reg_part[static_cast<size_t>(k)] = static_cast<double>(hsum8_f32(r));
  });
  double reg = 0.0;
  for (double x : reg_part) reg += x;
  return beta ? reg : 0.0;
}

}  // namespace mqcalib
