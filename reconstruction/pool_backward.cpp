// mqcalib/reconstruction/pool_backward.cpp: max / avg / adaptive-avg pool gradients (header formulas).
#include "reconstruction/pool_backward.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "core/parallel.h"

namespace mqcalib {

namespace {

constexpr int64_t kPlaneChunkElems = 8192;

struct Planes {
  int64_t count, H, W, OH, OW;
};

Planes check(const Shape& gx, const Shape& gy, const Shape& expect_gy, const char* fn) {
  if (gy != expect_gy)
    throw Error(std::string(fn) + ": gradient gy has shape " + shape_to_string(gy) + " but pooling input " +
                shape_to_string(gx) + " gives " + shape_to_string(expect_gy));
  return {gx[0] * gx[1], gx[2], gx[3], gy[2], gy[3]};
}

void max_plane(const float* x, const float* gy, const Pool2dParams& p, const Planes& g, float* gx) {
  std::fill(gx, gx + g.H * g.W, 0.0f);
  for (int64_t oh = 0; oh < g.OH; ++oh)
    for (int64_t ow = 0; ow < g.OW; ++ow) {
      float m = -INFINITY;
      int64_t arg = -1;
      for (int64_t i = 0; i < p.kernel_h; ++i) {
        const int64_t ih = oh * p.stride_h - p.pad_h + i * p.dil_h;
        if (ih < 0 || ih >= g.H) continue;
        for (int64_t j = 0; j < p.kernel_w; ++j) {
          const int64_t iw = ow * p.stride_w - p.pad_w + j * p.dil_w;
          if (iw < 0 || iw >= g.W) continue;
          const float v = x[ih * g.W + iw];
          if (arg < 0 || v > m || std::isnan(v)) {
            m = v;
            arg = ih * g.W + iw;
          }
        }
      }
      if (arg >= 0) gx[arg] += gy[oh * g.OW + ow];
    }
}

void avg_plane(const float* gy, const Pool2dParams& p, const Planes& g, float* gx) {
  std::fill(gx, gx + g.H * g.W, 0.0f);
  for (int64_t oh = 0; oh < g.OH; ++oh)
    for (int64_t ow = 0; ow < g.OW; ++ow) {
      int64_t h0 = oh * p.stride_h - p.pad_h, w0 = ow * p.stride_w - p.pad_w;
      int64_t h1 = std::min(h0 + p.kernel_h, g.H + p.pad_h), w1 = std::min(w0 + p.kernel_w, g.W + p.pad_w);
      const int64_t pool_size = (h1 - h0) * (w1 - w0);
      h0 = std::max<int64_t>(h0, 0);
      w0 = std::max<int64_t>(w0, 0);
      h1 = std::min(h1, g.H);
      w1 = std::min(w1, g.W);
      if (h0 >= h1 || w0 >= w1) continue;
      const int64_t div = p.count_include_pad ? pool_size : (h1 - h0) * (w1 - w0);
      const float v = gy[oh * g.OW + ow] / static_cast<float>(div);
      for (int64_t ih = h0; ih < h1; ++ih)
        for (int64_t iw = w0; iw < w1; ++iw) gx[ih * g.W + iw] += v;
    }
}

void adaptive_plane(const float* gy, const Planes& g, float* gx) {
  std::fill(gx, gx + g.H * g.W, 0.0f);
  for (int64_t oh = 0; oh < g.OH; ++oh) {
    const int64_t h0 = (oh * g.H) / g.OH, h1 = ((oh + 1) * g.H + g.OH - 1) / g.OH;
    for (int64_t ow = 0; ow < g.OW; ++ow) {
      const int64_t w0 = (ow * g.W) / g.OW, w1 = ((ow + 1) * g.W + g.OW - 1) / g.OW;
      const float v = gy[oh * g.OW + ow] / static_cast<float>((h1 - h0) * (w1 - w0));
      for (int64_t ih = h0; ih < h1; ++ih)
        for (int64_t iw = w0; iw < w1; ++iw) gx[ih * g.W + iw] += v;
    }
  }
}

// fn(plane index) over all planes, in fixed parallel chunks or serially.
template <class Fn>
void for_planes(const Planes& g, bool parallel, Fn&& fn) {
  auto body = [&](int64_t b, int64_t e, int64_t) {
    for (int64_t pl = b; pl < e; ++pl) fn(pl);
  };
  if (parallel)
    parallel_for_chunks(g.count, std::max<int64_t>(1, kPlaneChunkElems / std::max<int64_t>(1, g.H * g.W)), body);
  else
    body(0, g.count, 0);
}

void max_backward(const ViewF32& x, const ViewF32& gy, const Pool2dParams& p, MutViewF32& gx, bool par,
                  const char* fn) {
  if (x.shape != gx.shape)
    throw Error(std::string(fn) + ": input " + shape_to_string(x.shape) + " and gradient gx " +
                shape_to_string(gx.shape) + " differ");
  const Planes g = check(gx.shape, gy.shape, pool2d_output_shape(x.shape, p), fn);
  for_planes(g, par, [&](int64_t pl) {
    max_plane(x.data + pl * g.H * g.W, gy.data + pl * g.OH * g.OW, p, g, gx.data + pl * g.H * g.W);
  });
}

void avg_backward(const ViewF32& gy, const Pool2dParams& p, MutViewF32& gx, bool par, const char* fn) {
  if (p.dil_h != 1 || p.dil_w != 1) throw Error(std::string(fn) + ": dilation must be 1");
  const Planes g = check(gx.shape, gy.shape, pool2d_output_shape(gx.shape, p), fn);
  for_planes(g, par, [&](int64_t pl) { avg_plane(gy.data + pl * g.OH * g.OW, p, g, gx.data + pl * g.H * g.W); });
}

void adaptive_backward(const ViewF32& gy, MutViewF32& gx, bool par, const char* fn) {
  if (gx.shape.size() != 4 || gy.shape.size() != 4 || gy.shape[2] < 1 || gy.shape[3] < 1)
    throw Error(std::string(fn) + ": gx and gy must be [N,C,H,W] and [N,C,OH,OW], got " + shape_to_string(gx.shape) +
                " and " + shape_to_string(gy.shape));
  const Planes g = check(gx.shape, gy.shape, {gx.shape[0], gx.shape[1], gy.shape[2], gy.shape[3]}, fn);
  for_planes(g, par, [&](int64_t pl) { adaptive_plane(gy.data + pl * g.OH * g.OW, g, gx.data + pl * g.H * g.W); });
}

}  // namespace

void max_pool2d_backward_nchw_f32(ViewF32 x, ViewF32 gy, const Pool2dParams& p, MutViewF32 gx) {
  max_backward(x, gy, p, gx, true, "max_pool2d_backward");
}
void max_pool2d_backward_nchw_f32_ref(ViewF32 x, ViewF32 gy, const Pool2dParams& p, MutViewF32 gx) {
  max_backward(x, gy, p, gx, false, "max_pool2d_backward_ref");
}
void avg_pool2d_backward_nchw_f32(ViewF32 gy, const Pool2dParams& p, MutViewF32 gx) {
  avg_backward(gy, p, gx, true, "avg_pool2d_backward");
}
void avg_pool2d_backward_nchw_f32_ref(ViewF32 gy, const Pool2dParams& p, MutViewF32 gx) {
  avg_backward(gy, p, gx, false, "avg_pool2d_backward_ref");
}
void adaptive_avg_pool2d_backward_nchw_f32(ViewF32 gy, MutViewF32 gx) {
  adaptive_backward(gy, gx, true, "adaptive_avg_pool2d_backward");
}
void adaptive_avg_pool2d_backward_nchw_f32_ref(ViewF32 gy, MutViewF32 gx) {
  adaptive_backward(gy, gx, false, "adaptive_avg_pool2d_backward");
}

}  // namespace mqcalib
