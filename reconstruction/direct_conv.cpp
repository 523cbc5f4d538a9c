// mqcalib/reconstruction/direct_conv.cpp: direct conv2d forward / weight-gradient kernels on phase
// planes (layout and formulas in direct_conv.h). Every multiply-add is an explicit fma8_f32
// (reconstruction/simd_f32.h): the documented fma chains, at any optimization level.
#include "reconstruction/direct_conv.h"

#include <algorithm>

#include "reconstruction/simd_f32.h"

namespace mqcalib::recon_detail {

namespace {

using V8 = V8F32;

constexpr int kFwdRows = 6;   // forward tile: 6 output channels x 16 outputs = 12 vector accumulators
constexpr int kGradRows = 3;  // gradient tile: 3 output channels x 4 columns k = 12 vector accumulators
constexpr int kGradCols = 4;

// z rows [0, R) of this block, outputs [m0, m0 + 16).
template <int R>
void forward_tile(const float* w, int64_t K, const int64_t* koff, const float* planes, int64_t m0, float* z,
                  int64_t ldz) {
  V8 acc[R][2];
  for (int r = 0; r < R; ++r) acc[r][0] = acc[r][1] = V8{};
  for (int64_t k = 0; k < K; ++k) {
    const float* xp = planes + koff[k] + m0;
    const V8 x0 = load8_f32(xp), x1 = load8_f32(xp + 8);
    for (int r = 0; r < R; ++r) {
      const V8 wv = splat8_f32(w[r * K + k]);
      acc[r][0] = fma8_f32(wv, x0, acc[r][0]);
      acc[r][1] = fma8_f32(wv, x1, acc[r][1]);
    }
  }
  for (int r = 0; r < R; ++r) {
    store8_f32(z + r * ldz + m0, acc[r][0]);
    store8_f32(z + r * ldz + m0 + 8, acc[r][1]);
  }
}

template <int R>
void forward_rows(const float* w, int64_t K, const PlaneGeom& g, const float* planes, float* z) {
  for (int64_t m0 = 0; m0 < g.Mpad; m0 += kDirectTile) forward_tile<R>(w, K, g.k_off.data(), planes, m0, z, g.Mpad);
}

// Where the samples of a chunk sit: sample s's gz block at gz + s * gz_stride, planes at
// planes + s * plane_stride.
struct Samples {
  int64_t count, gz_stride, plane_stride;
};

// gw rows [0, R), columns [k0, k0 + C) += sum over samples and m of gz[r][m] X_{k0 + c}[m]. The
// accumulators run over all samples before the (fixed-order) horizontal sums.
template <int R, int C>
void grad_tile(const float* gz, int64_t ldz, const int64_t* koff, const float* planes, int64_t Mpad, const Samples& smp,
               float* gw, int64_t K) {
  V8 acc[R][C];
  for (int r = 0; r < R; ++r)
    for (int c = 0; c < C; ++c) acc[r][c] = V8{};
  for (int64_t s = 0; s < smp.count; ++s) {
    const float* gs = gz + s * smp.gz_stride;
    const float* xs[C];
    for (int c = 0; c < C; ++c) xs[c] = planes + s * smp.plane_stride + koff[c];
    for (int64_t m = 0; m < Mpad; m += 8) {
      V8 gv[R];
      for (int r = 0; r < R; ++r) gv[r] = load8_f32(gs + r * ldz + m);
      for (int c = 0; c < C; ++c) {
        const V8 x = load8_f32(xs[c] + m);
        for (int r = 0; r < R; ++r) acc[r][c] = fma8_f32(gv[r], x, acc[r][c]);
      }
    }
  }
  for (int r = 0; r < R; ++r)
    for (int c = 0; c < C; ++c) gw[r * K + c] += hsum8_f32(acc[r][c]);
}

template <int R>
void grad_rows(const float* gz, int64_t K, const PlaneGeom& g, const float* planes, const Samples& smp, float* gw) {
  int64_t k = 0;
  for (; k + kGradCols <= K; k += kGradCols)
    grad_tile<R, kGradCols>(gz, g.Mpad, g.k_off.data() + k, planes, g.Mpad, smp, gw + k, K);
  switch (K - k) {
    case 3:
      grad_tile<R, 3>(gz, g.Mpad, g.k_off.data() + k, planes, g.Mpad, smp, gw + k, K);
      break;
    case 2:
      grad_tile<R, 2>(gz, g.Mpad, g.k_off.data() + k, planes, g.Mpad, smp, gw + k, K);
      break;
    case 1:
      grad_tile<R, 1>(gz, g.Mpad, g.k_off.data() + k, planes, g.Mpad, smp, gw + k, K);
      break;
    default:
      break;
  }
}

}  // namespace

PlaneGeom plane_geom(int64_t C, int64_t H, int64_t W, int64_t KH, int64_t KW, int64_t OH, int64_t OW,
                     const Conv2dParams& p) {
  PlaneGeom g;
  const int64_t sh = p.stride_h, sw = p.stride_w;
  g.C = C;
  g.H = H;
  g.W = W;
  g.KH = KH;
  g.KW = KW;
  g.OH = OH;
  g.OW = OW;
  g.Hq = (H + 2 * p.pad_h + sh - 1) / sh;
  g.Wq = direct_plane_width(W, p);
  g.M = OH * g.Wq;
  g.Mpad = direct_padded_outputs(W, OH, p);
  const int64_t max_in_plane = ((KH - 1) * p.dil_h / sh) * g.Wq + (KW - 1) * p.dil_w / sw;
  g.L = std::max(g.Hq * g.Wq, max_in_plane + g.Mpad);
  g.channel_floats = sh * sw * g.L;
  g.row_at.resize(static_cast<size_t>(H));
  g.col_at.resize(static_cast<size_t>(W));
  for (int64_t h = 0; h < H; ++h) {
    const int64_t r = h + p.pad_h;
    g.row_at[static_cast<size_t>(h)] = (r % sh) * sw * g.L + (r / sh) * g.Wq;
  }
  for (int64_t w = 0; w < W; ++w) {
    const int64_t c = w + p.pad_w;
    g.col_at[static_cast<size_t>(w)] = (c % sw) * g.L + c / sw;
  }
  g.k_off.resize(static_cast<size_t>(C * KH * KW));
  for (int64_t c = 0; c < C; ++c)
    for (int64_t i = 0; i < KH; ++i)
      for (int64_t j = 0; j < KW; ++j) {
        const int64_t a = i * p.dil_h, b = j * p.dil_w;
        g.k_off[static_cast<size_t>((c * KH + i) * KW + j)] =
            c * g.channel_floats + ((a % sh) * sw + b % sw) * g.L + (a / sh) * g.Wq + b / sw;
      }
  return g;
}

void build_planes_f32(const float* x, const PlaneGeom& g, float* planes) {
  std::fill(planes, planes + g.C * g.channel_floats, 0.0f);
  const bool unit_w = g.W < 2 || g.col_at[1] - g.col_at[0] == 1;  // stride_w 1: rows stay contiguous
  for (int64_t c = 0; c < g.C; ++c) {
    float* pc = planes + c * g.channel_floats;
    const float* xc = x + c * g.H * g.W;
    for (int64_t h = 0; h < g.H; ++h) {
      float* row = pc + g.row_at[static_cast<size_t>(h)];
      const float* xr = xc + h * g.W;
      if (unit_w) {
        std::copy(xr, xr + g.W, row + g.col_at[0]);
      } else {
        for (int64_t w = 0; w < g.W; ++w) row[g.col_at[static_cast<size_t>(w)]] = xr[w];
      }
    }
  }
}

void direct_forward_f32(const float* w, int64_t O, const PlaneGeom& g, const float* planes, float* z) {
  const int64_t K = g.C * g.KH * g.KW;
  int64_t o = 0;
  for (; o + kFwdRows <= O; o += kFwdRows) forward_rows<kFwdRows>(w + o * K, K, g, planes, z + o * g.Mpad);
  switch (O - o) {
    case 5:
      forward_rows<5>(w + o * K, K, g, planes, z + o * g.Mpad);
      break;
    case 4:
      forward_rows<4>(w + o * K, K, g, planes, z + o * g.Mpad);
      break;
    case 3:
      forward_rows<3>(w + o * K, K, g, planes, z + o * g.Mpad);
      break;
    case 2:
      forward_rows<2>(w + o * K, K, g, planes, z + o * g.Mpad);
      break;
    case 1:
      forward_rows<1>(w + o * K, K, g, planes, z + o * g.Mpad);
      break;
    default:
      break;
  }
}

void direct_grad_f32(const float* gz, int64_t O, const PlaneGeom& g, const float* planes, int64_t samples, float* gw) {
  const int64_t K = g.C * g.KH * g.KW;
  const Samples smp{samples, O * g.Mpad, g.C * g.channel_floats};
  int64_t o = 0;
  for (; o + kGradRows <= O; o += kGradRows) grad_rows<kGradRows>(gz + o * g.Mpad, K, g, planes, smp, gw + o * K);
  switch (O - o) {
    case 2:
      grad_rows<2>(gz + o * g.Mpad, K, g, planes, smp, gw + o * K);
      break;
    case 1:
      grad_rows<1>(gz + o * g.Mpad, K, g, planes, smp, gw + o * K);
      break;
    default:
      break;
  }
}

}  // namespace mqcalib::recon_detail
