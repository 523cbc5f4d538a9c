// mqcalib/src/exec/conv.cpp: 2-D convolution, NCHW float32 (fast kernels and the reference twin).
#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "core/parallel.h"
#include "exec/eigen_gemm.h"
#include "exec/kernels.h"

namespace mqcalib {

namespace {

void check_conv(const Shape& x, const Shape& w, const Conv2dParams& p) {
  if (x.size() != 4) throw Error("conv2d: input must be [N,C,H,W], got " + shape_to_string(x));
  if (w.size() != 4) throw Error("conv2d: weight must be [O,C/groups,kh,kw], got " + shape_to_string(w));
  if (p.groups < 1 || p.stride_h < 1 || p.stride_w < 1 || p.dil_h < 1 || p.dil_w < 1 || p.pad_h < 0 || p.pad_w < 0)
    throw Error("conv2d: invalid stride/padding/dilation/groups");
  if (x[1] % p.groups != 0 || w[0] % p.groups != 0)
    throw Error("conv2d: channels (in " + std::to_string(x[1]) + ", out " + std::to_string(w[0]) +
                ") not divisible by groups " + std::to_string(p.groups));
  if (w[1] * p.groups != x[1])
    throw Error("conv2d: input has " + std::to_string(x[1]) + " channels but weight " + shape_to_string(w) +
                " with groups " + std::to_string(p.groups) + " expects " + std::to_string(w[1] * p.groups));
}

void check_out(const Shape& expected, const MutViewF32& y) {
  if (y.shape != expected)
    throw Error("conv2d: output buffer " + shape_to_string(y.shape) + " but expected " + shape_to_string(expected));
}

// Input index range [lo, hi) of output positions o for which o*s - p + off lies in [0, n).
inline void valid_range(int64_t n, int64_t out, int64_t s, int64_t p, int64_t off, int64_t& lo, int64_t& hi) {
  // need o*s >= p - off  and  o*s - p + off <= n - 1
  const int64_t a = p - off;
  lo = a <= 0 ? 0 : (a + s - 1) / s;
  const int64_t b = n - 1 + p - off;
  hi = b < 0 ? 0 : std::min(out, b / s + 1);
  if (lo > hi) lo = hi;
}

// Depthwise (C/groups == 1): output channel o reads input channel o / (O/groups). Same summation
// order as the reference (i, j ascending, padding skipped, bias last), so results are identical.
void conv_depthwise(const ViewF32& x, const ViewF32& w, const float* bias, const Conv2dParams& p, MutViewF32& y) {
  const int64_t N = x.shape[0], C = x.shape[1], H = x.shape[2], W = x.shape[3];
  const int64_t O = w.shape[0], KH = w.shape[2], KW = w.shape[3];
  const int64_t OH = y.shape[2], OW = y.shape[3];
  const int64_t mult = O / C;
  const int64_t planes = N * O;
  const int64_t chunk = std::max<int64_t>(1, 8192 / std::max<int64_t>(1, OH * OW));
  parallel_for_chunks(planes, chunk, [&](int64_t b, int64_t e, int64_t) {
    std::vector<float> acc(static_cast<size_t>(OW));
    // column range per kernel column j (independent of the row)
    std::vector<int64_t> jlo(static_cast<size_t>(KW)), jhi(static_cast<size_t>(KW));
    for (int64_t j = 0; j < KW; ++j) valid_range(W, OW, p.stride_w, p.pad_w, j * p.dil_w, jlo[j], jhi[j]);
    for (int64_t pl = b; pl < e; ++pl) {
      const int64_t n = pl / O, o = pl % O, c = o / mult;
      const float* xp = x.data + (n * C + c) * H * W;
      const float* wp = w.data + o * KH * KW;
      float* yp = y.data + pl * OH * OW;
      const float bv = bias ? bias[o] : 0.0f;
      for (int64_t oh = 0; oh < OH; ++oh) {
        std::fill(acc.begin(), acc.end(), 0.0f);
        for (int64_t i = 0; i < KH; ++i) {
          const int64_t ih = oh * p.stride_h - p.pad_h + i * p.dil_h;
          if (ih < 0 || ih >= H) continue;
          const float* xr = xp + ih * W;
          for (int64_t j = 0; j < KW; ++j) {
            const float wv = wp[i * KW + j];
            const int64_t off = j * p.dil_w - p.pad_w;
            float* a = acc.data();
            if (p.stride_w == 1) {
              const float* xs = xr + off;
              for (int64_t ow = jlo[j]; ow < jhi[j]; ++ow) a[ow] += xs[ow] * wv;
            } else {
              const int64_t s = p.stride_w;
              for (int64_t ow = jlo[j]; ow < jhi[j]; ++ow) a[ow] += xr[ow * s + off] * wv;
            }
          }
        }
        float* yr = yp + oh * OW;
        for (int64_t ow = 0; ow < OW; ++ow) yr[ow] = acc[ow] + bv;
      }
    }
  });
}

// im2col of one (sample, group): col[(c*KH + i)*KW + j][oh*OW + ow], zero outside the input.
void im2col(const float* xg, int64_t Cg, int64_t H, int64_t W, int64_t KH, int64_t KW, int64_t OH, int64_t OW,
            const Conv2dParams& p, float* col) {
  for (int64_t c = 0; c < Cg; ++c) {
    const float* xc = xg + c * H * W;
    for (int64_t i = 0; i < KH; ++i) {
      for (int64_t j = 0; j < KW; ++j) {
        float* row = col + ((c * KH + i) * KW + j) * OH * OW;
        int64_t lo, hi;
        const int64_t offw = j * p.dil_w - p.pad_w;
        valid_range(W, OW, p.stride_w, p.pad_w, j * p.dil_w, lo, hi);
        for (int64_t oh = 0; oh < OH; ++oh) {
          float* r = row + oh * OW;
          const int64_t ih = oh * p.stride_h - p.pad_h + i * p.dil_h;
          if (ih < 0 || ih >= H) {
            std::memset(r, 0, sizeof(float) * static_cast<size_t>(OW));
            continue;
          }
          const float* xr = xc + ih * W;
          for (int64_t ow = 0; ow < lo; ++ow) r[ow] = 0.0f;
          if (p.stride_w == 1) {
            std::memcpy(r + lo, xr + lo + offw, sizeof(float) * static_cast<size_t>(hi - lo));
          } else {
            for (int64_t ow = lo; ow < hi; ++ow) r[ow] = xr[ow * p.stride_w + offw];
          }
          for (int64_t ow = hi; ow < OW; ++ow) r[ow] = 0.0f;
        }
      }
    }
  }
}

// General and 1x1 convolutions: per (sample, group) unit, Y[Og, P] = W[Og, K] * col[K, P].
void conv_gemm(const ViewF32& x, const ViewF32& w, const float* bias, const Conv2dParams& p, MutViewF32& y) {
  const int64_t N = x.shape[0], C = x.shape[1], H = x.shape[2], W = x.shape[3];
  const int64_t O = w.shape[0], KH = w.shape[2], KW = w.shape[3];
  const int64_t OH = y.shape[2], OW = y.shape[3];
  const int64_t G = p.groups, Cg = C / G, Og = O / G;
  const int64_t K = Cg * KH * KW, P = OH * OW;
  const bool direct = KH == 1 && KW == 1 && p.stride_h == 1 && p.stride_w == 1 && p.pad_h == 0 && p.pad_w == 0;
  parallel_for_chunks(N * G, 1, [&](int64_t b, int64_t e, int64_t) {
    thread_local std::vector<float> col;
    for (int64_t u = b; u < e; ++u) {
      const int64_t n = u / G, g = u % G;
      const float* xg = x.data + (n * C + g * Cg) * H * W;
      float* yg = y.data + (n * O + g * Og) * P;
      const float* src = xg;
      if (!direct) {
        col.resize(static_cast<size_t>(K * P));
        im2col(xg, Cg, H, W, KH, KW, OH, OW, p, col.data());
        src = col.data();
      }
      detail::gemm_rm_f32(w.data + g * Og * K, src, yg, Og, K, P);
      if (bias) {
        for (int64_t o = 0; o < Og; ++o) {
          const float bv = bias[g * Og + o];
          float* r = yg + o * P;
          for (int64_t q = 0; q < P; ++q) r[q] += bv;
        }
      }
    }
  });
}

}  // namespace

Shape conv2d_output_shape(const Shape& x, const Shape& w, const Conv2dParams& p) {
  check_conv(x, w, p);
  const int64_t oh = (x[2] + 2 * p.pad_h - p.dil_h * (w[2] - 1) - 1) / p.stride_h + 1;
  const int64_t ow = (x[3] + 2 * p.pad_w - p.dil_w * (w[3] - 1) - 1) / p.stride_w + 1;
  if (x[2] + 2 * p.pad_h - p.dil_h * (w[2] - 1) - 1 < 0 || x[3] + 2 * p.pad_w - p.dil_w * (w[3] - 1) - 1 < 0)
    throw Error("conv2d: input " + shape_to_string(x) + " smaller than the (dilated) kernel " + shape_to_string(w));
  return {x[0], w[0], oh, ow};
}

void conv2d_nchw_f32(ViewF32 x, ViewF32 w, const float* bias, const Conv2dParams& p, MutViewF32 y) {
  check_out(conv2d_output_shape(x.shape, w.shape, p), y);
  if (y.size() == 0) return;
  if (w.shape[1] == 1 && p.groups == x.shape[1])
    conv_depthwise(x, w, bias, p, y);
  else
    conv_gemm(x, w, bias, p, y);
}

void conv2d_nchw_f32_ref(ViewF32 x, ViewF32 w, const float* bias, const Conv2dParams& p, MutViewF32 y) {
  check_out(conv2d_output_shape(x.shape, w.shape, p), y);
  const int64_t N = x.shape[0], C = x.shape[1], H = x.shape[2], W = x.shape[3];
  const int64_t O = w.shape[0], KH = w.shape[2], KW = w.shape[3];
  const int64_t OH = y.shape[2], OW = y.shape[3];
  const int64_t Cg = C / p.groups, Og = O / p.groups;
  for (int64_t n = 0; n < N; ++n)
    for (int64_t o = 0; o < O; ++o) {
      const int64_t g = o / Og;
      for (int64_t oh = 0; oh < OH; ++oh)
        for (int64_t ow = 0; ow < OW; ++ow) {
          float acc = 0.0f;
          for (int64_t c = 0; c < Cg; ++c)
            for (int64_t i = 0; i < KH; ++i) {
              const int64_t ih = oh * p.stride_h - p.pad_h + i * p.dil_h;
              if (ih < 0 || ih >= H) continue;
              for (int64_t j = 0; j < KW; ++j) {
                const int64_t iw = ow * p.stride_w - p.pad_w + j * p.dil_w;
                if (iw < 0 || iw >= W) continue;
                acc += x.data[((n * C + g * Cg + c) * H + ih) * W + iw] * w.data[((o * Cg + c) * KH + i) * KW + j];
              }
            }
          y.data[((n * O + o) * OH + oh) * OW + ow] = acc + (bias ? bias[o] : 0.0f);
        }
    }
}

}  // namespace mqcalib
