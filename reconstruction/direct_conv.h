// mqcalib/reconstruction/direct_conv.h: internal to reconstruction/layer_mse.cpp. Direct (no im2col,
// no GEMM packing) conv2d forward and weight-gradient kernels for groups == 1, float32, on one
// sample's "phase planes".
//
// Layout. The sample [C, H, W] is zero-padded (Hp = H + 2 p_h, Wp = W + 2 p_w) and split by stride
// phase into s_h * s_w planes per channel, each Hq x Wq (Hq = ceil(Hp / s_h), Wq = ceil(Wp / s_w)):
//   plane(c, a, b)[r * Wq + q] = padded x[c][r s_h + a][q s_w + b]
// Outputs are computed on "wide" rows of Wq columns, m = oh * Wq + ow (columns ow >= OW are junk).
// Tap (i, j) of output m reads plane(c, (i d_h) % s_h, (j d_w) % s_w) at m + (i d_h / s_h) Wq + j d_w / s_w,
// so for every k = (c, i, j) of the weight's [O, C, KH, KW] layout the column vector X_k is a
// contiguous run of a plane:
//   Z[o][m]  = sum_k W[o][k] X_k[m]                  (forward, before bias)
//   gW[o][k] = sum_m gZ[o][m] X_k[m]                 (weight gradient; gZ = 0 at junk columns)
// m runs over [0, Mpad), M = OH * Wq rounded up to kDirectTile; planes carry zero slack so every read
// stays inside. Kernels are register-tiled with GCC/Clang vector extensions (8 floats, one AVX
// register); sums over k and m run in a fixed order, so results do not depend on the thread count.
#pragma once

#include <cstdint>
#include <vector>

#include "exec/kernels.h"

namespace mqcalib::recon_detail {

constexpr int64_t kDirectTile = 16;  // outputs per forward tile (two 8-float vectors)

// Wq and Mpad of the layout above, from the input width and the output height: the one formula that
// plane_geom() and the callers choosing between kernels use.
inline int64_t direct_plane_width(int64_t W, const Conv2dParams& p) {
  return (W + 2 * p.pad_w + p.stride_w - 1) / p.stride_w;
}
inline int64_t direct_padded_outputs(int64_t W, int64_t OH, const Conv2dParams& p) {
  return (OH * direct_plane_width(W, p) + kDirectTile - 1) / kDirectTile * kDirectTile;
}

struct PlaneGeom {
  int64_t C, H, W, KH, KW;
  int64_t OH, OW;
  int64_t Hq, Wq;               // phase plane rows and columns
  int64_t M, Mpad;              // wide outputs per channel, and rounded up to kDirectTile
  int64_t L;                    // floats per phase plane, slack included
  int64_t channel_floats;       // s_h * s_w * L
  std::vector<int64_t> row_at;  // input row h -> offset of its data in a channel's planes
  std::vector<int64_t> col_at;  // input column w -> offset added to row_at
  std::vector<int64_t> k_off;   // k = (c * KH + i) * KW + j -> offset of X_k in the sample's planes
};

PlaneGeom plane_geom(int64_t C, int64_t H, int64_t W, int64_t KH, int64_t KW, int64_t OH, int64_t OW,
                     const Conv2dParams& p);

// x [C, H, W] of one sample -> planes [C * channel_floats] (padding and slack zero).
void build_planes_f32(const float* x, const PlaneGeom& g, float* planes);

// z [O, Mpad] = W [O, K] X (K = C * KH * KW, w row-major).
void direct_forward_f32(const float* w, int64_t O, const PlaneGeom& g, const float* planes, float* z);

// gw [O, K] += sum over `samples` consecutive samples of gz_s [O, Mpad] X_s^T, with gz [samples, O, Mpad]
// and planes [samples, C * channel_floats] (gz must be zero at junk columns and past M).
void direct_grad_f32(const float* gz, int64_t O, const PlaneGeom& g, const float* planes, int64_t samples, float* gw);

}  // namespace mqcalib::recon_detail
