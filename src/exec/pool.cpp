// mqcalib/src/exec/pool.cpp: max / average / adaptive average pooling, NCHW float32. Window and
// divisor rules follow PyTorch's CPU kernels (see kernels.h). Max pooling runs vectorized on the
// batch's phase planes; average pooling is the reference loops run in parallel over (sample,
// channel) planes in fixed chunks. Both are bit-identical to the reference.
#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "core/parallel.h"
#include "exec/conv_gemm.h"
#include "exec/kernels.h"

namespace mqcalib {

namespace {

constexpr int64_t kPoolPlaneElems = 16384;  // target input elements per parallel chunk

int64_t pool_out(int64_t in, int64_t k, int64_t s, int64_t p, int64_t d, bool ceil_mode) {
  const int64_t num = in + 2 * p - d * (k - 1) - 1 + (ceil_mode ? s - 1 : 0);
  if (num < 0) return 0;
  int64_t out = num / s + 1;
  if (ceil_mode && (out - 1) * s >= in + p) --out;
  return out;
}

void check_pool_params(const Pool2dParams& p) {
  if (p.kernel_h < 1 || p.kernel_w < 1 || p.stride_h < 1 || p.stride_w < 1 || p.dil_h < 1 || p.dil_w < 1 ||
      p.pad_h < 0 || p.pad_w < 0)
    throw Error("pool2d: invalid kernel/stride/padding/dilation");
  if (2 * p.pad_h > p.kernel_h || 2 * p.pad_w > p.kernel_w)
    throw Error("pool2d: padding must be at most half the kernel size (PyTorch's rule)");
}

void check_4d(const Shape& x, const char* what) {
  if (x.size() != 4) throw Error(std::string(what) + ": input must be [N,C,H,W], got " + shape_to_string(x));
}

void check_out(const MutViewF32& y, const Shape& expected, const char* what) {
  if (y.shape != expected)
    throw Error(std::string(what) + ": output buffer " + shape_to_string(y.shape) + " but expected " +
                shape_to_string(expected));
}

// One plane of max pooling. PyTorch: a NaN in the window wins.
void max_plane(const float* x, int64_t H, int64_t W, const Pool2dParams& p, float* y, int64_t OH, int64_t OW) {
  for (int64_t oh = 0; oh < OH; ++oh)
    for (int64_t ow = 0; ow < OW; ++ow) {
      float m = -std::numeric_limits<float>::infinity();
      for (int64_t i = 0; i < p.kernel_h; ++i) {
        const int64_t ih = oh * p.stride_h - p.pad_h + i * p.dil_h;
        if (ih < 0 || ih >= H) continue;
        for (int64_t j = 0; j < p.kernel_w; ++j) {
          const int64_t iw = ow * p.stride_w - p.pad_w + j * p.dil_w;
          if (iw < 0 || iw >= W) continue;
          const float v = x[ih * W + iw];
          if (v > m || std::isnan(v)) m = v;
        }
      }
      y[oh * OW + ow] = m;
    }
}

void avg_plane(const float* x, int64_t H, int64_t W, const Pool2dParams& p, float* y, int64_t OH, int64_t OW) {
  for (int64_t oh = 0; oh < OH; ++oh)
    for (int64_t ow = 0; ow < OW; ++ow) {
      int64_t h0 = oh * p.stride_h - p.pad_h, w0 = ow * p.stride_w - p.pad_w;
      int64_t h1 = std::min(h0 + p.kernel_h, H + p.pad_h), w1 = std::min(w0 + p.kernel_w, W + p.pad_w);
      const int64_t pool_size = (h1 - h0) * (w1 - w0);
      h0 = std::max<int64_t>(h0, 0);
      w0 = std::max<int64_t>(w0, 0);
      h1 = std::min(h1, H);
      w1 = std::min(w1, W);
      if (h0 >= h1 || w0 >= w1) {
        y[oh * OW + ow] = 0.0f;
        continue;
      }
      float sum = 0.0f;
      for (int64_t ih = h0; ih < h1; ++ih)
        for (int64_t iw = w0; iw < w1; ++iw) sum += x[ih * W + iw];
      const int64_t div = p.count_include_pad ? pool_size : (h1 - h0) * (w1 - w0);
      y[oh * OW + ow] = sum / static_cast<float>(div);
    }
}

void adaptive_plane(const float* x, int64_t H, int64_t W, float* y, int64_t OH, int64_t OW) {
  for (int64_t oh = 0; oh < OH; ++oh) {
    const int64_t h0 = (oh * H) / OH, h1 = ((oh + 1) * H + OH - 1) / OH;
    for (int64_t ow = 0; ow < OW; ++ow) {
      const int64_t w0 = (ow * W) / OW, w1 = ((ow + 1) * W + OW - 1) / OW;
      float sum = 0.0f;
      for (int64_t ih = h0; ih < h1; ++ih)
        for (int64_t iw = w0; iw < w1; ++iw) sum += x[ih * W + iw];
      y[oh * OW + ow] = sum / static_cast<float>((h1 - h0) * (w1 - w0));
    }
  }
}

template <class PlaneFn>
void for_planes(const ViewF32& x, MutViewF32& y, PlaneFn&& fn, bool parallel) {
  const int64_t planes = x.shape[0] * x.shape[1];
  const int64_t H = x.shape[2], W = x.shape[3], OH = y.shape[2], OW = y.shape[3];
  auto body = [&](int64_t b, int64_t e, int64_t) {
    for (int64_t pl = b; pl < e; ++pl) fn(x.data + pl * H * W, H, W, y.data + pl * OH * OW, OH, OW);
  };
  if (parallel)
    parallel_for_chunks(planes, std::max<int64_t>(1, kPoolPlaneElems / std::max<int64_t>(1, H * W)), body);
  else
    body(0, planes, 0);
}

// ---- max pooling on the batch's phase planes (conv_gemm.h), padded with -inf ------------------
// On the planes' grid every window tap of consecutive outputs is consecutive, so each (column chunk,
// channel) is a vector loop per tap: m = v if v > m or v is NaN, over the taps in the reference's
// (i, j) order from m = -inf. A padded tap (-inf) never changes m, so the result is the reference's
// bit for bit (NaN included: the last NaN of the window wins in both).
constexpr int64_t kMaxChunkCols = 512;

// The conv geometry of the pooling window, its grid extended for ceil_mode windows that end past
// the padded input.
exec_detail::ConvGeom pool_geom(const Shape& x, const Pool2dParams& p, const Shape& y) {
  Conv2dParams cp;
  cp.stride_h = p.stride_h;
  cp.stride_w = p.stride_w;
  cp.pad_h = p.pad_h;
  cp.pad_w = p.pad_w;
  cp.dil_h = p.dil_h;
  cp.dil_w = p.dil_w;
  cp.groups = x[1];
  exec_detail::ConvGeom g = exec_detail::conv_geom(x, {x[1], 1, p.kernel_h, p.kernel_w}, cp, y);
  const int64_t rows = (y[2] - 1) * p.stride_h + (p.kernel_h - 1) * p.dil_h + 1;
  const int64_t cols = (y[3] - 1) * p.stride_w + (p.kernel_w - 1) * p.dil_w + 1;
  g.Hq = std::max(g.Hq, (rows + p.stride_h - 1) / p.stride_h);
  g.Wq = std::max(g.Wq, (cols + p.stride_w - 1) / p.stride_w);
  g.plane = g.N * g.Hq * g.Wq;
  g.max_tap = ((g.KH - 1) * p.dil_h / p.stride_h) * g.Wq + (g.KW - 1) * p.dil_w / p.stride_w;
  return g;
}

// Channel c: its planes (one channel of the batch, cache-resident), then the window maxima.
void max_channel(const exec_detail::ConvGeom& g, const float* x, const int64_t* koff, const int64_t* dst, int64_t c,
                 float* y) {
  thread_local std::vector<float> planes_buf, acc_buf;
  const int64_t chan = g.phases * g.plane, slack = g.max_tap + kMaxChunkCols;
  if (planes_buf.size() < static_cast<size_t>(chan + slack)) planes_buf.resize(static_cast<size_t>(chan + slack));
  if (acc_buf.size() < static_cast<size_t>(kMaxChunkCols)) acc_buf.resize(kMaxChunkCols);
  float* planes = planes_buf.data();
  exec_detail::build_channel_planes(g, x, c, -std::numeric_limits<float>::infinity(), planes);
  std::fill(planes + chan, planes + chan + slack, -std::numeric_limits<float>::infinity());
  float* __restrict acc = acc_buf.data();
  float* yc = y + c * g.OH * g.OW;
  for (int64_t m0 = 0; m0 < g.plane; m0 += kMaxChunkCols) {
    const int64_t len = std::min(kMaxChunkCols, g.plane - m0);
    std::fill(acc, acc + len, -std::numeric_limits<float>::infinity());
    for (int64_t k = 0; k < g.K; ++k) {
      const float* __restrict src = planes + koff[k] + m0;
      for (int64_t j = 0; j < len; ++j) {
        const float v = src[j];
        acc[j] = (v > acc[j] || v != v) ? v : acc[j];
      }
    }
    for (int64_t j = 0; j < len; ++j)
      if (dst[m0 + j] >= 0) yc[dst[m0 + j]] = acc[j];
  }
}

void max_pool_planes(const ViewF32& x, const Pool2dParams& p, MutViewF32& y) {
  const exec_detail::ConvGeom g = pool_geom(x.shape, p, y.shape);
  const std::vector<int64_t> koff = exec_detail::tap_offsets(g);
  std::vector<int64_t> dst(static_cast<size_t>(g.plane));
  exec_detail::grid_columns(g, 0, g.plane, dst.data());
  parallel_for_chunks(g.C, 1, [&](int64_t b, int64_t e, int64_t) {
    for (int64_t c = b; c < e; ++c) max_channel(g, x.data, koff.data(), dst.data(), c, y.data);
  });
}

}  // namespace

Shape pool2d_output_shape(const Shape& x, const Pool2dParams& p) {
  check_4d(x, "pool2d");
  check_pool_params(p);
  const int64_t oh = pool_out(x[2], p.kernel_h, p.stride_h, p.pad_h, p.dil_h, p.ceil_mode);
  const int64_t ow = pool_out(x[3], p.kernel_w, p.stride_w, p.pad_w, p.dil_w, p.ceil_mode);
  if (oh <= 0 || ow <= 0) throw Error("pool2d: input " + shape_to_string(x) + " too small for the kernel");
  return {x[0], x[1], oh, ow};
}

void max_pool2d_nchw_f32(ViewF32 x, const Pool2dParams& p, MutViewF32 y) {
  check_out(y, pool2d_output_shape(x.shape, p), "max_pool2d");
  if (y.size() > 0) max_pool_planes(x, p, y);
}
void max_pool2d_nchw_f32_ref(ViewF32 x, const Pool2dParams& p, MutViewF32 y) {
  check_out(y, pool2d_output_shape(x.shape, p), "max_pool2d");
  for_planes(
      x, y,
      [&](const float* xp, int64_t H, int64_t W, float* yp, int64_t OH, int64_t OW) {
        max_plane(xp, H, W, p, yp, OH, OW);
      },
      false);
}

void avg_pool2d_nchw_f32(ViewF32 x, const Pool2dParams& p, MutViewF32 y) {
  if (p.dil_h != 1 || p.dil_w != 1) throw Error("avg_pool2d: dilation must be 1");
  check_out(y, pool2d_output_shape(x.shape, p), "avg_pool2d");
  for_planes(
      x, y,
      [&](const float* xp, int64_t H, int64_t W, float* yp, int64_t OH, int64_t OW) {
        avg_plane(xp, H, W, p, yp, OH, OW);
      },
      true);
}
void avg_pool2d_nchw_f32_ref(ViewF32 x, const Pool2dParams& p, MutViewF32 y) {
  if (p.dil_h != 1 || p.dil_w != 1) throw Error("avg_pool2d: dilation must be 1");
  check_out(y, pool2d_output_shape(x.shape, p), "avg_pool2d");
  for_planes(
      x, y,
      [&](const float* xp, int64_t H, int64_t W, float* yp, int64_t OH, int64_t OW) {
        avg_plane(xp, H, W, p, yp, OH, OW);
      },
      false);
}

void adaptive_avg_pool2d_nchw_f32(ViewF32 x, int64_t out_h, int64_t out_w, MutViewF32 y) {
  check_4d(x.shape, "adaptive_avg_pool2d");
  if (out_h < 1 || out_w < 1) throw Error("adaptive_avg_pool2d: output size must be positive");
  check_out(y, {x.shape[0], x.shape[1], out_h, out_w}, "adaptive_avg_pool2d");
  for_planes(x, y, adaptive_plane, true);
}
void adaptive_avg_pool2d_nchw_f32_ref(ViewF32 x, int64_t out_h, int64_t out_w, MutViewF32 y) {
  check_4d(x.shape, "adaptive_avg_pool2d");
  if (out_h < 1 || out_w < 1) throw Error("adaptive_avg_pool2d: output size must be positive");
  check_out(y, {x.shape[0], x.shape[1], out_h, out_w}, "adaptive_avg_pool2d");
  for_planes(x, y, adaptive_plane, false);
}

}  // namespace mqcalib
