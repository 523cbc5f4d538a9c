// mqcalib/reconstruction/layer_mse_conv.cpp: the fused loss-and-gradient kernels of non-depthwise
// convs (reconstruction/layer_mse.h): im2col + GEMM per chunk, or the direct kernels of direct_conv.h.
#include <Eigen/Core>
#include <algorithm>
#include <vector>

#include "core/parallel.h"
#include "exec/eigen_gemm.h"
#include "reconstruction/direct_conv.h"
#include "reconstruction/layer_mse_kernels.h"

namespace mqcalib::recon_detail::mse {

using MatRow = detail::MatRowF32;

// General, grouped and 1x1 convs: per chunk and group, Z[Og, S*P] = W_g[Og, K] col[K, S*P].
double conv_gemm(const Job& j, const ConvGeom& g, float* gw) {
  const Conv2dParams& p = j.layer.conv;
  const bool pointwise = is_pointwise(g, p);
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
            im2col_f32(xg, g, p, c0, SP);
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
          lk += j.seg(z.data() + o * SP + (n - n0) * g.P, g.P, j.t.data + (n * g.O + oc) * g.P, 1, g.P, b, j.scale2,
                      j.act, j.layer.activation_params);
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

// The direct kernels skip im2col and GEMM packing but compute junk columns on wide rows and build
// stride-phase planes per sample; they pay off for spatial kernels when the junk is small and the
// reduction K = C/groups * KH * KW is long enough to amortise the planes. 1x1 convs have no im2col
// to skip (stride 1) or would copy unused stride phases, so they stay on the GEMM path. Measured on
// the zoo layers (bench_adaround, 2 threads): 3x3 on 28x28 / 14x14 outputs with 16-32 channels is
// 10-25% faster direct; on 7x7 outputs (49 of 64 columns useful) the GEMM path is 5-20% faster, and
// for the one-channel stems (K = 9) the GEMM path is as fast or up to 2x faster.
constexpr double kDirectMinUsefulFraction = 0.85;
constexpr int64_t kDirectMinK = 32;

bool use_direct(const ConvGeom& g, const Conv2dParams& p) {
  if (g.G != 1 || g.KH * g.KW == 1 || g.K < kDirectMinK) return false;
  return static_cast<double>(g.P) >=
         kDirectMinUsefulFraction * static_cast<double>(direct_padded_outputs(g.W, g.OH, p));
}

// groups == 1: the direct kernels of direct_conv.h, one sample at a time within fixed chunks of
// samples. Per sample: phase planes, Z = W X on wide rows, loss and gZ in place (junk columns and the
// tail past M zeroed), gW_chunk += gZ X^T.
double conv_direct(const Job& j, const ConvGeom& g, float* gw) {
  const PlaneGeom pg = plane_geom(g.C, g.H, g.W, g.KH, g.KW, g.OH, g.OW, j.layer.conv);
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
      build_planes_f32(j.x.data + n * g.C * g.H * g.W, pg, pl);
      direct_forward_f32(j.w, g.O, pg, pl, zs);
      for (int64_t o = 0; o < g.O; ++o) {
        float* zo = zs + o * pg.Mpad;
        lk += j.seg(zo, pg.Wq, j.t.data + (n * g.O + o) * g.P, g.OH, g.OW, j.layer.bias ? j.layer.bias[o] : 0.0f,
                    j.scale2, j.act, j.layer.activation_params);
        std::fill(zo + pg.M, zo + pg.Mpad, 0.0f);
      }
    }
    if (float* pk = chunk_grad(gw, part, k, wsize)) {
      std::fill(pk, pk + wsize, 0.0f);
      direct_grad_f32(z.data(), g.O, pg, planes.data(), n1 - n0, pk);
    }
    loss[static_cast<size_t>(k)] = lk;
  });
  return finish(gw, part, nchunks, wsize, loss, j.m);
}

}  // namespace mqcalib::recon_detail::mse
