// mqcalib/src/exec/conv_depthwise_cl.cpp: depthwise conv2d with one output channel per input channel,
// computed channels-last per sample and transposed back to NCHW.
//
// Per sample n: x[n] [C, H, W] -> xt [Hp][Wp][C] zero-padded; for every output position and tap
// (i, j) ascending, acc[c] = fma(w[c][i][j], xt[oh s + i d][ow s + j d][c], acc[c]) vectorized over the
// channels (no junk positions, whatever the map size), then acc + bias[c] -> yt [OH * OW][C] ->
// y[n] [C, OH * OW] and the epilogue's later steps. Each output is the reference's fma chain (a
// padded tap adds an exact +0), so the result is the reference's bit for bit.
#include <algorithm>
#include <cmath>
#include <vector>

#include "core/parallel.h"
#include "exec/conv_gemm.h"

namespace mqcalib::exec_detail {

namespace {

struct ClJob {
  const ConvGeom& g;
  const float* x;
  const float* wt;  // [K][C]
  const ConvEpilogue& ep;
  float* y;
};

// xt [Hp][Wp][C] of sample n (padding zero).
void to_channels_last(const ConvGeom& g, const float* xn, float* xt) {
  const int64_t Hp = g.H + 2 * g.p.pad_h, Wp = g.W + 2 * g.p.pad_w, C = g.C;
  std::fill(xt, xt + Hp * Wp * C, 0.0f);
  for (int64_t c = 0; c < C; ++c) {
    const float* xc = xn + c * g.H * g.W;
    for (int64_t h = 0; h < g.H; ++h) {
      float* row = xt + ((h + g.p.pad_h) * Wp + g.p.pad_w) * C + c;
      const float* src = xc + h * g.W;
      for (int64_t w = 0; w < g.W; ++w) row[w * C] = src[w];
    }
  }
}

void sample_cl(const ClJob& job, int64_t n) {
  const ConvGeom& g = job.g;
  const Conv2dParams& p = g.p;
  const int64_t C = g.C, Wp = g.W + 2 * p.pad_w, Hp = g.H + 2 * p.pad_h, P = g.OH * g.OW;
  thread_local std::vector<float> xt, yt, out;
  if (xt.size() < static_cast<size_t>(Hp * Wp * C)) xt.resize(static_cast<size_t>(Hp * Wp * C));
  if (yt.size() < static_cast<size_t>(P * C)) {
    yt.resize(static_cast<size_t>(P * C));
    out.resize(static_cast<size_t>(P * C));
  }
  to_channels_last(g, job.x + n * C * g.H * g.W, xt.data());
  for (int64_t oh = 0; oh < g.OH; ++oh)
    for (int64_t ow = 0; ow < g.OW; ++ow) {
      float* __restrict acc = yt.data() + (oh * g.OW + ow) * C;
      for (int64_t c = 0; c < C; ++c) acc[c] = 0.0f;
      for (int64_t i = 0; i < g.KH; ++i)
        for (int64_t j = 0; j < g.KW; ++j) {
          const float* __restrict xk =
              xt.data() + ((oh * p.stride_h + i * p.dil_h) * Wp + ow * p.stride_w + j * p.dil_w) * C;
          const float* __restrict wk = job.wt + (i * g.KW + j) * C;
          for (int64_t c = 0; c < C; ++c) acc[c] = std::fma(wk[c], xk[c], acc[c]);
        }
      if (job.ep.bias)
        for (int64_t c = 0; c < C; ++c) acc[c] = acc[c] + job.ep.bias[c];
    }
  float* __restrict o = out.data();
  for (int64_t c = 0; c < C; ++c)
    for (int64_t q = 0; q < P; ++q) o[c * P + q] = yt[q * C + c];
  float* yn = job.y + n * C * P;
  if (has_post_bias_steps(job.ep))
    conv_epilogue_values(job.ep, o, job.ep.residual ? job.ep.residual + n * C * P : nullptr, C * P);
  std::copy(o, o + C * P, yn);
}

}  // namespace

bool depthwise_prefers_channels_last(const Shape& x, const Shape& w, const Conv2dParams& p, const Shape& y) {
  const ConvGeom g = conv_geom(x, w, p, y);
  return 2 * g.OH * g.OW < g.Hq * g.Wq;
}

void conv2d_depthwise_cl_nchw_f32(ViewF32 x, ViewF32 w, const ConvEpilogue& ep, const Conv2dParams& p, MutViewF32 y) {
  const ConvGeom g = conv_geom(x.shape, w.shape, p, y.shape);
  std::vector<float> wt(static_cast<size_t>(g.K * g.C));
  for (int64_t c = 0; c < g.C; ++c)
    for (int64_t k = 0; k < g.K; ++k) wt[static_cast<size_t>(k * g.C + c)] = w.data[c * g.K + k];
  const ClJob job{g, x.data, wt.data(), ep, y.data};
  parallel_for_chunks(g.N, 1, [&](int64_t b, int64_t e, int64_t) {
    for (int64_t n = b; n < e; ++n) sample_cl(job, n);
  });
}

}  // namespace mqcalib::exec_detail
