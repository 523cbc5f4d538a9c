// mqcalib/reconstruction/conv_backward.cpp: conv2d input / weight / bias gradients, fast and _ref.
#include "reconstruction/conv_backward.h"

#include <Eigen/Core>
#include <algorithm>
#include <string>
#include <vector>

#include "core/parallel.h"
#include "exec/eigen_gemm.h"
#include "reconstruction/im2col.h"

namespace mqcalib {

using recon_detail::ConvGeom;
using MatRow = detail::MatRowF32;

namespace {

ConvGeom checked_geom(const Shape& x, const Shape& w, const Shape& gy, const Conv2dParams& p, const char* fn) {
  const Shape y = conv2d_output_shape(x, w, p);
  if (y != gy)
    throw Error(std::string(fn) + ": gradient gy has shape " + shape_to_string(gy) + " but conv2d of input " +
                shape_to_string(x) + " with weight " + shape_to_string(w) + " gives " + shape_to_string(y));
  return recon_detail::conv_geom(x, w, y, p);
}

// Depthwise input gradient: input plane (n, c) collects output channels c*mult .. (c+1)*mult-1.
void input_depthwise(const ViewF32& gy, const ViewF32& w, const Conv2dParams& p, const ConvGeom& g, float* gx) {
  const int64_t mult = g.O / g.C;
  const int64_t chunk = std::max<int64_t>(1, 8192 / std::max<int64_t>(1, g.H * g.W));
  std::vector<int64_t> jlo(static_cast<size_t>(g.KW)), jhi(static_cast<size_t>(g.KW));  // per kernel column
  for (int64_t j = 0; j < g.KW; ++j)
    recon_detail::valid_out_range(g.W, g.OW, p.stride_w, p.pad_w, j * p.dil_w, jlo[static_cast<size_t>(j)],
                                  jhi[static_cast<size_t>(j)]);
  parallel_for_chunks(g.N * g.C, chunk, [&](int64_t b, int64_t e, int64_t) {
    for (int64_t pl = b; pl < e; ++pl) {
      const int64_t n = pl / g.C, c = pl % g.C;
      float* xp = gx + pl * g.H * g.W;
      std::fill(xp, xp + g.H * g.W, 0.0f);
      for (int64_t o = c * mult; o < (c + 1) * mult; ++o) {
        const float* gp = gy.data + (n * g.O + o) * g.P;
        const float* wp = w.data + o * g.KH * g.KW;
        for (int64_t oh = 0; oh < g.OH; ++oh)
          for (int64_t i = 0; i < g.KH; ++i) {
            const int64_t ih = oh * p.stride_h - p.pad_h + i * p.dil_h;
            if (ih < 0 || ih >= g.H) continue;
            float* xr = xp + ih * g.W;
            for (int64_t j = 0; j < g.KW; ++j) {
              const float wv = wp[i * g.KW + j];
              const int64_t lo = jlo[static_cast<size_t>(j)], hi = jhi[static_cast<size_t>(j)];
              float* xs = xr + j * p.dil_w - p.pad_w;
              const float* gr = gp + oh * g.OW;
              for (int64_t ow = lo; ow < hi; ++ow) xs[ow * p.stride_w] += gr[ow] * wv;
            }
          }
      }
    }
  });
}

// Stride 1 with p <= d (K - 1) on both axes: the input gradient is the FORWARD conv (the engine's
// deterministic kernel of src/exec, conv2d_nchw_f32) of gy with the transposed, flipped weight
//   wt[g Cg + c, o, i', j'] = w[g Og + o, c, KH-1-i', KW-1-j']      ([C, Og, KH, KW], groups G)
// at padding p' = d (K - 1) - p, dilation d: that conv's output at ih reads gy at ih - p' + i' d =
// ih + p - i d (i = KH-1-i'), which is the sum of the header's formula, and its size is
// OH + 2 p' - d (KH - 1) = H. The taps are summed in another order than the _ref loop's.
bool transposed_forward_applies(const ConvGeom& g, const Conv2dParams& p) {
  return p.stride_h == 1 && p.stride_w == 1 && p.pad_h <= p.dil_h * (g.KH - 1) && p.pad_w <= p.dil_w * (g.KW - 1);
}

void input_transposed_forward(const ViewF32& gy, const ViewF32& w, const Conv2dParams& p, const ConvGeom& g,
                              const MutViewF32& gx) {
  std::vector<float> wt(static_cast<size_t>(g.O * g.K));
  const int64_t taps = g.KH * g.KW;
  for (int64_t gi = 0; gi < g.G; ++gi)
    for (int64_t o = 0; o < g.Og; ++o)
      for (int64_t c = 0; c < g.Cg; ++c) {
        const float* src = w.data + ((gi * g.Og + o) * g.Cg + c) * taps;
        float* dst = wt.data() + ((gi * g.Cg + c) * g.Og + o) * taps;
        for (int64_t t = 0; t < taps; ++t) dst[t] = src[taps - 1 - t];
      }
  Conv2dParams pt = p;
  pt.pad_h = p.dil_h * (g.KH - 1) - p.pad_h;
  pt.pad_w = p.dil_w * (g.KW - 1) - p.pad_w;
  conv2d_nchw_f32(gy, ViewF32{wt.data(), {g.C, g.Og, g.KH, g.KW}}, nullptr, pt, gx);
}

// General input gradient, per (sample, group): col[K,P] = W_g^T gy_ng, then col2im.
void input_gemm(const ViewF32& gy, const ViewF32& w, const Conv2dParams& p, const ConvGeom& g, float* gx) {
  const bool pointwise = recon_detail::is_pointwise(g, p);
  parallel_for_chunks(g.N * g.G, 1, [&](int64_t b, int64_t e, int64_t) {
    std::vector<float> col;
    for (int64_t u = b; u < e; ++u) {
      const int64_t n = u / g.G, gi = u % g.G;
      float* xg = gx + (n * g.C + gi * g.Cg) * g.H * g.W;
      Eigen::Map<const MatRow> Wg(w.data + gi * g.Og * g.K, g.Og, g.K);
      Eigen::Map<const MatRow> Gy(gy.data + (n * g.O + gi * g.Og) * g.P, g.Og, g.P);
      if (pointwise) {
        Eigen::Map<MatRow> X(xg, g.K, g.P);
        X.noalias() = Wg.transpose() * Gy;
        continue;
      }
      col.resize(static_cast<size_t>(g.K * g.P));
      Eigen::Map<MatRow> Col(col.data(), g.K, g.P);
      Col.noalias() = Wg.transpose() * Gy;
      std::fill(xg, xg + g.Cg * g.H * g.W, 0.0f);
      recon_detail::col2im_add_f32(col.data(), g, p, xg);
    }
  });
}

// Depthwise: each tap's gradient is one dot product. The input plane is copied into a zero-padded
// plane of width Wp (W + 2 p_w rounded up to a multiple of s_w), and gy into rows of width
// Wq = s_h Wp / s_w with zeros in columns ow >= OW. Then for tap (i, j), t = i d_h Wp + j d_w:
//   gw[o,i,j] += sum_m gyq[m] * xp[m s_w + t],   m over OH * Wq
// since m = oh Wq + ow gives m s_w + t = (oh s_h + i d_h) Wp + ow s_w + j d_w; the terms with ow >= OW
// (which may wrap into other rows) meet a zero of gyq.
void weight_depthwise(const ViewF32& x, const ViewF32& gy, const Conv2dParams& p, const ConvGeom& g, int64_t n,
                      float* pw) {
  const int64_t sw = p.stride_w, Wp = (g.W + 2 * p.pad_w + sw - 1) / sw * sw, Wq = p.stride_h * Wp / sw;
  const int64_t M = g.OH * Wq, mult = g.O / g.C, taps = g.KH * g.KW;
  const int64_t t_max = (g.KH - 1) * p.dil_h * Wp + (g.KW - 1) * p.dil_w;
  thread_local std::vector<float> xp, gq;
  xp.assign(static_cast<size_t>(std::max((g.H + 2 * p.pad_h) * Wp, M * sw + t_max)), 0.0f);
  gq.assign(static_cast<size_t>(M), 0.0f);
  using VecMap = Eigen::Map<const Eigen::VectorXf>;
  using StridedMap = Eigen::Map<const Eigen::VectorXf, 0, Eigen::InnerStride<>>;
  for (int64_t o = 0; o < g.O; ++o) {
    const float* xs = x.data + (n * g.C + o / mult) * g.H * g.W;
    const float* gs = gy.data + (n * g.O + o) * g.P;
    for (int64_t h = 0; h < g.H; ++h)
      std::copy(xs + h * g.W, xs + (h + 1) * g.W, xp.data() + (h + p.pad_h) * Wp + p.pad_w);
    for (int64_t oh = 0; oh < g.OH; ++oh) std::copy(gs + oh * g.OW, gs + (oh + 1) * g.OW, gq.data() + oh * Wq);
    const VecMap G(gq.data(), M);
    for (int64_t i = 0; i < g.KH; ++i)
      for (int64_t j = 0; j < g.KW; ++j) {
        const StridedMap X(xp.data() + i * p.dil_h * Wp + j * p.dil_w, M, Eigen::InnerStride<>(sw));
        pw[o * taps + i * g.KW + j] += G.dot(X);
      }
  }
}

// Partial weight/bias gradient of samples [n0, n1) into pw [O*Cg*KH*KW] and pb [O] (zeroed here).
void weight_partial(const ViewF32& x, const ViewF32& gy, const Conv2dParams& p, const ConvGeom& g, int64_t n0,
                    int64_t n1, float* pw, float* pb, std::vector<float>& col) {
  std::fill(pw, pw + g.O * g.K, 0.0f);
  if (pb) std::fill(pb, pb + g.O, 0.0f);
  const bool depthwise = recon_detail::is_depthwise(g), pointwise = recon_detail::is_pointwise(g, p);
  for (int64_t n = n0; n < n1; ++n) {
    if (pb)
      for (int64_t o = 0; o < g.O; ++o) {
        const float* gp = gy.data + (n * g.O + o) * g.P;
        float s = 0.0f;
        for (int64_t q = 0; q < g.P; ++q) s += gp[q];
        pb[o] += s;
      }
    if (depthwise) weight_depthwise(x, gy, p, g, n, pw);
  }
  if (depthwise) return;
  // GEMM path: per group, the chunk's samples side by side, gw_g[Og, K] += gy[Og, S*P] * col[K, S*P]^T
  // (one GEMM per group and chunk instead of one per sample; small outputs stay efficient).
  const int64_t S = n1 - n0, SP = S * g.P;
  std::vector<float> gyb(static_cast<size_t>(g.Og * SP));
  col.resize(static_cast<size_t>(g.K * SP));
  for (int64_t gi = 0; gi < g.G; ++gi) {
    for (int64_t n = n0; n < n1; ++n) {
      const int64_t s = n - n0;
      const float* gp = gy.data + (n * g.O + gi * g.Og) * g.P;
      for (int64_t o = 0; o < g.Og; ++o) std::copy(gp + o * g.P, gp + (o + 1) * g.P, gyb.data() + o * SP + s * g.P);
      const float* xg = x.data + (n * g.C + gi * g.Cg) * g.H * g.W;
      if (pointwise) {
        for (int64_t k = 0; k < g.K; ++k) std::copy(xg + k * g.P, xg + (k + 1) * g.P, col.data() + k * SP + s * g.P);
      } else {
        recon_detail::im2col_f32(xg, g, p, col.data() + s * g.P, SP);
      }
    }
    Eigen::Map<const MatRow> Gy(gyb.data(), g.Og, SP);
    Eigen::Map<const MatRow> Col(col.data(), g.K, SP);
    Eigen::Map<MatRow> Gw(pw + gi * g.Og * g.K, g.Og, g.K);
    Gw.noalias() += Gy * Col.transpose();
  }
}

}  // namespace

void conv2d_backward_input_nchw_f32(ViewF32 gy, ViewF32 w, const Conv2dParams& p, MutViewF32 gx) {
  const ConvGeom g = checked_geom(gx.shape, w.shape, gy.shape, p, "conv2d_backward_input");
  if (gx.size() == 0) return;
  if (transposed_forward_applies(g, p))
    input_transposed_forward(gy, w, p, g, gx);
  else if (recon_detail::is_depthwise(g))
    input_depthwise(gy, w, p, g, gx.data);
  else
    input_gemm(gy, w, p, g, gx.data);
}

void conv2d_backward_input_nchw_f32_ref(ViewF32 gy, ViewF32 w, const Conv2dParams& p, MutViewF32 gx) {
  const ConvGeom g = checked_geom(gx.shape, w.shape, gy.shape, p, "conv2d_backward_input_ref");
  std::fill(gx.data, gx.data + gx.size(), 0.0f);
  for (int64_t n = 0; n < g.N; ++n)
    for (int64_t o = 0; o < g.O; ++o) {
      const int64_t gi = o / g.Og;
      for (int64_t oh = 0; oh < g.OH; ++oh)
        for (int64_t ow = 0; ow < g.OW; ++ow) {
          const float gv = gy.data[((n * g.O + o) * g.OH + oh) * g.OW + ow];
          for (int64_t c = 0; c < g.Cg; ++c)
            for (int64_t i = 0; i < g.KH; ++i) {
              const int64_t ih = oh * p.stride_h - p.pad_h + i * p.dil_h;
              if (ih < 0 || ih >= g.H) continue;
              for (int64_t j = 0; j < g.KW; ++j) {
                const int64_t iw = ow * p.stride_w - p.pad_w + j * p.dil_w;
                if (iw < 0 || iw >= g.W) continue;
                gx.data[((n * g.C + gi * g.Cg + c) * g.H + ih) * g.W + iw] +=
                    gv * w.data[((o * g.Cg + c) * g.KH + i) * g.KW + j];
              }
            }
        }
    }
}

void conv2d_backward_weight_nchw_f32(ViewF32 x, ViewF32 gy, const Conv2dParams& p, MutViewF32 gw, float* gbias) {
  if (gw.shape.size() != 4) throw Error("conv2d_backward_weight: weight gradient must be [O,C/groups,kh,kw]");
  const ConvGeom g = checked_geom(x.shape, gw.shape, gy.shape, p, "conv2d_backward_weight");
  const int64_t nchunks = num_chunks(g.N, kConvGradSampleChunk);
  const int64_t wsize = g.O * g.K;
  if (nchunks == 0) {
    std::fill(gw.data, gw.data + wsize, 0.0f);
    if (gbias) std::fill(gbias, gbias + g.O, 0.0f);
    return;
  }
  // Chunk 0 writes straight into the outputs; later chunks into partial buffers merged in order.
  std::vector<float> pw(static_cast<size_t>((nchunks - 1) * wsize));
  std::vector<float> pb(gbias ? static_cast<size_t>((nchunks - 1) * g.O) : 0);
  parallel_for_chunks(g.N, kConvGradSampleChunk, [&](int64_t b, int64_t e, int64_t k) {
    std::vector<float> col;
    float* dw = k == 0 ? gw.data : pw.data() + (k - 1) * wsize;
    float* db = gbias ? (k == 0 ? gbias : pb.data() + (k - 1) * g.O) : nullptr;
    weight_partial(x, gy, p, g, b, e, dw, db, col);
  });
  for (int64_t k = 1; k < nchunks; ++k) {
    const float* dw = pw.data() + (k - 1) * wsize;
    for (int64_t i = 0; i < wsize; ++i) gw.data[i] += dw[i];
    if (gbias)
      for (int64_t o = 0; o < g.O; ++o) gbias[o] += pb[static_cast<size_t>((k - 1) * g.O + o)];
  }
}

void conv2d_backward_weight_nchw_f32_ref(ViewF32 x, ViewF32 gy, const Conv2dParams& p, MutViewF32 gw, float* gbias) {
  if (gw.shape.size() != 4) throw Error("conv2d_backward_weight_ref: weight gradient must be [O,C/groups,kh,kw]");
  const ConvGeom g = checked_geom(x.shape, gw.shape, gy.shape, p, "conv2d_backward_weight_ref");
  for (int64_t o = 0; o < g.O; ++o) {
    const int64_t gi = o / g.Og;
    for (int64_t c = 0; c < g.Cg; ++c)
      for (int64_t i = 0; i < g.KH; ++i)
        for (int64_t j = 0; j < g.KW; ++j) {
          float acc = 0.0f;
          for (int64_t n = 0; n < g.N; ++n)
            for (int64_t oh = 0; oh < g.OH; ++oh) {
              const int64_t ih = oh * p.stride_h - p.pad_h + i * p.dil_h;
              if (ih < 0 || ih >= g.H) continue;
              for (int64_t ow = 0; ow < g.OW; ++ow) {
                const int64_t iw = ow * p.stride_w - p.pad_w + j * p.dil_w;
                if (iw < 0 || iw >= g.W) continue;
                acc += gy.data[((n * g.O + o) * g.OH + oh) * g.OW + ow] *
                       x.data[((n * g.C + gi * g.Cg + c) * g.H + ih) * g.W + iw];
              }
            }
          gw.data[((o * g.Cg + c) * g.KH + i) * g.KW + j] = acc;
        }
    if (gbias) {
      float s = 0.0f;
      for (int64_t n = 0; n < g.N; ++n)
        for (int64_t q = 0; q < g.P; ++q) s += gy.data[(n * g.O + o) * g.P + q];
      gbias[o] = s;
    }
  }
}

}  // namespace mqcalib
