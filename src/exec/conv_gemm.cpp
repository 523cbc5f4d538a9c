// mqcalib/src/exec/conv_gemm.cpp: conv2d as a GEMM over the input's stride-phase planes (layout and
// modes in conv_gemm.h; micro-kernel and summation order in gemm_kernel.h).
#include "exec/conv_gemm.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "core/parallel.h"
#include "exec/gemm_kernel.h"

namespace mqcalib::exec_detail {

ConvGeom conv_geom(const Shape& x, const Shape& w, const Conv2dParams& p, const Shape& y) {
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
  g.phases = p.stride_h * p.stride_w;
  g.plane = g.N * g.Hq * g.Wq;
  g.max_tap = ((g.KH - 1) * p.dil_h / p.stride_h) * g.Wq + (g.KW - 1) * p.dil_w / p.stride_w;
  return g;
}

// koff[(c * KH + i) * KW + j] for every input channel c (group g's taps start at g * K).
std::vector<int64_t> tap_offsets(const ConvGeom& g) {
  std::vector<int64_t> koff(static_cast<size_t>(g.C * g.KH * g.KW));
  const Conv2dParams& p = g.p;
  for (int64_t c = 0; c < g.C; ++c)
    for (int64_t i = 0; i < g.KH; ++i)
      for (int64_t j = 0; j < g.KW; ++j) {
        const int64_t a = i * p.dil_h, b = j * p.dil_w;
        const int64_t phase = (a % p.stride_h) * p.stride_w + b % p.stride_w;
        koff[static_cast<size_t>((c * g.KH + i) * g.KW + j)] =
            (c * g.phases + phase) * g.plane + (a / p.stride_h) * g.Wq + b / p.stride_w;
      }
  return koff;
}

namespace {

// One (channel, sample) of the planes: every phase's Hq x Wq grid, padding `pad`; `channel` points
// at the channel's first phase plane.
void build_plane(const ConvGeom& g, const float* xc, int64_t n, float pad, float* channel) {
  const Conv2dParams& p = g.p;
  const int64_t Wq = g.Wq;
  for (int64_t a = 0; a < p.stride_h; ++a)
    for (int64_t b = 0; b < p.stride_w; ++b) {
      float* dst = channel + (a * p.stride_w + b) * g.plane + n * g.Hq * Wq;
      // columns cq with iw = cq * s + b - pad in [0, W): [lo, hi); the rest is padding. Plain loops:
      // the rows are short, a library call per piece would cost more than the copy.
      const int64_t s_w = p.stride_w, off = b - p.pad_w;
      const int64_t lo = std::min(Wq, off >= 0 ? 0 : (-off + s_w - 1) / s_w);
      const int64_t hi = std::max(lo, std::min(Wq, (g.W - 1 - off) / s_w + 1));
      for (int64_t rq = 0; rq < g.Hq; ++rq) {
        float* row = dst + rq * Wq;
        const int64_t ih = rq * p.stride_h + a - p.pad_h;
        if (ih < 0 || ih >= g.H) {
          for (int64_t cq = 0; cq < Wq; ++cq) row[cq] = pad;
          continue;
        }
        const float* sp = xc + ih * g.W + off;
        for (int64_t cq = 0; cq < lo; ++cq) row[cq] = pad;
        if (s_w == 1) {
          for (int64_t cq = lo; cq < hi; ++cq) row[cq] = sp[cq];
        } else if (s_w == 2) {  // a constant stride vectorizes
          for (int64_t cq = lo; cq < hi; ++cq) row[cq] = sp[2 * cq];
        } else {
          for (int64_t cq = lo; cq < hi; ++cq) row[cq] = sp[cq * s_w];
        }
        for (int64_t cq = hi; cq < Wq; ++cq) row[cq] = pad;
      }
    }
}

}  // namespace

void build_channel_planes(const ConvGeom& g, const float* x, int64_t c, float pad_value, float* out) {
  for (int64_t n = 0; n < g.N; ++n) build_plane(g, x + (n * g.C + c) * g.H * g.W, n, pad_value, out);
}

void build_planes(const ConvGeom& g, const float* x, int64_t slack, float pad_value, std::vector<float>& planes) {
  const int64_t total = g.C * g.phases * g.plane + slack;
  if (static_cast<int64_t>(planes.size()) < total) planes.resize(static_cast<size_t>(total));
  float* pl = planes.data();
  std::fill(pl + g.C * g.phases * g.plane, pl + total, pad_value);
  parallel_for_chunks(g.C * g.N, 16, [&](int64_t b, int64_t e, int64_t) {
    for (int64_t u = b; u < e; ++u) {
      const int64_t c = u / g.N, n = u % g.N;
      build_plane(g, x + (n * g.C + c) * g.H * g.W, n, pad_value, pl + c * g.phases * g.plane);
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

namespace {

// Wide mode when at least this share of the planes' grid are outputs (else packed panels).
constexpr double kWideMinUseful = 0.7;

// wide / packed: see conv_gemm.h. direct: a 1x1, stride-1, unpadded conv reads x itself (tap k of
// column (n, p) at x + n C P + k P + p): a panel within one sample is read in place, one that spans
// two samples is packed from x.
enum class Mode { Wide, Packed, Direct };

// Cache blocking of a task (GotoBLAS-style): the weights are read in blocks of kMc rows x kKc taps
// (<= 240 KB, L2-resident) and each block serves every panel of the task before the next is read.
// Splitting the tap sum into blocks keeps its order (each block continues the chain from the stored
// partial sums), so the blocking never changes a bit.
constexpr int64_t kKc = 256;
constexpr int64_t kMc = 240;         // a multiple of both micro-kernel heights (12 and 6)
constexpr int64_t kMaxTaskPanels = 8;

// Per-thread scratch of a panel task.
struct PanelScratch {
  std::vector<float> c, res, packed;
  std::vector<int64_t> dst, src, koff_packed;
};

template <class T>
T* grown(std::vector<T>& v, int64_t n) {
  if (static_cast<int64_t>(v.size()) < n) v.resize(static_cast<size_t>(n));
  return v.data();
}

// Output columns [q0, q0 + nr) of `cols`, q = (n, oh, ow) counted incrementally: dst[j] = y offset of
// its (n, 0, oh, ow), src[j] = the offset its taps are read at (grid position for packed, x offset
// of (n, 0, p) for direct), -1 past the end.
void output_columns(const ConvGeom& g, Mode mode, int64_t q0, int64_t nr, int64_t cols, int64_t* dst, int64_t* src) {
  const int64_t per_out = g.OH * g.OW;
  int64_t n = q0 / per_out, oh = (q0 % per_out) / g.OW, ow = q0 % g.OW;
  for (int64_t j = 0; j < nr; ++j) {
    if (q0 + j >= cols) {
      dst[j] = src[j] = -1;
      continue;
    }
    dst[j] = n * g.O * per_out + oh * g.OW + ow;
    src[j] = mode == Mode::Direct ? n * g.C * per_out + oh * g.OW + ow : (n * g.Hq + oh) * g.Wq + ow;
    if (++ow == g.OW) {
      ow = 0;
      if (++oh == g.OH) {
        oh = 0;
        ++n;
      }
    }
  }
}

// packed[k * nr + j] = the tap k of column j (0 for a column past the end).
void pack_panel(const float* base, const int64_t* koff, int64_t K, const int64_t* src, int64_t nr, float* packed) {
  for (int64_t k = 0; k < K; ++k) {
    const float* pk = base + koff[k];
    float* out = packed + k * nr;
    for (int64_t j = 0; j < nr; ++j) out[j] = src[j] >= 0 ? pk[src[j]] : 0.0f;
  }
}

// True when the columns are nr consecutive offsets (a direct panel inside one sample).
bool contiguous(const int64_t* src, int64_t nr) {
  for (int64_t j = 0; j < nr; ++j)
    if (src[j] != src[0] + j || src[j] < 0) return false;
  return true;
}

struct PanelJob {
  const ConvGeom& g;
  const GemmKernel& kern;
  const float* base;    // the planes, or x (direct)
  const int64_t* koff;  // all channels
  const float* w;
  const ConvEpilogue& ep;
  float* y;
  Mode mode;
  int64_t cols;
};

// Panels [p0, p1): their columns, then per group and tap block the packed rows of the panels that
// are not read in place, each weight block against every panel, then the epilogues.
void run_task(const PanelJob& job, PanelScratch& s, int64_t p0, int64_t p1) {
  const ConvGeom& g = job.g;
  const int64_t nr = job.kern.nr, np = p1 - p0;
  float* c = grown(s.c, np * g.Og * nr);
  float* res = grown(s.res, g.Og * nr);
  int64_t* dst = grown(s.dst, np * nr);
  int64_t* src = grown(s.src, np * nr);
  float* packed = grown(s.packed, np * std::min(kKc, g.K) * nr);
  int64_t* koff_p = grown(s.koff_packed, std::min(kKc, g.K));
  for (int64_t k = 0; k < std::min(kKc, g.K); ++k) koff_p[k] = k * nr;
  std::vector<char> in_place(static_cast<size_t>(np));
  for (int64_t i = 0; i < np; ++i) {
    const int64_t q0 = (p0 + i) * nr;
    if (job.mode == Mode::Wide)
      grid_columns(g, q0, nr, dst + i * nr, src + i * nr);
    else
      output_columns(g, job.mode, q0, nr, job.cols, dst + i * nr, src + i * nr);
    in_place[static_cast<size_t>(i)] =
        job.mode == Mode::Wide || (job.mode == Mode::Direct && contiguous(src + i * nr, nr));
  }
  for (int64_t grp = 0; grp < g.G; ++grp) {
    const int64_t* koff = job.koff + grp * g.K;
    const float* a = job.w + grp * g.Og * g.K;
    for (int64_t kb = 0; kb < g.K; kb += kKc) {
      const int64_t kc = std::min(kKc, g.K - kb);
      for (int64_t i = 0; i < np; ++i)
        if (!in_place[static_cast<size_t>(i)]) pack_panel(job.base, koff + kb, kc, src + i * nr, nr, packed + i * kc * nr);
      for (int64_t mb = 0; mb < g.Og; mb += kMc)
        for (int64_t i = 0; i < np; ++i) {
          const bool direct = in_place[static_cast<size_t>(i)];
          const float* b = !direct ? packed + i * kc * nr
                           : job.mode == Mode::Wide ? job.base + (p0 + i) * nr
                                                    : job.base + src[i * nr];
          job.kern.panel(a + mb * g.K + kb, g.K, std::min(kMc, g.Og - mb), b, direct ? koff + kb : koff_p, kc,
                         c + (i * g.Og + mb) * nr, kb > 0);
        }
    }
    for (int64_t i = 0; i < np; ++i)
      conv_epilogue_panel(job.ep, c + i * g.Og * nr, g.Og, grp * g.Og, nr, dst + i * nr, g.OH * g.OW, res, job.y);
  }
}

}  // namespace

void conv2d_gemm_nchw_f32(ViewF32 x, ViewF32 w, const ConvEpilogue& ep, const Conv2dParams& p, MutViewF32 y) {
  const ConvGeom g = conv_geom(x.shape, w.shape, p, y.shape);
  const GemmKernel& kern = gemm_kernel();
  const int64_t grid = g.N * g.Hq * g.Wq, outputs = g.N * g.OH * g.OW;
  const bool one_by_one = g.KH == 1 && g.KW == 1 && p.stride_h == 1 && p.stride_w == 1 && p.pad_h == 0 && p.pad_w == 0;
  const Mode mode = one_by_one                                                                   ? Mode::Direct
                    : static_cast<double>(outputs) >= kWideMinUseful * static_cast<double>(grid) ? Mode::Wide
                                                                                                 : Mode::Packed;
  const int64_t cols = mode == Mode::Wide ? grid : outputs;
  const int64_t panels = (cols + kern.nr - 1) / kern.nr;
  std::vector<int64_t> koff;
  const float* base = x.data;
  thread_local std::vector<float> planes;
  if (mode == Mode::Direct) {
    koff.resize(static_cast<size_t>(g.C));
    for (int64_t c = 0; c < g.C; ++c) koff[static_cast<size_t>(c)] = c * g.H * g.W;
  } else {
    build_planes(g, x.data, g.max_tap + panels * kern.nr - std::min(cols, grid) + kern.nr, 0.0f, planes);
    koff = tap_offsets(g);
    base = planes.data();  // the caller's thread_local: workers must not name it
  }
  const PanelJob job{g, kern, base, koff.data(), w.data, ep, y.data, mode, cols};
  // Panels per task: as many as share a weight block (<= kMaxTaskPanels) while every thread gets
  // work. The split only affects speed: each output's sum is the same chain whatever the task.
  const int64_t per_task = std::clamp<int64_t>(panels / std::max(1, num_threads()), 1, kMaxTaskPanels);
  parallel_for_chunks(panels, per_task, [&](int64_t b, int64_t e, int64_t) {
    thread_local PanelScratch scratch;
    run_task(job, scratch, b, e);
  });
}

}  // namespace mqcalib::exec_detail
