// mqcalib/reconstruction/layer_mse.cpp: fused reconstruction loss and weight gradient (formulas and
// chunking in layer_mse.h).
#include "reconstruction/layer_mse.h"

#include <Eigen/Core>
#include <algorithm>
#include <string>
#include <vector>

#include "core/parallel.h"
#include "exec/activation_scalar.h"
#include "exec/eigen_gemm.h"
#include "reconstruction/activation_backward.h"
#include "reconstruction/conv_backward.h"
#include "reconstruction/direct_conv.h"
#include "reconstruction/im2col.h"
#include "reconstruction/linear_backward.h"
#include "reconstruction/simd_f32.h"

namespace mqcalib {

using recon_detail::ConvGeom;
using MatRow = detail::MatRowF32;

namespace {

// Columns per chunk: 64 Ki floats (256 KiB). Columns, Z and the packed GEMM panels of one chunk then
// fit a core's L2 (1 MiB per core on the bench machine, docs/reconstruction.md), so the gradient
// GEMM reads the columns the forward GEMM just used from cache.
#ifndef MQ_COLS
#define MQ_COLS 16
#endif
constexpr int64_t kChunkColumnFloats = int64_t{1} << MQ_COLS;
// Planes and outputs per chunk of the direct conv path (samples whose gradients share one set of
// accumulators before the horizontal sums): 128 Ki floats (512 KiB), within a core's L2.
constexpr int64_t kChunkDirectFloats = int64_t{1} << 17;
// Elements per parallel chunk of the final reduction over chunk partials.
constexpr int64_t kReduceElems = int64_t{1} << 12;
// Partial sums per loss accumulator: vector-width lanes in a fixed order (deterministic, vectorizes).
constexpr int kLanes = 8;

// kLanes floats (one AVX register): the depthwise kernel's unit of work across channels.
using Lanes = Eigen::Array<float, kLanes, 1>;
using LanesMap = Eigen::Map<Lanes>;
using ConstLanesMap = Eigen::Map<const Lanes>;

enum class ActKind { Identity, Relu, Relu6, Other };

ActKind act_kind(const LayerSpec& l) {
  if (!l.activation) return ActKind::Identity;
  if (*l.activation == Activation::Relu) return ActKind::Relu;
  if (*l.activation == Activation::Relu6) return ActKind::Relu6;
  return ActKind::Other;
}

// Outputs of one channel, `rows` runs of `cols` at stride ldz: z the outputs before bias, t their
// targets (contiguous, rows * cols). Returns sum (f(z + b) - t)^2; with Grad, z is overwritten by
// d rec / dz = 2 (f(z + b) - t) / M * f'(z + b) (scale2 = 2 / M), the same expression and order as the
// reference's gy then activation_backward, and the ldz - cols entries after each run are zeroed.
template <ActKind K, bool Grad>
double segment(float* z, int64_t ldz, const float* t, int64_t rows, int64_t cols, float b, float scale2,
               Activation a, const ActivationParams& ap) {
  // Lane l of acc sums the entries i % kLanes == l of each run (vector lanes for the piecewise-linear
  // activations, the same lanes one entry at a time for the others and for run tails).
  float acc[kLanes] = {};
  auto one = [&](float* zp, float tv, float& lane) {
    const float zb = *zp + b;
    float y = zb, fd = 1.0f;
    if constexpr (K == ActKind::Relu) {
      y = zb < 0.0f ? 0.0f : zb;
      fd = zb > 0.0f ? 1.0f : 0.0f;
    } else if constexpr (K == ActKind::Relu6) {
      y = detail::clamp_f32(zb, 0.0f, 6.0f);
      fd = zb > 0.0f && zb < 6.0f ? 1.0f : 0.0f;
    } else if constexpr (K == ActKind::Other) {
      y = detail::activation_scalar_f32(a, zb, ap);
      if constexpr (Grad) fd = activation_derivative_f32(a, zb, ap);
    }
    const float d = y - tv;
    lane += d * d;
    if constexpr (Grad) *zp = d * scale2 * fd;
  };
  using namespace recon_detail;
  V8F32 vacc{};
  const V8F32 zero{}, one_v = splat8_f32(1.0f), six = splat8_f32(6.0f), bv = splat8_f32(b), s2 = splat8_f32(scale2);
  for (int64_t r = 0; r < rows; ++r) {
    float* zr = z + r * ldz;
    const float* tr = t + r * cols;
    int64_t i = 0;
    if constexpr (K != ActKind::Other) {
      for (; i + kLanes <= cols; i += kLanes) {
        const V8F32 zb = load8_f32(zr + i) + bv;
        V8F32 y = zb, fd = one_v;
        if constexpr (K == ActKind::Relu) {
          y = select8_f32(zb < zero, zero, zb);
          fd = select8_f32(zb > zero, one_v, zero);
        } else if constexpr (K == ActKind::Relu6) {
          y = select8_f32(zb < zero, zero, select8_f32(zb > six, six, zb));
          fd = select8_f32((zb > zero) & (zb < six), one_v, zero);
        }
        const V8F32 d = y - load8_f32(tr + i);
        vacc += d * d;
        if constexpr (Grad) store8_f32(zr + i, d * s2 * fd);
      }
    } else {
      for (; i + kLanes <= cols; i += kLanes)
        for (int l = 0; l < kLanes; ++l) one(zr + i + l, tr[i + l], acc[l]);
    }
    for (int l = 0; i < cols; ++i, ++l) one(zr + i, tr[i], acc[l]);
    if constexpr (Grad)
      for (int64_t q = cols; q < ldz; ++q) zr[q] = 0.0f;
  }
  double s = 0.0;
  for (int l = 0; l < kLanes; ++l) s += static_cast<double>(acc[l] + vacc[l]);
  return s;
}

using SegmentFn = double (*)(float*, int64_t, const float*, int64_t, int64_t, float, float, Activation,
                             const ActivationParams&);

SegmentFn segment_fn(ActKind k, bool grad) {
  switch (k) {
    case ActKind::Identity: return grad ? segment<ActKind::Identity, true> : segment<ActKind::Identity, false>;
    case ActKind::Relu: return grad ? segment<ActKind::Relu, true> : segment<ActKind::Relu, false>;
    case ActKind::Relu6: return grad ? segment<ActKind::Relu6, true> : segment<ActKind::Relu6, false>;
    case ActKind::Other: break;
  }
  return grad ? segment<ActKind::Other, true> : segment<ActKind::Other, false>;
}

// Samples per chunk: as many as fit the buffer budget, but at least kMinChunks chunks when there are
// enough samples (so 2-8 threads get balanced shares). From the shapes only, never the thread count.
constexpr int64_t kMinChunks = 8;
int64_t samples_per_chunk(int64_t fit, int64_t n) {
  return std::clamp<int64_t>(std::min(fit, (n + kMinChunks - 1) / kMinChunks), 1, std::max<int64_t>(1, n));
}

// The calling thread's partial gradients and losses, kept between calls (an AdaRound layer calls
// with the same sizes thousands of times; fresh buffers would be page-faulted in every time).
std::vector<float>& scratch_part(int64_t n) {
  thread_local std::vector<float> part;
  part.resize(static_cast<size_t>(n));
  return part;
}
std::vector<double>& scratch_loss(int64_t n) {
  thread_local std::vector<double> loss;
  loss.assign(static_cast<size_t>(n), 0.0);
  return loss;
}

// Everything one chunk kernel needs besides the geometry.
struct Job {
  const LayerSpec& layer;
  const float* w;
  ViewF32 x, t;
  SegmentFn seg;
  float scale2;  // 2 / M
  double m;      // M, elements per output channel
  Activation act;
};

// Chunk k's partial gradient: chunk 0 writes into gw itself, the others into `part`.
float* chunk_grad(float* gw, std::vector<float>& part, int64_t k, int64_t wsize) {
  if (!gw) return nullptr;
  return k == 0 ? gw : part.data() + (k - 1) * wsize;
}

// gw += partials of chunks 1.. in chunk order, each element on its own (order independent of threads).
double finish(float* gw, const std::vector<float>& part, int64_t nchunks, int64_t wsize,
              const std::vector<double>& loss, double m) {
  if (gw && nchunks > 1)
    parallel_for_chunks(wsize, kReduceElems, [&](int64_t b, int64_t e, int64_t) {
      for (int64_t k = 1; k < nchunks; ++k) {
        const float* p = part.data() + (k - 1) * wsize;
        for (int64_t i = b; i < e; ++i) gw[i] += p[i];
      }
    });
  double s = 0.0;
  for (double v : loss) s += v;
  return s / m;
}

// General, grouped and 1x1 convs: per chunk and group, Z[Og, S*P] = W_g[Og, K] col[K, S*P].
double conv_gemm(const Job& j, const ConvGeom& g, float* gw) {
  const Conv2dParams& p = j.layer.conv;
  const bool pointwise = recon_detail::is_pointwise(g, p);
  const int64_t S = samples_per_chunk(kChunkColumnFloats / std::max<int64_t>(1, g.K * g.P), g.N);
  const int64_t nchunks = num_chunks(g.N, S), wsize = g.O * g.K;
  std::vector<double>& loss = scratch_loss(nchunks);
  std::vector<float>& part = scratch_part(gw ? (nchunks - 1) * wsize : 0);
  parallel_for_chunks(g.N, S, [&](int64_t n0, int64_t n1, int64_t k) {
    thread_local std::vector<float> col, z;
    const int64_t SP = (n1 - n0) * g.P;
    z.resize(static_cast<size_t>(g.Og * SP));
    float* pg = chunk_grad(gw, part, k, wsize);
    double lk = 0.0;
    for (int64_t gi = 0; gi < g.G; ++gi) {
      const float* cp = j.x.data + (n0 * g.C + gi * g.Cg) * g.P;  // a single pointwise sample: x is col
      if (!(pointwise && n1 - n0 == 1)) {
        col.resize(static_cast<size_t>(g.K * SP));
        for (int64_t n = n0; n < n1; ++n) {
          const float* xg = j.x.data + (n * g.C + gi * g.Cg) * g.H * g.W;
          float* c0 = col.data() + (n - n0) * g.P;
          if (pointwise)
            for (int64_t c = 0; c < g.Cg; ++c) std::copy(xg + c * g.P, xg + (c + 1) * g.P, c0 + c * SP);
          else
            recon_detail::im2col_f32(xg, g, p, c0, SP);
        }
        cp = col.data();
      }
      const Eigen::Map<const MatRow> Wg(j.w + gi * g.Og * g.K, g.Og, g.K);
      const Eigen::Map<const MatRow> Col(cp, g.K, SP);
      Eigen::Map<MatRow> Z(z.data(), g.Og, SP);
      Z.noalias() = Wg * Col;
      for (int64_t o = 0; o < g.Og; ++o) {
        const int64_t oc = gi * g.Og + o;
        const float b = j.layer.bias ? j.layer.bias[oc] : 0.0f;
        for (int64_t n = n0; n < n1; ++n)
          lk += j.seg(z.data() + o * SP + (n - n0) * g.P, g.P, j.t.data + (n * g.O + oc) * g.P, 1, g.P, b, j.scale2, j.act,
                      j.layer.activation_params);
      }
      if (pg) {
        Eigen::Map<MatRow> Gw(pg + gi * g.Og * g.K, g.Og, g.K);
        Gw.noalias() = Z * Col.transpose();
      }
    }
    loss[static_cast<size_t>(k)] = lk;
  });
  return finish(gw, part, nchunks, wsize, loss, j.m);
}

// The direct kernels skip im2col and GEMM packing but compute junk columns on wide rows; they pay
// off for spatial kernels when the junk is small. 1x1 convs have no im2col to skip (stride 1) or would
// copy unused stride phases, so they stay on the GEMM path. Measured on the zoo shapes (bench_adaround):
// 3x3 on 28x28 / 14x14 outputs is 10-25% faster direct; on 7x7 outputs (49 of 64 columns useful) the
// GEMM path is 5-20% faster.
constexpr double kDirectMinUsefulFraction = 0.85;

bool use_direct(const ConvGeom& g, const Conv2dParams& p) {
  if (g.G != 1 || g.KH * g.KW == 1) return false;
  const int64_t wq = (g.W + 2 * p.pad_w + p.stride_w - 1) / p.stride_w;
  const int64_t m = g.OH * wq, mpad = (m + recon_detail::kDirectTile - 1) / recon_detail::kDirectTile * recon_detail::kDirectTile;
  return static_cast<double>(g.P) >= kDirectMinUsefulFraction * static_cast<double>(mpad);
}

// groups == 1: the direct kernels of direct_conv.h, one sample at a time within fixed chunks of
// samples. Per sample: phase planes, Z = W X on wide rows, loss and gZ in place (junk columns and the
// tail past M zeroed), gW_chunk += gZ X^T.
double conv_direct(const Job& j, const ConvGeom& g, float* gw) {
  const recon_detail::PlaneGeom pg = recon_detail::plane_geom(g.C, g.H, g.W, g.KH, g.KW, g.OH, g.OW, j.layer.conv);
  const int64_t per_sample = g.C * pg.channel_floats + g.O * pg.Mpad;  // planes and z of one sample
  const int64_t S = samples_per_chunk(kChunkDirectFloats / std::max<int64_t>(1, per_sample), g.N);
  const int64_t nchunks = num_chunks(g.N, S), wsize = g.O * g.K;
  std::vector<double>& loss = scratch_loss(nchunks);
  std::vector<float>& part = scratch_part(gw ? (nchunks - 1) * wsize : 0);
  parallel_for_chunks(g.N, S, [&](int64_t n0, int64_t n1, int64_t k) {
    thread_local std::vector<float> planes, z;
    const int64_t plane_floats = g.C * pg.channel_floats, z_floats = g.O * pg.Mpad;
    planes.resize(static_cast<size_t>(S * plane_floats));
    z.resize(static_cast<size_t>(S * z_floats));
    double lk = 0.0;
    for (int64_t n = n0; n < n1; ++n) {
      float* pl = planes.data() + (n - n0) * plane_floats;
      float* zs = z.data() + (n - n0) * z_floats;
      recon_detail::build_planes_f32(j.x.data + n * g.C * g.H * g.W, pg, pl);
      recon_detail::direct_forward_f32(j.w, g.O, pg, pl, zs);
      for (int64_t o = 0; o < g.O; ++o) {
        float* zo = zs + o * pg.Mpad;
        lk += j.seg(zo, pg.Wq, j.t.data + (n * g.O + o) * g.P, g.OH, g.OW, j.layer.bias ? j.layer.bias[o] : 0.0f,
                    j.scale2, j.act, j.layer.activation_params);
        std::fill(zo + pg.M, zo + pg.Mpad, 0.0f);
      }
    }
    if (float* pk = chunk_grad(gw, part, k, wsize)) {
      std::fill(pk, pk + wsize, 0.0f);
      recon_detail::direct_grad_f32(z.data(), g.O, pg, planes.data(), n1 - n0, pk);
    }
    loss[static_cast<size_t>(k)] = lk;
  });
  return finish(gw, part, nchunks, wsize, loss, j.m);
}

// Depthwise (C/groups == 1; output channel o reads input channel o / mult), one sample per chunk,
// vectorized across channels. The sample is copied channels-last and zero-padded with one column
// per *output* channel, xt[r * Wp + c][o] = padded x[o / mult][r][c] (Wp = W + 2 p_w), so every tap
// of every output position is a contiguous row of O floats:
//   z[oh * OW + ow][o] = b[o] + sum over taps (i, j) of w[o, i, j] * xt[(oh s_h + i d_h) Wp + ow s_w + j d_w][o]
// The target is transposed the same way, the loss and gz run over z in one segment, and the
// gradient is  gw_chunk[i, j][o] = sum over positions of gz[.][o] * xt[tap row][o]  (positions in
// ascending order), moved to gw's [O, 1, KH, KW] layout by the reduction.
double conv_depthwise(const Job& j, const ConvGeom& g, float* gw) {
  const Conv2dParams& p = j.layer.conv;
  const int64_t Hp = g.H + 2 * p.pad_h, Wp = g.W + 2 * p.pad_w, O = g.O, mult = g.O / g.C;
  const int64_t taps = g.KH * g.KW, wsize = O * taps, nchunks = g.N;
  // Weights channels-last: wt[tap][o].
  std::vector<float> wt(static_cast<size_t>(wsize));
  for (int64_t o = 0; o < O; ++o)
    for (int64_t tp = 0; tp < taps; ++tp) wt[static_cast<size_t>(tp * O + o)] = j.w[o * taps + tp];
  std::vector<int64_t> src_plane(static_cast<size_t>(O));  // output channel -> offset of its input plane
  for (int64_t o = 0; o < O; ++o) src_plane[static_cast<size_t>(o)] = o / mult * g.H * g.W;
  std::vector<int64_t> toff(static_cast<size_t>(taps));  // tap (i, j) -> xt offset from its position's base
  for (int64_t i = 0; i < g.KH; ++i)
    for (int64_t jj = 0; jj < g.KW; ++jj)
      toff[static_cast<size_t>(i * g.KW + jj)] = (i * p.dil_h * Wp + jj * p.dil_w) * O;
  std::vector<double>& loss = scratch_loss(nchunks);
  std::vector<float>& part = scratch_part(gw ? nchunks * wsize : 0);  // [chunk][tap][o]
  parallel_for_chunks(g.N, 1, [&](int64_t n, int64_t, int64_t k) {
    thread_local std::vector<float> xt, z, tt;
    xt.assign(static_cast<size_t>(Hp * Wp * O), 0.0f);
    z.resize(static_cast<size_t>(g.P * O));
    tt.resize(static_cast<size_t>(g.P * O));
    float* xd = xt.data();
    float* zd = z.data();
    // Transposes with the channel innermost: contiguous writes, one strided read per channel.
    const float* xn = j.x.data + n * g.C * g.H * g.W;
    for (int64_t h = 0; h < g.H; ++h)
      for (int64_t w = 0; w < g.W; ++w) {
        float* d = xd + ((h + p.pad_h) * Wp + w + p.pad_w) * O;
        const float* src = xn + h * g.W + w;
        for (int64_t o = 0; o < O; ++o) d[o] = src[src_plane[static_cast<size_t>(o)]];
      }
    const float* tn = j.t.data + n * O * g.P;
    for (int64_t q = 0; q < g.P; ++q) {
      float* d = tt.data() + q * O;
      for (int64_t o = 0; o < O; ++o) d[o] = tn[o * g.P + q];
    }
    // xt element offset of output position (oh, ow)'s tap: base(oh, ow) + toff[tap].
    auto base = [&](int64_t oh, int64_t ow) { return (oh * p.stride_h * Wp + ow * p.stride_w) * O; };
    const int64_t* to = toff.data();
    const float* wd = wt.data();
    const float* bias = j.layer.bias;
    // Blocks of kLanes channels accumulate in registers; the tail channels one at a time.
    for (int64_t oh = 0; oh < g.OH; ++oh)
      for (int64_t ow = 0; ow < g.OW; ++ow) {
        float* zr = zd + (oh * g.OW + ow) * O;
        const float* xb = xd + base(oh, ow);
        int64_t o = 0;
        for (; o + kLanes <= O; o += kLanes) {
          Lanes acc = bias ? Lanes(ConstLanesMap(bias + o)) : Lanes::Zero();
          for (int64_t tp = 0; tp < taps; ++tp) acc += ConstLanesMap(wd + tp * O + o) * ConstLanesMap(xb + to[tp] + o);
          LanesMap(zr + o) = acc;
        }
        for (; o < O; ++o) {
          float acc = bias ? bias[o] : 0.0f;
          for (int64_t tp = 0; tp < taps; ++tp) acc += wd[tp * O + o] * xb[to[tp] + o];
          zr[o] = acc;
        }
      }
    loss[static_cast<size_t>(k)] =
        j.seg(zd, g.P * O, tt.data(), 1, g.P * O, 0.0f, j.scale2, j.act, j.layer.activation_params);
    if (!gw) return;
    float* pg = part.data() + k * wsize;
    for (int64_t tp = 0; tp < taps; ++tp) {
      int64_t o = 0;
      for (; o + kLanes <= O; o += kLanes) {
        Lanes acc = Lanes::Zero();
        for (int64_t oh = 0; oh < g.OH; ++oh)
          for (int64_t ow = 0; ow < g.OW; ++ow)
            acc += ConstLanesMap(zd + (oh * g.OW + ow) * O + o) * ConstLanesMap(xd + base(oh, ow) + to[tp] + o);
        LanesMap(pg + tp * O + o) = acc;
      }
      for (; o < O; ++o) {
        float acc = 0.0f;
        for (int64_t oh = 0; oh < g.OH; ++oh)
          for (int64_t ow = 0; ow < g.OW; ++ow) acc += zd[(oh * g.OW + ow) * O + o] * xd[base(oh, ow) + to[tp] + o];
        pg[tp * O + o] = acc;
      }
    }
  });
  if (gw)  // gw[o, tap] = sum over chunks, in chunk order, of part[chunk][tap][o]
    parallel_for_chunks(O, std::max<int64_t>(1, kReduceElems / taps), [&](int64_t b, int64_t e, int64_t) {
      for (int64_t o = b; o < e; ++o)
        for (int64_t tp = 0; tp < taps; ++tp) {
          float s = 0.0f;
          for (int64_t c = 0; c < nchunks; ++c) s += part[static_cast<size_t>(c * wsize + tp * O + o)];
          gw[o * taps + tp] = s;
        }
    });
  double s = 0.0;
  for (double v : loss) s += v;
  return s / j.m;
}

// Linear: per chunk of S samples, Z[O, S] = W[O, I] x_chunk[S, I]^T (one row per output channel, so
// the bias and the loss run along rows), gW_chunk = gZ x_chunk.
double linear(const Job& j, float* gw) {
  const int64_t N = j.x.shape[0], I = j.x.shape[1], O = j.layer.weight.shape[0];
  const int64_t S = std::clamp<int64_t>(kChunkColumnFloats / std::max<int64_t>(1, I), 1, N);
  const int64_t nchunks = num_chunks(N, S), wsize = O * I;
  std::vector<double>& loss = scratch_loss(nchunks);
  std::vector<float>& part = scratch_part(gw ? (nchunks - 1) * wsize : 0);
  parallel_for_chunks(N, S, [&](int64_t n0, int64_t n1, int64_t k) {
    thread_local std::vector<float> z, tt;
    const int64_t Sn = n1 - n0;
    z.resize(static_cast<size_t>(O * Sn));
    tt.resize(static_cast<size_t>(O * Sn));
    for (int64_t n = n0; n < n1; ++n)
      for (int64_t o = 0; o < O; ++o) tt[static_cast<size_t>(o * Sn + n - n0)] = j.t.data[n * O + o];
    const Eigen::Map<const MatRow> X(j.x.data + n0 * I, Sn, I);
    const Eigen::Map<const MatRow> Wm(j.w, O, I);
    Eigen::Map<MatRow> Z(z.data(), O, Sn);
    Z.noalias() = Wm * X.transpose();
    double lk = 0.0;
    for (int64_t o = 0; o < O; ++o)
      lk += j.seg(z.data() + o * Sn, Sn, tt.data() + o * Sn, 1, Sn, j.layer.bias ? j.layer.bias[o] : 0.0f, j.scale2, j.act,
                  j.layer.activation_params);
    if (float* pg = chunk_grad(gw, part, k, wsize)) {
      Eigen::Map<MatRow> Gw(pg, O, I);
      Gw.noalias() = Z * X;
    }
    loss[static_cast<size_t>(k)] = lk;
  });
  return finish(gw, part, nchunks, wsize, loss, j.m);
}

// Checks and returns the output shape; M = elements per output channel.
Shape checked_output(const LayerSpec& l, ViewF32 x, ViewF32 target, bool grad) {
  const Shape ys = layer_output_shape(l, x.shape);
  if (target.shape != ys)
    throw Error("layer '" + l.name + "': target has shape " + shape_to_string(target.shape) +
                " but the layer output is " + shape_to_string(ys));
  if (grad && l.activation && (*l.activation == Activation::GeluErf || *l.activation == Activation::GeluTanh))
    throw Error("layer '" + l.name +
                "': GELU has no backward kernel (supported fused activations: relu, relu6, hardtanh, sigmoid, "
                "tanh, silu, hardswish, hardsigmoid)");
  return ys;
}

// M, the elements per output channel (N * OH * OW or N).
double per_channel(const Shape& ys) {
  return static_cast<double>(std::max<int64_t>(1, ys[0] * (ys.size() == 4 ? ys[2] * ys[3] : 1)));
}

}  // namespace

Shape layer_output_shape(const LayerSpec& l, const Shape& x) {
  const int want = l.kind == LayerKind::Conv2d ? 4 : 2;
  if (l.weight.rank() != want)
    throw Error("layer '" + l.name + "': weight must have rank " + std::to_string(want) + ", got " +
                shape_to_string(l.weight.shape));
  if (l.kind == LayerKind::Conv2d) {
    try {
      return conv2d_output_shape(x, l.weight.shape, l.conv);
    } catch (const Error& e) {
      throw Error("layer '" + l.name + "': " + e.what());
    }
  }
  if (x.size() != 2 || x[1] != l.weight.shape[1])
    throw Error("layer '" + l.name + "': linear input must be [N, " + std::to_string(l.weight.shape[1]) + "], got " +
                shape_to_string(x));
  return {x[0], l.weight.shape[0]};
}

double layer_mse_f32(const LayerSpec& l, const float* weight, ViewF32 x, ViewF32 target, float* gw) {
  const Shape ys = checked_output(l, x, target, gw != nullptr);
  if (x.size() == 0 || target.size() == 0) {
    if (gw) std::fill(gw, gw + l.weight.size(), 0.0f);
    return 0.0;
  }
  const double m = per_channel(ys);
  const Job j{l, weight, x, target, segment_fn(act_kind(l), gw != nullptr), static_cast<float>(2.0 / m), m,
              l.activation.value_or(Activation::Relu)};
  if (l.kind == LayerKind::Linear) return linear(j, gw);
  const ConvGeom g = recon_detail::conv_geom(x.shape, l.weight.shape, ys, l.conv);
  if (recon_detail::is_depthwise(g)) return conv_depthwise(j, g, gw);
  return use_direct(g, l.conv) ? conv_direct(j, g, gw) : conv_gemm(j, g, gw);
}

double layer_mse_f32_ref(const LayerSpec& l, const float* weight, ViewF32 x, ViewF32 target, float* gw) {
  const Shape ys = checked_output(l, x, target, gw != nullptr);
  const ViewF32 w{weight, l.weight.shape};
  TensorF32 z(ys);
  if (l.kind == LayerKind::Conv2d)
    conv2d_nchw_f32_ref(x, w, l.bias, l.conv, z.mut_view());
  else
    linear_f32_ref(x, w, l.bias, z.mut_view());
  TensorF32 y = z;
  if (l.activation) activation_f32_ref(*l.activation, z, y.mut_view(), l.activation_params);
  const double m = per_channel(ys);
  const float scale2 = static_cast<float>(2.0 / m);
  double s = 0.0;
  TensorF32 gz(ys);
  for (int64_t i = 0; i < y.size(); ++i) {
    const float d = y[i] - target.data[i];
    s += static_cast<double>(d) * d;
    gz[i] = d * scale2;
  }
  if (gw) {
    if (l.activation) activation_backward_f32_ref(*l.activation, z, gz, gz.mut_view(), l.activation_params);
    const MutViewF32 gwv{gw, l.weight.shape};
    if (l.kind == LayerKind::Conv2d)
      conv2d_backward_weight_nchw_f32_ref(x, gz, l.conv, gwv, nullptr);
    else
      linear_backward_weight_f32_ref(x, gz, gwv, nullptr);
  }
  return s / m;
}

}  // namespace mqcalib
