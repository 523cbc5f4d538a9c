// mqcalib/src/exec/conv_planes.cpp: the stride-phase planes of a conv's (or pool's) input and their
// grid (layout in conv_gemm.h): geometry, tap offsets, building, grid columns.
#include <algorithm>
#include <vector>

#include "core/parallel.h"
#include "exec/conv_gemm.h"

namespace mqcalib::exec_detail {

ConvGeom conv_geom(const Shape& x, const Shape& w, const Conv2dParams& p, const Shape& y, bool shared_padding) {
  ConvGeom g;
  g.N = x[0];
  g.C = x[1];
  g.H = x[2];
  g.W = x[3];
  g.O = w[0];
  g.KH = w[2];
  g.KW = w[3];
  g.OH = y[2];
  g.OW = y[3];
  g.G = p.groups;
  g.Cg = g.C / g.G;
  g.Og = g.O / g.G;
  g.K = g.Cg * g.KH * g.KW;
  g.p = p;
  g.Hq = (g.H + 2 * p.pad_h + p.stride_h - 1) / p.stride_h;
  g.Wq = (g.W + 2 * p.pad_w + p.stride_w - 1) / p.stride_w;
  if (shared_padding && p.stride_h == 1 && p.pad_h <= p.dil_h * (g.KH - 1)) g.Hq = g.H + p.pad_h;
  if (shared_padding && p.stride_w == 1 && p.pad_w <= p.dil_w * (g.KW - 1)) g.Wq = g.W + p.pad_w;
  g.phases = p.stride_h * p.stride_w;
  g.plane = g.N * g.Hq * g.Wq;
  g.max_tap = ((g.KH - 1) * p.dil_h / p.stride_h) * g.Wq + (g.KW - 1) * p.dil_w / p.stride_w;
  return g;
}

// koff[(c * KH + i) * KW + j] for every input channel c (group g's taps start at g * K).
std::vector<int64_t> tap_offsets(const ConvGeom& g, bool sample_minor) {
  const int64_t per_position = sample_minor ? g.N : 1;
  std::vector<int64_t> koff(static_cast<size_t>(g.C * g.KH * g.KW));
  const Conv2dParams& p = g.p;
  for (int64_t c = 0; c < g.C; ++c)
    for (int64_t i = 0; i < g.KH; ++i)
      for (int64_t j = 0; j < g.KW; ++j) {
        const int64_t a = i * p.dil_h, b = j * p.dil_w;
        const int64_t phase = (a % p.stride_h) * p.stride_w + b % p.stride_w;
        koff[static_cast<size_t>((c * g.KH + i) * g.KW + j)] =
            (c * g.phases + phase) * g.plane + ((a / p.stride_h) * g.Wq + b / p.stride_w) * per_position;
      }
  return koff;
}

namespace {

// Where phase (a, b)'s rows and columns meet the input: grid row rq reads input row rq * sh + a -
// pad_h, valid for rq in [r_lo, r_hi); column cq reads input column cq * sw + off, valid for cq in
// [lo, hi). Everything else of the phase's grid is padding. The same for every channel and sample.
struct PhaseSpan {
  int64_t r_lo, r_hi, lo, hi, off;
};

PhaseSpan phase_span(const ConvGeom& g, int64_t a, int64_t b) {
  const Conv2dParams& p = g.p;
  const auto span = [](int64_t extent, int64_t grid, int64_t s, int64_t off, int64_t& lo, int64_t& hi) {
    lo = std::min(grid, off >= 0 ? 0 : (-off + s - 1) / s);
    hi = extent - 1 - off < 0 ? lo : std::max(lo, std::min(grid, (extent - 1 - off) / s + 1));
  };
  PhaseSpan ps{};
  ps.off = b - p.pad_w;
  span(g.H, g.Hq, p.stride_h, a - p.pad_h, ps.r_lo, ps.r_hi);
  span(g.W, g.Wq, p.stride_w, ps.off, ps.lo, ps.hi);
  return ps;
}

// Samples [n0, n1) of one channel (input xc = channel c of sample 0, samples C * H * W apart) into
// their phase planes (`channel` = the channel's first phase plane), padding `pad`: the samples'
// grids are consecutive, so the whole range is filled with padding first, then the input rows are
// copied in. Plain loops: the rows are short, a library call per piece would cost more than the copy.
void build_samples(const ConvGeom& g, const float* xc, int64_t n0, int64_t n1, float pad, float* channel) {
  const Conv2dParams& p = g.p;
  const int64_t Wq = g.Wq, per_grid = g.Hq * Wq, s_w = p.stride_w;
  for (int64_t a = 0; a < p.stride_h; ++a)
    for (int64_t b = 0; b < s_w; ++b) {
      const PhaseSpan ps = phase_span(g, a, b);
      float* dst = channel + (a * s_w + b) * g.plane;
      std::fill(dst + n0 * per_grid, dst + n1 * per_grid, pad);
      for (int64_t n = n0; n < n1; ++n)
        for (int64_t rq = ps.r_lo; rq < ps.r_hi; ++rq) {
          float* row = dst + n * per_grid + rq * Wq;
          const float* sp = xc + n * g.C * g.H * g.W + (rq * p.stride_h + a - p.pad_h) * g.W + ps.off;
          if (s_w == 1) {
            for (int64_t cq = ps.lo; cq < ps.hi; ++cq) row[cq] = sp[cq];
          } else if (s_w == 2) {  // a constant stride vectorizes
            for (int64_t cq = ps.lo; cq < ps.hi; ++cq) row[cq] = sp[2 * cq];
          } else {
            for (int64_t cq = ps.lo; cq < ps.hi; ++cq) row[cq] = sp[cq * s_w];
          }
        }
    }
}

}  // namespace

void build_channel_planes(const ConvGeom& g, const float* x, int64_t c, float pad_value, float* out) {
  build_samples(g, x + c * g.H * g.W, 0, g.N, pad_value, out);
}

void build_planes(const ConvGeom& g, const float* x, int64_t slack, float pad_value, std::vector<float>& planes) {
  const int64_t total = g.C * g.phases * g.plane + slack;
  if (static_cast<int64_t>(planes.size()) < total) planes.resize(static_cast<size_t>(total));
  float* pl = planes.data();
  std::fill(pl + g.C * g.phases * g.plane, pl + total, pad_value);
  // units u = (c, n), c-major: a chunk is a few runs of consecutive samples of one channel.
  parallel_for_chunks(g.C * g.N, 16, [&](int64_t b, int64_t e, int64_t) {
    for (int64_t u = b; u < e;) {
      const int64_t c = u / g.N, n0 = u % g.N, n1 = std::min(g.N, n0 + (e - u));
      build_samples(g, x + c * g.H * g.W, n0, n1, pad_value, pl + c * g.phases * g.plane);
      u += n1 - n0;
    }
  });
}

void grid_columns(const ConvGeom& g, int64_t m0, int64_t len, int64_t* dst, int64_t* src) {
  const int64_t per_grid = g.Hq * g.Wq, per_out = g.OH * g.OW;
  int64_t n = m0 / per_grid, oh = (m0 % per_grid) / g.Wq, ow = m0 % g.Wq;
  for (int64_t j = 0; j < len; ++j) {
    const bool out = m0 + j < g.plane && oh < g.OH && ow < g.OW;
    dst[j] = out ? n * g.O * per_out + oh * g.OW + ow : -1;
    if (src) src[j] = out ? m0 + j : -1;
    if (++ow == g.Wq) {
      ow = 0;
      if (++oh == g.Hq) {
        oh = 0;
        ++n;
      }
    }
  }
}

}  // namespace mqcalib::exec_detail

