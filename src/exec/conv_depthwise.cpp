// mqcalib/src/exec/conv_depthwise.cpp: depthwise conv2d (C/groups == 1) on the batch's phase planes
// (conv_gemm.h). Output channel o reads input channel o / (O / C); on the planes' grid every tap of
// consecutive columns is consecutive, so each (column chunk, output channel) is one row of the GEMM
// kernel (gemm_kernel.h, GemmKernel::row): acc[m] = sum over k = (i, j) ascending of
// fma(w[o][k], plane[koff[k] + m], acc[m]), the reference's chain (a padded tap adds an exact +0),
// then the epilogue; junk columns are dropped.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <vector>

#include "core/parallel.h"
#include "exec/conv_gemm.h"
#include "exec/gemm_kernel.h"

namespace mqcalib::exec_detail {

namespace {

constexpr int64_t kChunkCols = 512;     // grid columns per task
constexpr int64_t kTaskFmas = 1 << 15;  // multiply-adds per parallel chunk of tasks, at least

struct DepthwiseScratch {
  std::vector<float> acc, res;
  std::vector<int64_t> dst;
  uint64_t dst_call = 0;  // the call and column chunk dst holds
  int64_t dst_chunk = -1;
};

std::atomic<uint64_t> g_calls{0};  // distinguishes calls for the per-thread dst cache

// dst[j] = y offset of grid column m0 + j's (n, 0, oh, ow), or -1 for junk / past the grid.
void grid_columns(const ConvGeom& g, int64_t m0, int64_t len, int64_t* dst) {
  const int64_t per_grid = g.Hq * g.Wq;
  for (int64_t j = 0; j < len; ++j) {
    const int64_t m = m0 + j, n = m / per_grid, oh = (m % per_grid) / g.Wq, ow = m % g.Wq;
    dst[j] = (m < g.plane && oh < g.OH && ow < g.OW) ? n * g.O * g.OH * g.OW + oh * g.OW + ow : -1;
  }
}

void depthwise_task(const ConvGeom& g, const float* planes, const int64_t* koff, const float* w, const ConvEpilogue& ep,
                    uint64_t call, int64_t chunk, int64_t o, float* y) {
  thread_local DepthwiseScratch s;
  if (s.acc.size() < static_cast<size_t>(kChunkCols)) {
    s.acc.resize(kChunkCols);
    s.res.resize(kChunkCols);
    s.dst.resize(kChunkCols);
  }
  const int64_t m0 = chunk * kChunkCols, len = std::min(kChunkCols, g.plane - m0);
  if (s.dst_call != call || s.dst_chunk != chunk) {
    grid_columns(g, m0, len, s.dst.data());
    s.dst_call = call;
    s.dst_chunk = chunk;
  }
  float* acc = s.acc.data();
  const int64_t c = o / g.Og;
  gemm_kernel().row(w + o * g.K, planes + m0, koff + c * g.K, g.K, acc, len);
  conv_epilogue_panel(ep, acc, 1, o, len, s.dst.data(), g.OH * g.OW, s.res.data(), y);
}

}  // namespace

void conv2d_depthwise_nchw_f32(ViewF32 x, ViewF32 w, const ConvEpilogue& ep, const Conv2dParams& p, MutViewF32 y) {
  const ConvGeom g = conv_geom(x.shape, w.shape, p, y.shape);
  thread_local std::vector<float> planes;
  build_planes(g, x.data, g.max_tap + kChunkCols, 0.0f, planes);
  const std::vector<int64_t> koff = tap_offsets(g);
  const int64_t chunks = (g.plane + kChunkCols - 1) / kChunkCols;
  const int64_t per_task = std::max<int64_t>(1, kTaskFmas / (kChunkCols * g.K));
  const uint64_t call = ++g_calls;
  const float* pl = planes.data();  // the caller's thread_local: workers must not name it
  parallel_for_chunks(chunks * g.O, per_task, [&](int64_t b, int64_t e, int64_t) {
    for (int64_t u = b; u < e; ++u) depthwise_task(g, pl, koff.data(), w.data, ep, call, u / g.O, u % g.O, y.data);
  });
}

}  // namespace mqcalib::exec_detail
