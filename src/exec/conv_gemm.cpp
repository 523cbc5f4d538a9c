// mqcalib/src/exec/conv_gemm.cpp: conv2d as a GEMM over the input's stride-phase planes (layout and
// modes in conv_gemm.h; micro-kernel and summation order in gemm_kernel.h).
#include "exec/conv_gemm.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "core/parallel.h"
#include "exec/conv_tap_classes.h"
#include "exec/gemm_kernel.h"

namespace mqcalib::exec_detail {

namespace {

// Wide mode when at least this share of the planes' grid are outputs (else packed panels). With
// many output channels a panel serves many row tiles: read in place it is re-read from the scattered
// planes per tile, packed once it stays in L1, so packing pays even for a few junk columns (measured
// at 2 threads, batch 32: 128 channels on 7x7 to 14x14 maps run 4-25% faster packed, 16-64
// channels 4-35% faster wide).
constexpr double kWideMinUseful = 0.7;
constexpr double kWideMinUsefulManyRows = 0.9;
constexpr int64_t kManyRows = 128;

double wide_min_useful(int64_t rows) { return rows >= kManyRows ? kWideMinUsefulManyRows : kWideMinUseful; }

// wide / packed / positions: see conv_gemm.h. direct: a 1x1, stride-1, unpadded conv reads x itself
// (tap k of column (n, p) at x + n C P + k P + p): a panel within one sample is read in place, one
// that spans two samples is packed from x.
enum class Mode { Wide, Packed, Direct, Positions };

// Positions mode when the batch's last panel per position leaves at most this share of its columns
// unused (N = 32 or 64 with 32-column panels: none), and each output sums at least kPositionsMinTaps
// products: its outputs are stored a sample at a time (8 positions per store), which costs more
// than the wide mode's contiguous rows when there is little to compute per output (measured at
// batch 32: 3x3 on one input channel, K = 9, takes 1.8x the wide mode; K = 144 is even).
constexpr double kPositionsMaxIdle = 0.125;
constexpr int64_t kPositionsMinTaps = 64;

// Cache blocking of a task (GotoBLAS-style): the weights are read in blocks of kMc rows x kKc taps
// (<= 240 KB, L2-resident) and each block serves every panel of the task before the next is read.
// Splitting the tap sum into blocks keeps its order (each block continues the chain from the stored
// partial sums), so the blocking never changes a bit.
constexpr int64_t kKc = 256;
constexpr int64_t kMc = 240;  // a multiple of both micro-kernel heights (12 and 6)
constexpr int64_t kMaxTaskPanels = 8;

template <class T>
T* grown(std::vector<T>& v, int64_t n) {
  if (static_cast<int64_t>(v.size()) < n) v.resize(static_cast<size_t>(n));
  return v.data();
}

// Output columns [q0, q0 + nr) of `cols` in the order `order` (empty: the identity), q = (n, oh, ow):
// dst[j] = y offset of its (n, 0, oh, ow), src[j] = the offset its taps are read at (grid position
// for packed, x offset of (n, 0, p) for direct), -1 past the end.
void output_columns(const ConvGeom& g, Mode mode, const std::vector<int64_t>& order, int64_t q0, int64_t nr,
                    int64_t cols, int64_t* dst, int64_t* src) {
  const int64_t per_out = g.OH * g.OW;
  for (int64_t j = 0; j < nr; ++j) {
    if (q0 + j >= cols) {
      dst[j] = src[j] = -1;
      continue;
    }
    const int64_t q = order.empty() ? q0 + j : order[static_cast<size_t>(q0 + j)];
    const int64_t n = q / per_out, oh = (q % per_out) / g.OW, ow = q % g.OW;
    dst[j] = n * g.O * per_out + oh * g.OW + ow;
    src[j] = mode == Mode::Direct ? n * g.C * per_out + oh * g.OW + ow : (n * g.Hq + oh) * g.Wq + ow;
  }
}

// Positions mode: panel P holds samples [n0, n0 + nr) of output position pos, P = block * OH * OW
// + pos (n0 = block * nr: consecutive panels are one sample block's consecutive positions); dst as
// output_columns, src[j] = the sample-minor planes' offset of the column, -1 past the batch.
void position_columns(const ConvGeom& g, int64_t P, int64_t nr, int64_t* dst, int64_t* src) {
  const int64_t per_out = g.OH * g.OW, pos = P % per_out, n0 = P / per_out * nr;
  const int64_t at = ((pos / g.OW) * g.Wq + pos % g.OW) * g.N;
  for (int64_t j = 0; j < nr; ++j) {
    const int64_t n = n0 + j;
    dst[j] = n < g.N ? n * g.O * per_out + pos : -1;
    src[j] = n < g.N ? at + n : -1;
  }
}

// A run of a panel's columns whose taps are consecutive floats: columns [j0, j0 + len) read
// s0 + [0, len) past the tap's offset.
struct ColumnRun {
  int64_t j0, len, s0;
};

// The runs of src[0, nr) (src[j] < 0: past the last output, only at the panel's end); returns how many.
int64_t column_runs(const int64_t* src, int64_t nr, ColumnRun* runs) {
  int64_t n = 0;
  for (int64_t j = 0; j < nr && src[j] >= 0;) {
    int64_t e = j + 1;
    while (e < nr && src[e] == src[e - 1] + 1) ++e;
    runs[n++] = {j, e - j, src[j]};
    j = e;
  }
  return n;
}

constexpr int64_t kCopyLanes = 8;  // floats per copy of pack_panel (one AVX2 register)

// Row stride of a packed panel: nr columns, then kCopyLanes floats that take a copy's overrun.
inline int64_t packed_stride(int64_t nr) { return nr + kCopyLanes; }

// packed[k * packed_stride(nr) + j] = the tap k of column j (0 past the last column): per tap, the
// floats of every run, kCopyLanes at a time. `overrun`: a run's last copy may read up to
// kCopyLanes - 1 floats past the run (the planes' slack); else its tail goes float by float. A
// copy's excess lands in the next run (copied after it) or the row's spare floats. The values are
// the taps' floats whatever the copy: the packing never changes a bit. Tap by tap (a row of the
// panel at a time): the loads of a tap stay in one channel's plane and the stores in one row (run
// by run, every tap would touch every channel's plane, planes a power of two apart: the same few
// L1 sets).
void pack_panel(const float* base, const int64_t* koff, int64_t K, const ColumnRun* runs, int64_t nruns, int64_t nr,
                bool overrun, float* packed) {
  const int64_t stride = packed_stride(nr);
  const int64_t filled = nruns > 0 ? runs[nruns - 1].j0 + runs[nruns - 1].len : 0;
  bool short_runs = overrun;  // every run one copy
  for (int64_t r = 0; r < nruns && short_runs; ++r) short_runs = runs[r].len <= kCopyLanes;
  for (int64_t k = 0; k < K; ++k) {
    const float* f = base + koff[k];
    float* t = packed + k * stride;
    if (short_runs) {
      for (int64_t r = 0; r < nruns; ++r) std::memcpy(t + runs[r].j0, f + runs[r].s0, kCopyLanes * sizeof(float));
    } else {
      for (int64_t r = 0; r < nruns; ++r) {
        const float* from = f + runs[r].s0;
        float* to = t + runs[r].j0;
        const int64_t len = runs[r].len, vec_end = overrun ? len : len - kCopyLanes + 1;
        int64_t i = 0;
        for (; i < vec_end; i += kCopyLanes) std::memcpy(to + i, from + i, kCopyLanes * sizeof(float));
        for (; i < len; ++i) to[i] = from[i];
      }
    }
    if (filled < nr) std::fill(t + filled, t + nr, 0.0f);
  }
}

// True when the columns are nr consecutive offsets (a direct panel inside one sample).
bool contiguous(const int64_t* src, int64_t nr) {
  for (int64_t j = 0; j < nr; ++j)
    if (src[j] != src[0] + j || src[j] < 0) return false;
  return true;
}

// Tap block [kb, kb + kc) of panel i (its tap list, or every tap): the offsets of its taps in the
// planes (koff_i: job.koff's own when dense, else gathered into `sel`) and its packed rows.
struct TapBlock {
  int64_t kc;           // taps in the block (0: the panel has no more)
  const int64_t* ka;    // weight columns of the block's taps, null when dense (columns kb..)
  const int64_t* koff;  // their offsets in the planes / x
};

// Per-thread scratch of a panel task.
struct PanelScratch {
  std::vector<float> c, res, packed;
  std::vector<int64_t> dst, src, koff_packed, nruns, koff_taps, ka, ntaps, ka_at;
  std::vector<ColumnRun> runs;
  std::vector<TapBlock> blocks;
};

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
  const TapClasses& classes;  // packed: the column order; packed and positions: the panels' tap masks
};

// One task: panels [p0, p1).
struct TaskRange {
  int64_t p0, p1;
};

// The panels' columns: dst / src per column, and each packed panel's column runs (nruns[i] < 0:
// panel i is read where it lies, not packed).
void task_columns(const PanelJob& job, int64_t p0, int64_t np, int64_t* dst, int64_t* src, ColumnRun* runs,
                  int64_t* nruns) {
  const int64_t nr = job.kern.nr;
  for (int64_t i = 0; i < np; ++i) {
    const int64_t q0 = (p0 + i) * nr;
    if (job.mode == Mode::Wide)
      grid_columns(job.g, q0, nr, dst + i * nr, src + i * nr);
    else if (job.mode == Mode::Positions)
      position_columns(job.g, p0 + i, nr, dst + i * nr, src + i * nr);
    else
      output_columns(job.g, job.mode, job.classes.order, q0, nr, job.cols, dst + i * nr, src + i * nr);
    const bool in_place = job.mode == Mode::Wide || job.mode == Mode::Positions ||
                          (job.mode == Mode::Direct && contiguous(src + i * nr, nr));
    nruns[i] = in_place ? -1 : column_runs(src + i * nr, nr, runs + i * nr);
  }
}

// The panels' taps: ntaps[i] weight columns, listed at ka + ka_at[i] (ka_at[i] < 0: all g.K, dense).
// Panels with the same mask share a list. Returns the largest count.
int64_t task_taps(const PanelJob& job, PanelScratch& s, int64_t p0, int64_t np) {
  int64_t* ntaps = grown(s.ntaps, np);
  int64_t* ka_at = grown(s.ka_at, np);
  const std::vector<uint64_t>& masks = job.classes.panel_mask;
  int64_t used = 0, most = 0;
  for (int64_t i = 0; i < np; ++i) {
    const uint64_t m = masks.empty() ? job.classes.full : masks[static_cast<size_t>(p0 + i)];
    ka_at[i] = -1;
    ntaps[i] = job.g.K;
    if (m != job.classes.full) {
      for (int64_t e = 0; e < i && ka_at[i] < 0; ++e)
        if (ka_at[e] >= 0 && masks[static_cast<size_t>(p0 + e)] == m) ka_at[i] = ka_at[e], ntaps[i] = ntaps[e];
      if (ka_at[i] < 0) {
        ka_at[i] = used;
        ntaps[i] = panel_tap_list(job.g, m, grown(s.ka, used + job.g.K) + used);
        used += ntaps[i];
      }
    }
    most = std::max(most, ntaps[i]);
  }
  return most;
}

TapBlock tap_block(const PanelScratch& s, const int64_t* koff, int64_t i, int64_t kb, int64_t* sel) {
  const int64_t kc = std::max<int64_t>(0, std::min(kKc, s.ntaps[static_cast<size_t>(i)] - kb));
  const int64_t at = s.ka_at[static_cast<size_t>(i)];
  if (at < 0) return {kc, nullptr, koff + kb};
  const int64_t* ka = s.ka.data() + at + kb;
  for (int64_t t = 0; t < kc; ++t) sel[t] = koff[ka[t]];
  return {kc, ka, sel};
}

// Per group and tap block the packed rows of the panels that are not read in place, each weight
// block against every panel (a panel with a tap list runs over its taps only), then the epilogues.
void run_task(const PanelJob& job, PanelScratch& s, const TaskRange& t) {
  const ConvGeom& g = job.g;
  const int64_t nr = job.kern.nr, np = t.p1 - t.p0, rows = g.Og, kc_max = std::min(kKc, g.K);
  float* c = grown(s.c, np * rows * nr);
  float* res = grown(s.res, (job.mode == Mode::Positions ? np : 1) * rows * nr);
  int64_t* dst = grown(s.dst, np * nr);
  int64_t* src = grown(s.src, np * nr);
  const int64_t stride = packed_stride(nr);
  float* packed = grown(s.packed, np * kc_max * stride);
  int64_t* koff_p = grown(s.koff_packed, kc_max);
  int64_t* sel = grown(s.koff_taps, np * kc_max);
  ColumnRun* runs = grown(s.runs, np * nr);
  int64_t* nruns = grown(s.nruns, np);
  TapBlock* blocks = grown(s.blocks, np);
  for (int64_t k = 0; k < kc_max; ++k) koff_p[k] = k * stride;
  task_columns(job, t.p0, np, dst, src, runs, nruns);
  const int64_t most_taps = task_taps(job, s, t.p0, np);
  const bool overrun = job.mode == Mode::Packed;  // the planes have slack; x (direct) has not
  for (int64_t grp = 0; grp < g.G; ++grp) {
    const int64_t* koff = job.koff + grp * g.K;
    const float* a = job.w + grp * g.Og * g.K;
    for (int64_t kb = 0; kb < most_taps; kb += kKc) {
      for (int64_t i = 0; i < np; ++i) {
        const TapBlock& tb = blocks[i] = tap_block(s, koff, i, kb, sel + i * kc_max);
        if (nruns[i] >= 0 && tb.kc > 0)
          pack_panel(job.base, tb.koff, tb.kc, runs + i * nr, nruns[i], nr, overrun, packed + i * kc_max * stride);
      }
      for (int64_t mb = 0; mb < rows; mb += kMc)
        for (int64_t i = 0; i < np; ++i) {
          const TapBlock& tb = blocks[i];
          if (tb.kc == 0) continue;
          const bool direct = nruns[i] < 0;
          const float* b = !direct                  ? packed + i * kc_max * stride
                           : job.mode == Mode::Wide ? job.base + (t.p0 + i) * nr
                                                    : job.base + src[i * nr];
          job.kern.panel(a + mb * g.K + (tb.ka ? 0 : kb), g.K, std::min(kMc, rows - mb), b, direct ? tb.koff : koff_p,
                         tb.ka, tb.kc, c + (i * rows + mb) * nr, kb > 0);
        }
    }
    if (job.mode == Mode::Positions)
      conv_epilogue_positions(job.ep, c, np, rows, grp * g.Og, nr, dst, g.OH * g.OW, res, job.y);
    else
      for (int64_t i = 0; i < np; ++i)
        conv_epilogue_panel(job.ep, c + i * rows * nr, rows, grp * g.Og, nr, dst + i * nr, g.OH * g.OW, res, job.y);
  }
}

// The panels [0, panels) cut into `tasks` ranges of consecutive panels, balanced to a panel.
struct PanelSplit {
  int64_t panels, tasks;
  TaskRange task(int64_t t) const { return {t * panels / tasks, (t + 1) * panels / tasks}; }
};

// Tasks of at most kMaxTaskPanels panels (they share each weight block), as many per thread for
// every thread, balanced: the thread count only sets how the panels are cut, and the cut only
// affects speed (each output's sum is one chain inside one task whatever the cut). Splitting the
// output rows as well (a thread reading only its rows' weights) was measured slower on 2x2 to 4x4
// maps with 512 channels: each row range packs every panel again.
PanelSplit split_panels(int64_t panels, int threads) {
  const int64_t T = std::max(1, threads);
  const int64_t per_thread = (panels + T * kMaxTaskPanels - 1) / (T * kMaxTaskPanels);
  return {panels, std::min(panels, T * per_thread)};
}

// The mode of a conv (see Mode); u is its unshared geometry, s the shared one.
Mode choose_mode(const ConvGeom& u, const ConvGeom& s, int64_t nr) {
  const Conv2dParams& p = u.p;
  if (u.KH == 1 && u.KW == 1 && p.stride_h == 1 && p.stride_w == 1 && p.pad_h == 0 && p.pad_w == 0)
    return Mode::Direct;
  const int64_t padded_batch = (u.N + nr - 1) / nr * nr;
  if (u.KH * u.KW <= 64 && u.K >= kPositionsMinTaps &&
      static_cast<double>(padded_batch - u.N) <= kPositionsMaxIdle * static_cast<double>(u.N))
    return Mode::Positions;
  const int64_t grid = s.N * s.Hq * s.Wq, outputs = s.N * s.OH * s.OW;
  return static_cast<double>(outputs) >= wide_min_useful(s.Og) * static_cast<double>(grid) ? Mode::Wide : Mode::Packed;
}

// The panels' tap masks of the positions mode: each panel its position's.
TapClasses position_classes(const ConvGeom& g, int64_t nr) {
  TapClasses tc;
  const std::vector<uint64_t> pos = position_tap_masks(g, &tc.full);
  const int64_t blocks = (g.N + nr - 1) / nr;
  tc.panel_mask.resize(pos.size() * static_cast<size_t>(blocks));
  for (size_t P = 0; P < tc.panel_mask.size(); ++P) tc.panel_mask[P] = pos[P % pos.size()];
  return tc;
}

}  // namespace

