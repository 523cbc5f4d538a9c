// mqcalib/src/exec/conv_tap_classes.cpp: the packed conv GEMM's column order by valid taps and the
// panels' tap lists (conv_tap_classes.h).
#include "exec/conv_tap_classes.h"

#include <algorithm>

namespace mqcalib::exec_detail {

namespace {

// Classes saving less than this share of the panels' multiply-adds keep the plain order (the class
// order splits the packed column runs, so packing costs a little more).
constexpr double kMinTapSaving = 0.05;

// Positions of one output dimension grouped by which kernel taps fall inside the input: mask[o] =
// bits t < taps with 0 <= o * stride - pad + t * dil < extent; cls[o] = index of mask[o] among the
// distinct masks in order of first appearance (a class is a contiguous range of positions).
struct AxisClasses {
  std::vector<uint64_t> mask;  // per distinct class
  std::vector<int64_t> cls;    // per position
};

AxisClasses axis_classes(int64_t outputs, int64_t extent, int64_t taps, int64_t stride, int64_t pad, int64_t dil) {
  AxisClasses a;
  a.cls.resize(static_cast<size_t>(outputs));
  for (int64_t o = 0; o < outputs; ++o) {
    uint64_t m = 0;
    for (int64_t t = 0; t < taps; ++t) {
      const int64_t at = o * stride - pad + t * dil;
      if (at >= 0 && at < extent) m |= uint64_t{1} << t;
    }
    auto it = std::find(a.mask.begin(), a.mask.end(), m);
    a.cls[static_cast<size_t>(o)] = it - a.mask.begin();
    if (it == a.mask.end()) a.mask.push_back(m);
  }
  return a;
}

// The 2-D mask of row mask mi and column mask mj: bit i * KW + j for i in mi, j in mj.
uint64_t tap_mask(uint64_t mi, uint64_t mj, int64_t KH, int64_t KW) {
  uint64_t m = 0;
  for (int64_t i = 0; i < KH; ++i)
    if (mi >> i & 1) m |= mj << (i * KW);
  return m;
}

}  // namespace

TapClasses tap_classes(const ConvGeom& g, int64_t nr) {
  TapClasses tc;
  const int64_t taps = g.KH * g.KW;
  if (taps > 64) return tc;
  tc.full = taps == 64 ? ~uint64_t{0} : (uint64_t{1} << taps) - 1;
  const Conv2dParams& p = g.p;
  const AxisClasses rows = axis_classes(g.OH, g.H, g.KH, p.stride_h, p.pad_h, p.dil_h);
  const AxisClasses cols = axis_classes(g.OW, g.W, g.KW, p.stride_w, p.pad_w, p.dil_w);
  // class by class (row class, then column class), each class sample by sample in map order
  const int64_t outputs = g.N * g.OH * g.OW;
  std::vector<int64_t> order;
  std::vector<uint64_t> col_mask;  // per packed column
  order.reserve(static_cast<size_t>(outputs));
  col_mask.reserve(static_cast<size_t>(outputs));
  for (size_t rc = 0; rc < rows.mask.size(); ++rc)
    for (size_t cc = 0; cc < cols.mask.size(); ++cc) {
      const uint64_t m = tap_mask(rows.mask[rc], cols.mask[cc], g.KH, g.KW);
      for (int64_t n = 0; n < g.N; ++n)
        for (int64_t oh = 0; oh < g.OH; ++oh) {
          if (rows.cls[static_cast<size_t>(oh)] != static_cast<int64_t>(rc)) continue;
          for (int64_t ow = 0; ow < g.OW; ++ow)
            if (cols.cls[static_cast<size_t>(ow)] == static_cast<int64_t>(cc)) {
              order.push_back((n * g.OH + oh) * g.OW + ow);
              col_mask.push_back(m);
            }
        }
    }
  const int64_t panels = (outputs + nr - 1) / nr;
  tc.panel_mask.assign(static_cast<size_t>(panels), 0);
  int64_t kept = 0;
  for (int64_t q = 0; q < outputs; ++q) tc.panel_mask[static_cast<size_t>(q / nr)] |= col_mask[static_cast<size_t>(q)];
  for (uint64_t& m : tc.panel_mask) {
    if (m == 0) m = tc.full;  // every tap on padding: the dense chain of zeros (an empty list would run no chain)
    kept += __builtin_popcountll(m);
  }
  if (static_cast<double>(kept) > (1.0 - kMinTapSaving) * static_cast<double>(panels * taps)) {
    tc.panel_mask.clear();
    return tc;
  }
  if (rows.mask.size() > 1 || cols.mask.size() > 1) tc.order = std::move(order);  // one class: the identity
  return tc;
}

std::vector<uint64_t> position_tap_masks(const ConvGeom& g, uint64_t* full) {
  const int64_t taps = g.KH * g.KW;
  if (taps > 64) return {};
  *full = taps == 64 ? ~uint64_t{0} : (uint64_t{1} << taps) - 1;
  const Conv2dParams& p = g.p;
  const AxisClasses rows = axis_classes(g.OH, g.H, g.KH, p.stride_h, p.pad_h, p.dil_h);
  const AxisClasses cols = axis_classes(g.OW, g.W, g.KW, p.stride_w, p.pad_w, p.dil_w);
  std::vector<uint64_t> masks(static_cast<size_t>(g.OH * g.OW));
  for (int64_t oh = 0; oh < g.OH; ++oh)
    for (int64_t ow = 0; ow < g.OW; ++ow) {
      const uint64_t m = tap_mask(rows.mask[static_cast<size_t>(rows.cls[static_cast<size_t>(oh)])],
                                  cols.mask[static_cast<size_t>(cols.cls[static_cast<size_t>(ow)])], g.KH, g.KW);
      masks[static_cast<size_t>(oh * g.OW + ow)] = m == 0 ? *full : m;  // no tap inside: the dense chain of zeros
    }
  return masks;
}

int64_t panel_tap_list(const ConvGeom& g, uint64_t mask, int64_t* ka) {
  const int64_t taps = g.KH * g.KW;
  int64_t n = 0;
  for (int64_t c = 0; c < g.Cg; ++c)
    for (int64_t t = 0; t < taps; ++t)
      if (mask >> t & 1) ka[n++] = c * taps + t;
  return n;
}

}  // namespace mqcalib::exec_detail
