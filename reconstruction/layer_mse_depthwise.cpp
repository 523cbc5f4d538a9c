// mqcalib/reconstruction/layer_mse_depthwise.cpp: the fused loss-and-gradient kernel of depthwise
// convs (reconstruction/layer_mse.h), channels-last and vectorized across channels.
#include <algorithm>
#include <vector>

#include "core/parallel.h"
#include "reconstruction/layer_mse_kernels.h"

namespace mqcalib::recon_detail::mse {

// Depthwise (C/groups == 1; output channel o reads input channel o / mult), one sample per chunk,
// vectorized across channels. The sample is copied channels-last and zero-padded with one column
// per *output* channel, xt[r * Wp + c][o] = padded x[o / mult][r][c] (Wp = W + 2 p_w), so every tap
// of every output position is a contiguous row of O floats:
//   z[oh * OW + ow][o] = b[o] + sum over taps (i, j) of w[o, i, j] * xt[(oh s_h + i d_h) Wp + ow s_w + j d_w][o]
// The target is transposed the same way, the loss and gz run over z in one segment, and the
// gradient is  gw_chunk[i, j][o] = sum over positions of gz[.][o] * xt[tap row][o]  (positions in
// ascending order), moved to gw's [O, 1, KH, KW] layout by the reduction.
namespace {

// What every sample's chunk shares: the channels-last weights and the tap / plane offsets.
struct DepthwiseLayout {
  int64_t Hp, Wp, O, taps;
  std::vector<float> wt;           // wt[tap][o]
  std::vector<int64_t> src_plane;  // output channel -> offset of its input plane
  std::vector<int64_t> toff;       // tap (i, j) -> xt offset from its position's base
  int64_t stride_h, stride_w;
  // xt element offset of output position (oh, ow)'s tap: base(oh, ow) + toff[tap].
  int64_t base(int64_t oh, int64_t ow) const { return (oh * stride_h * Wp + ow * stride_w) * O; }
};

DepthwiseLayout depthwise_layout(const Job& j, const ConvGeom& g) {
  const Conv2dParams& p = j.layer.conv;
  DepthwiseLayout l{g.H + 2 * p.pad_h, g.W + 2 * p.pad_w, g.O, g.KH * g.KW, {}, {}, {}, p.stride_h, p.stride_w};
  const int64_t mult = g.O / g.C;
  l.wt.resize(static_cast<size_t>(l.O * l.taps));
  for (int64_t o = 0; o < l.O; ++o)
    for (int64_t tp = 0; tp < l.taps; ++tp) l.wt[static_cast<size_t>(tp * l.O + o)] = j.w[o * l.taps + tp];
  l.src_plane.resize(static_cast<size_t>(l.O));
  for (int64_t o = 0; o < l.O; ++o) l.src_plane[static_cast<size_t>(o)] = o / mult * g.H * g.W;
  l.toff.resize(static_cast<size_t>(l.taps));
  for (int64_t i = 0; i < g.KH; ++i)
    for (int64_t jj = 0; jj < g.KW; ++jj)
      l.toff[static_cast<size_t>(i * g.KW + jj)] = (i * p.dil_h * l.Wp + jj * p.dil_w) * l.O;
  return l;
}

// Sample n's input channels-last into xt (zero-padded) and its target into tt, channel innermost:
// contiguous writes, one strided read per channel.
void transpose_sample(const Job& j, const ConvGeom& g, const DepthwiseLayout& l, int64_t n, std::vector<float>& xt,
                      std::vector<float>& tt) {
  const Conv2dParams& p = j.layer.conv;
  xt.assign(static_cast<size_t>(l.Hp * l.Wp * l.O), 0.0f);
  tt.resize(static_cast<size_t>(g.P * l.O));
  const float* xn = j.x.data + n * g.C * g.H * g.W;
  for (int64_t h = 0; h < g.H; ++h)
    for (int64_t w = 0; w < g.W; ++w) {
      float* d = xt.data() + ((h + p.pad_h) * l.Wp + w + p.pad_w) * l.O;
      const float* src = xn + h * g.W + w;
      for (int64_t o = 0; o < l.O; ++o) d[o] = src[l.src_plane[static_cast<size_t>(o)]];
    }
  const float* tn = j.t.data + n * l.O * g.P;
  for (int64_t q = 0; q < g.P; ++q) {
    float* d = tt.data() + q * l.O;
    for (int64_t o = 0; o < l.O; ++o) d[o] = tn[o * g.P + q];
  }
}

// z[pos][o] = b[o] + sum over taps of wt[tap][o] * xt[base(pos) + toff[tap] + o]: blocks of kLanes
// channels accumulate in registers, the tail channels one at a time.
void depthwise_forward(const Job& j, const ConvGeom& g, const DepthwiseLayout& l, const float* xd, float* zd) {
  const int64_t O = l.O, taps = l.taps;
  const int64_t* to = l.toff.data();
  const float* wd = l.wt.data();
  const float* bias = j.layer.bias;
  for (int64_t oh = 0; oh < g.OH; ++oh)
    for (int64_t ow = 0; ow < g.OW; ++ow) {
      float* zr = zd + (oh * g.OW + ow) * O;
      const float* xb = xd + l.base(oh, ow);
      int64_t o = 0;
      for (; o + kLanes <= O; o += kLanes) {
        V8F32 acc = bias ? load8_f32(bias + o) : V8F32{};
        for (int64_t tp = 0; tp < taps; ++tp) acc += load8_f32(wd + tp * O + o) * load8_f32(xb + to[tp] + o);
        store8_f32(zr + o, acc);
      }
      for (; o < O; ++o) {
        float acc = bias ? bias[o] : 0.0f;
        for (int64_t tp = 0; tp < taps; ++tp) acc += wd[tp * O + o] * xb[to[tp] + o];
        zr[o] = acc;
      }
    }
}

// pg[tap][o] = sum over positions, ascending, of gz[pos][o] * xt[base(pos) + toff[tap] + o].
void depthwise_weight_grad(const ConvGeom& g, const DepthwiseLayout& l, const float* zd, const float* xd, float* pg) {
  const int64_t O = l.O;
  const int64_t* to = l.toff.data();
  for (int64_t tp = 0; tp < l.taps; ++tp) {
    int64_t o = 0;
    for (; o + kLanes <= O; o += kLanes) {
      V8F32 acc{};
      for (int64_t oh = 0; oh < g.OH; ++oh)
        for (int64_t ow = 0; ow < g.OW; ++ow)
          acc += load8_f32(zd + (oh * g.OW + ow) * O + o) * load8_f32(xd + l.base(oh, ow) + to[tp] + o);
      store8_f32(pg + tp * O + o, acc);
    }
    for (; o < O; ++o) {
      float acc = 0.0f;
      for (int64_t oh = 0; oh < g.OH; ++oh)
        for (int64_t ow = 0; ow < g.OW; ++ow) acc += zd[(oh * g.OW + ow) * O + o] * xd[l.base(oh, ow) + to[tp] + o];
      pg[tp * O + o] = acc;
    }
  }
}

}  // namespace

double conv_depthwise(const Job& j, const ConvGeom& g, float* gw) {
  const DepthwiseLayout l = depthwise_layout(j, g);
  const int64_t O = l.O, taps = l.taps, wsize = O * taps, nchunks = g.N;
  std::vector<double>& loss = scratch_loss(nchunks);
  std::vector<float>& part = scratch_part(gw ? nchunks * wsize : 0);  // [chunk][tap][o]
  parallel_for_chunks(g.N, 1, [&](int64_t n, int64_t, int64_t k) {
    thread_local std::vector<float> xt, z, tt;
    transpose_sample(j, g, l, n, xt, tt);
    z.resize(static_cast<size_t>(g.P * O));
    depthwise_forward(j, g, l, xt.data(), z.data());
    loss[static_cast<size_t>(k)] =
        j.seg(z.data(), g.P * O, tt.data(), 1, g.P * O, 0.0f, j.scale2, j.act, j.layer.activation_params);
    if (gw) depthwise_weight_grad(g, l, z.data(), xt.data(), part.data() + k * wsize);
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

}  // namespace mqcalib::recon_detail::mse
