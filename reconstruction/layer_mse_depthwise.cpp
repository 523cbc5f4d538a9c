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
    loss[static_cast<size_t>(k)] =
        j.seg(zd, g.P * O, tt.data(), 1, g.P * O, 0.0f, j.scale2, j.act, j.layer.activation_params);
    if (!gw) return;
    float* pg = part.data() + k * wsize;
    for (int64_t tp = 0; tp < taps; ++tp) {
      int64_t o = 0;
      for (; o + kLanes <= O; o += kLanes) {
        V8F32 acc{};
        for (int64_t oh = 0; oh < g.OH; ++oh)
          for (int64_t ow = 0; ow < g.OW; ++ow)
            acc += load8_f32(zd + (oh * g.OW + ow) * O + o) * load8_f32(xd + base(oh, ow) + to[tp] + o);
        store8_f32(pg + tp * O + o, acc);
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

}  // namespace mqcalib::recon_detail::mse
