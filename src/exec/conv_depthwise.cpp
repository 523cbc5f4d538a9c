// mqcalib/src/exec/conv_depthwise.cpp: depthwise conv2d (C/groups == 1) on the batch's phase planes
// (conv_gemm.h), built one input channel at a time so they stay in cache. Output channel o reads input channel o / (O /
// C); on the planes' grid every tap of consecutive columns is consecutive, so each (column chunk, output channel) is
// one row of the GEMM kernel (gemm_kernel.h, GemmKernel::row): acc[m] = sum over k = (i, j) ascending of fma(w[o][k],
// plane[koff[k] + m], acc[m]), the reference's chain (a padded tap adds an exact +0), then the epilogue; junk columns
// are dropped.
#include <algorithm>
#include <cmath>
#include <vector>

#include "core/parallel.h"
#include "exec/conv_gemm.h"
#include "exec/gemm_kernel.h"

namespace mqcalib::exec_detail {

namespace {

constexpr int64_t kChunkCols = 512;  // grid columns per kernel row call

struct DepthwiseJob {
  const ConvGeom& g;
  const float* x;
  const int64_t* koff;  // channel 0's taps: relative to a channel's planes
  const int64_t* dst;   // grid column -> output offset (grid_columns over the whole grid)
  const float* w;
  const ConvEpilogue& ep;
  float* y;
};

// Input channel c: its planes (L2-resident: one channel of the batch), then its output channels.
void depthwise_channel(const DepthwiseJob& job, int64_t c) {
  const ConvGeom& g = job.g;
  thread_local std::vector<float> planes, acc, res;
  const int64_t chan = g.phases * g.plane, slack = g.max_tap + kChunkCols;
  if (planes.size() < static_cast<size_t>(chan + slack)) planes.resize(static_cast<size_t>(chan + slack));
  if (acc.size() < static_cast<size_t>(kChunkCols)) {
    acc.resize(kChunkCols);
    res.resize(kChunkCols);
  }
  build_channel_planes(g, job.x, c, 0.0f, planes.data());
  std::fill(planes.data() + chan, planes.data() + chan + slack, 0.0f);  // read by junk columns only
  const GemmKernel& kern = gemm_kernel();
  for (int64_t o = c * g.Og; o < (c + 1) * g.Og; ++o)
    for (int64_t m0 = 0; m0 < g.plane; m0 += kChunkCols) {
      const int64_t len = std::min(kChunkCols, g.plane - m0);
      kern.row(job.w + o * g.K, planes.data() + m0, job.koff, g.K, acc.data(), len);
      conv_epilogue_panel(job.ep, acc.data(), 1, o, len, job.dst + m0, g.OH * g.OW, res.data(), job.y);
    }
}

}  // namespace

void conv2d_depthwise_nchw_f32(ViewF32 x, ViewF32 w, const ConvEpilogue& ep, const Conv2dParams& p, MutViewF32 y) {
  const ConvGeom g = conv_geom(x.shape, w.shape, p, y.shape);
  const std::vector<int64_t> koff = tap_offsets(g);
  std::vector<int64_t> dst(static_cast<size_t>(g.plane));
  grid_columns(g, 0, g.plane, dst.data());
  const DepthwiseJob job{g, x.data, koff.data(), dst.data(), w.data, ep, y.data};
  parallel_for_chunks(g.C, 1, [&](int64_t b, int64_t e, int64_t) {
    for (int64_t c = b; c < e; ++c) depthwise_channel(job, c);
  });
}

}  // namespace mqcalib::exec_detail
