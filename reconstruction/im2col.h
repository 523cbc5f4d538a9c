// mqcalib/reconstruction/im2col.h: internal helpers of the conv backward kernels (column buffers).
//
// col[(c*KH + i)*KW + j][oh*OW + ow] = x[c, oh*s_h - p_h + i*d_h, ow*s_w - p_w + j*d_w] (0 outside),
// the layout of src/exec/conv.cpp. col2im is its adjoint: it adds each column entry back into x.
#pragma once

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

inline bool is_depthwise(const ConvGeom& g) { return g.Cg == 1 && g.G == g.C; }

// xg: Cg planes of one (sample, group); col: [K, P].
inline void im2col_f32(const float* xg, const ConvGeom& g, const Conv2dParams& p, float* col) {
  for (int64_t c = 0; c < g.Cg; ++c)
    for (int64_t i = 0; i < g.KH; ++i)
      for (int64_t j = 0; j < g.KW; ++j) {
        float* row = col + ((c * g.KH + i) * g.KW + j) * g.P;
        for (int64_t oh = 0; oh < g.OH; ++oh) {
          const int64_t ih = oh * p.stride_h - p.pad_h + i * p.dil_h;
          for (int64_t ow = 0; ow < g.OW; ++ow) {
            const int64_t iw = ow * p.stride_w - p.pad_w + j * p.dil_w;
            const bool in = ih >= 0 && ih < g.H && iw >= 0 && iw < g.W;
            row[oh * g.OW + ow] = in ? xg[(c * g.H + ih) * g.W + iw] : 0.0f;
          }
        }
      }
}

// xg += col2im(col); entries falling in the padding are dropped.
inline void col2im_add_f32(const float* col, const ConvGeom& g, const Conv2dParams& p, float* xg) {
  for (int64_t c = 0; c < g.Cg; ++c)
    for (int64_t i = 0; i < g.KH; ++i)
      for (int64_t j = 0; j < g.KW; ++j) {
        const float* row = col + ((c * g.KH + i) * g.KW + j) * g.P;
        for (int64_t oh = 0; oh < g.OH; ++oh) {
          const int64_t ih = oh * p.stride_h - p.pad_h + i * p.dil_h;
          if (ih < 0 || ih >= g.H) continue;
          for (int64_t ow = 0; ow < g.OW; ++ow) {
            const int64_t iw = ow * p.stride_w - p.pad_w + j * p.dil_w;
            if (iw < 0 || iw >= g.W) continue;
            xg[(c * g.H + ih) * g.W + iw] += row[oh * g.OW + ow];
          }
        }
      }
}

}  // namespace mqcalib::recon_detail
