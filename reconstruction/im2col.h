// mqcalib/reconstruction/im2col.h: internal helpers of the conv backward kernels (column buffers).
//
// col[(c*KH + i)*KW + j][oh*OW + ow] = x[c, oh*s_h - p_h + i*d_h, ow*s_w - p_w + j*d_w] (0 outside),
// the layout of src/exec/conv.cpp. col2im is its adjoint: it adds each column entry back into x.
#pragma once

#include <algorithm>
#include <cstdint>

#include "exec/kernels.h"

namespace mqcalib::recon_detail {

struct ConvGeom {
  int64_t N, C, H, W, O, KH, KW, OH, OW, G, Cg, Og, K, P;
};

inline ConvGeom conv_geom(const Shape& x, const Shape& w, const Shape& y, const Conv2dParams& p) {
  ConvGeom g{x[0], x[1], x[2], x[3], w[0], w[2], w[3], y[2], y[3], p.groups, 0, 0, 0, 0};
  g.Cg = g.C / g.G;
  g.Og = g.O / g.G;
  g.K = g.Cg * g.KH * g.KW;
  g.P = g.OH * g.OW;
  return g;
}

inline bool is_pointwise(const ConvGeom& g, const Conv2dParams& p) {
  return g.KH == 1 && g.KW == 1 && p.stride_h == 1 && p.stride_w == 1 && p.pad_h == 0 && p.pad_w == 0;
}

// One channel per group, and more than one group: a conv with a single input channel (G == C == 1)
// is an ordinary conv to the kernels here (its GEMM path is 2-4x faster than the per-plane one).
inline bool is_depthwise(const ConvGeom& g) { return g.Cg == 1 && g.G == g.C && g.G > 1; }

// Output positions [lo, hi) of one axis whose input index o*s - p + off lies in [0, n).
inline void valid_out_range(int64_t n, int64_t out, int64_t s, int64_t p, int64_t off, int64_t& lo, int64_t& hi) {
  const int64_t a = p - off;  // need o*s >= p - off and o*s - p + off <= n - 1
  lo = a <= 0 ? 0 : (a + s - 1) / s;
  const int64_t b = n - 1 + p - off;
  hi = b < 0 ? 0 : std::min(out, b / s + 1);
  if (lo > hi) lo = hi;
}

// xg: Cg planes of one (sample, group); col: [K, P] with row k at col + k * ld (ld >= P, so several
// samples can sit side by side). Rows are filled by valid column range (zeros outside).
inline void im2col_f32(const float* xg, const ConvGeom& g, const Conv2dParams& p, float* col, int64_t ld) {
  for (int64_t c = 0; c < g.Cg; ++c)
    for (int64_t i = 0; i < g.KH; ++i)
      for (int64_t j = 0; j < g.KW; ++j) {
        float* row = col + ((c * g.KH + i) * g.KW + j) * ld;
        const int64_t off = j * p.dil_w - p.pad_w;
        int64_t lo, hi;
        valid_out_range(g.W, g.OW, p.stride_w, p.pad_w, j * p.dil_w, lo, hi);
        for (int64_t oh = 0; oh < g.OH; ++oh) {
          float* r = row + oh * g.OW;
          const int64_t ih = oh * p.stride_h - p.pad_h + i * p.dil_h;
          if (ih < 0 || ih >= g.H) {
            std::fill(r, r + g.OW, 0.0f);
            continue;
          }
          const float* xr = xg + (c * g.H + ih) * g.W;
          std::fill(r, r + lo, 0.0f);
          if (p.stride_w == 1)
            std::copy(xr + lo + off, xr + hi + off, r + lo);
          else
            for (int64_t ow = lo; ow < hi; ++ow) r[ow] = xr[ow * p.stride_w + off];
          std::fill(r + hi, r + g.OW, 0.0f);
        }
      }
}

// xg += col2im(col); entries falling in the padding are dropped. Each row adds its valid column range
// (the same additions, in the same order, as a loop over every entry testing its bounds).
inline void col2im_add_f32(const float* col, const ConvGeom& g, const Conv2dParams& p, float* xg) {
  for (int64_t c = 0; c < g.Cg; ++c)
    for (int64_t i = 0; i < g.KH; ++i)
      for (int64_t j = 0; j < g.KW; ++j) {
        const float* row = col + ((c * g.KH + i) * g.KW + j) * g.P;
        const int64_t off = j * p.dil_w - p.pad_w;
        int64_t lo, hi;
        valid_out_range(g.W, g.OW, p.stride_w, p.pad_w, j * p.dil_w, lo, hi);
        for (int64_t oh = 0; oh < g.OH; ++oh) {
          const int64_t ih = oh * p.stride_h - p.pad_h + i * p.dil_h;
          if (ih < 0 || ih >= g.H) continue;
          float* xr = xg + (c * g.H + ih) * g.W;
          const float* r = row + oh * g.OW;
          if (p.stride_w == 1)
            for (int64_t ow = lo; ow < hi; ++ow) xr[ow + off] += r[ow];
          else
            for (int64_t ow = lo; ow < hi; ++ow) xr[ow * p.stride_w + off] += r[ow];
        }
      }
}

}  // namespace mqcalib::recon_detail