namespace mqcalib::exec_detail {

namespace {

// True when some tap t < taps reads phase a (t * dil % stride == a): a 1x1 stride-2 conv reads one
// phase of four.
bool phase_read(int64_t a, int64_t taps, int64_t dil, int64_t stride) {
  for (int64_t t = 0; t < taps; ++t)
    if (t * dil % stride == a) return true;
  return false;
}

// Channel c of every sample into its sample-minor phase planes (conv_gemm.h) at `channel`: each
// grid position's N floats, padding where the position falls outside the input.
void build_channel_sample_minor(const ConvGeom& g, const float* xc, float* channel) {
  const Conv2dParams& p = g.p;
  const int64_t N = g.N, sample = g.C * g.H * g.W;
  for (int64_t a = 0; a < p.stride_h; ++a)
    for (int64_t b = 0; b < p.stride_w; ++b) {
      if (!phase_read(a, g.KH, p.dil_h, p.stride_h) || !phase_read(b, g.KW, p.dil_w, p.stride_w)) continue;
      float* dst = channel + (a * p.stride_w + b) * g.plane;
      for (int64_t rq = 0; rq < g.Hq; ++rq) {
        const int64_t ih = rq * p.stride_h + a - p.pad_h;
        for (int64_t cq = 0; cq < g.Wq; ++cq) {
          const int64_t iw = cq * p.stride_w + b - p.pad_w;
          float* at = dst + (rq * g.Wq + cq) * N;
          if (ih < 0 || ih >= g.H || iw < 0 || iw >= g.W) {
            std::fill(at, at + N, 0.0f);
            continue;
          }
          const float* from = xc + ih * g.W + iw;
          for (int64_t n = 0; n < N; ++n) at[n] = from[n * sample];
        }
      }
    }
}

}  // namespace

void build_planes_sample_minor(const ConvGeom& g, const float* x, int64_t slack, std::vector<float>& planes) {
  const int64_t total = g.C * g.phases * g.plane + slack;
  if (static_cast<int64_t>(planes.size()) < total) planes.resize(static_cast<size_t>(total));
  float* pl = planes.data();
  std::fill(pl + g.C * g.phases * g.plane, pl + total, 0.0f);
  parallel_for_chunks(g.C, 1, [&](int64_t b, int64_t e, int64_t) {
    for (int64_t c = b; c < e; ++c) build_channel_sample_minor(g, x + c * g.H * g.W, pl + c * g.phases * g.plane);
  });
}

}  // namespace mqcalib::exec_detail
