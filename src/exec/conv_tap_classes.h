// mqcalib/src/exec/conv_tap_classes.h: internal to src/exec. The column order of the packed conv
// GEMM (conv_gemm.cpp) that lets a panel skip the taps that read padding.
//
// On a small map many taps of a border output fall on the padding: a 3x3, pad 1 conv on a 4x4 map
// has 100 of its 144 taps inside the input, on a 2x2 map 16 of 36. Outputs with the same valid taps
// form a class (a row class of oh times a column class of ow: top / middle / bottom, left / middle /
// right). Ordering the packed columns class by class makes most panels hold one class; a panel's
// tap mask is the union of its columns' (bit i * KW + j: tap (i, j) is inside the input for at least
// one column) and the GEMM runs over those taps only (gemm_kernel.h's tap list). A tap outside the
// mask reads padding (zero) for every column of the panel: skipping it leaves each output's fma
// chain the same sum bit for bit (finite weights), as conv2d_nchw_f32_ref, which skips it too.
#pragma once

#include <cstdint>
#include <vector>

#include "exec/conv_gemm.h"

namespace mqcalib::exec_detail {

struct TapClasses {
  // order[i] = the output q = (n * OH + oh) * OW + ow at packed column i; empty: the identity
  // (no panel would skip enough taps, or the kernel has more than 64 taps).
  std::vector<int64_t> order;
  // panel_mask[p]: the tap mask of panel p (columns [p * nr, (p + 1) * nr) of the order).
  std::vector<uint64_t> panel_mask;
  uint64_t full = 0;  // every tap: the mask of a dense panel
};

// The class order for panels of nr columns; empty when classes would save less than
// kMinTapSaving of the panels' multiply-adds.
TapClasses tap_classes(const ConvGeom& g, int64_t nr);

// The tap mask of every output position oh * OW + ow (the sample-minor panels, one position each);
// *full = the mask of every tap. Empty when the kernel has more than 64 taps.
std::vector<uint64_t> position_tap_masks(const ConvGeom& g, uint64_t* full);

// The weight columns of a panel with tap mask `mask`: k = c * KH * KW + t for c < Cg and each set
// bit t ascending, into ka (room for g.K); returns how many.
int64_t panel_tap_list(const ConvGeom& g, uint64_t mask, int64_t* ka);

}  // namespace mqcalib::exec_detail