const char* conv2d_gemm_mode_name(const Shape& x, const Shape& w, const Conv2dParams& p, const Shape& y) {
  static constexpr const char* kNames[] = {"wide", "packed", "direct", "positions"};
  const Mode mode = choose_mode(conv_geom(x, w, p, y), conv_geom(x, w, p, y, true), gemm_kernel().nr);
  return kNames[static_cast<int>(mode)];
}

void conv2d_gemm_nchw_f32(ViewF32 x, ViewF32 w, const ConvEpilogue& ep, const Conv2dParams& p, MutViewF32 y) {
  const GemmKernel& kern = gemm_kernel();
  const int64_t nr = kern.nr;
  const ConvGeom unshared = conv_geom(x.shape, w.shape, p, y.shape), shared = conv_geom(x.shape, w.shape, p, y.shape, true);
  const Mode mode = choose_mode(unshared, shared, nr);
  const ConvGeom& g = mode == Mode::Wide || mode == Mode::Packed ? shared : unshared;
  const int64_t grid = g.N * g.Hq * g.Wq, outputs = g.N * g.OH * g.OW;
  const int64_t cols = mode == Mode::Wide        ? grid
                       : mode == Mode::Positions ? g.OH * g.OW * ((g.N + nr - 1) / nr * nr)
                                                 : outputs;
  const int64_t panels = (cols + nr - 1) / nr;
  std::vector<int64_t> koff;
  const float* base = x.data;
  thread_local std::vector<float> planes;
  if (mode == Mode::Direct) {
    koff.resize(static_cast<size_t>(g.C));
    for (int64_t c = 0; c < g.C; ++c) koff[static_cast<size_t>(c)] = c * g.H * g.W;
  } else if (mode == Mode::Positions) {
    build_planes_sample_minor(g, x.data, nr, planes);
    koff = tap_offsets(g, true);
    base = planes.data();  // the caller's thread_local: workers must not name it
  } else {
    build_planes(g, x.data, g.max_tap + panels * nr - std::min(cols, grid) + nr, 0.0f, planes);
    koff = tap_offsets(g);
    base = planes.data();
  }
  const TapClasses classes = mode == Mode::Packed      ? tap_classes(g, nr)
                             : mode == Mode::Positions ? position_classes(g, nr)
                                                       : TapClasses{};
  const PanelJob job{g, kern, base, koff.data(), w.data, ep, y.data, mode, cols, classes};
  const PanelSplit split = split_panels(panels, num_threads());
  parallel_for_chunks(split.tasks, 1, [&](int64_t b, int64_t, int64_t) {
    thread_local PanelScratch scratch;
    run_task(job, scratch, split.task(b));
  });
}

}  // namespace mqcalib::exec_detail
