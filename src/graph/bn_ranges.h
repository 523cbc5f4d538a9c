// mqcalib/src/graph/bn_ranges.h: activation ranges and moments of every tensor from BN statistics,
// with no data (DFQ, Nagel et al. 2019; REFERENCE.md sections 6 and 9; docs/data_free.md).
//
// Every value gets a per-channel model (channels on dim 1; a [N, F] tensor's features): a range
// [lo_c, hi_c] and, where a rule knows them, the moments (mean_c, var_c) of a normal approximation.
// A model with one channel holds for every channel (per tensor). Rules, one per op (bn_range_rules.cpp):
//   conv2d / linear with BN stats  N(mean_c, std_c^2) (Node::bn_stats): range mean_c +- n std_c
//   conv2d / linear without        interval arithmetic through the weights (a zero-padded conv's taps
//                                  may read 0), tightened to mean +- n sd of the moments
//                                  mean_o = b_o + sum w mean_i, var_o = sum w^2 var_i (independent inputs)
//   batch_norm (not folded)        N(beta_c, gamma_c^2), as a folded one
//   relu / relu6 / hardtanh        the range clipped to [a, b]; moments of the clipped normal
//                                  (core/normal.h)
//   other activations              the function's image of the range (monotone, or the minimum of
//                                  silu / hardswish / gelu found inside it); moments unknown
//   add / mul                      interval sum / product, tightened to mean +- n sd of the moments
//                                  (sum; product of independent inputs); a scalar operand shifts/scales
//   cat                            channels concatenated (axis 1), else the union
//   max / avg / adaptive pooling   the range kept (avg with counted zero padding: 0 included); avg
//                                  keeps the moments, max forgets them (it raises the mean)
//   mean                           over non-channel dims: kept; else collapsed
//   flatten                        channel c -> its H*W features (start_dim 1, shape known); start_dim
//                                  >= 2: unchanged; else collapsed
//   chunk / split                  channels split (axis 1), else copied; identity: copied
//   reshape / transpose / softmax  collapsed to one channel (softmax: [0, 1])
// "Collapsed": the union of the channel ranges, the moments of the equal-weight channel mixture.
// Graph inputs: the range given (the preprocessed pixel range, (0 - mean_c)/std_c .. (1 - mean_c)/std_c),
// moments unknown. A value whose inputs have no model gets none (ValueDist::known() false): the
// caller names it (the data-free stage refuses to guess and asks for data).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "graph/ir.h"

namespace mqcalib {

struct ValueDist {
  std::vector<float> lo, hi;      // per channel, or one entry for all; empty: no rule reached the value
  std::vector<double> mean, var;  // per channel like lo/hi; empty: unknown
  std::string rule;               // the rule that made it ("bn", "relu", "add", ...)

  bool known() const { return !lo.empty(); }
  bool has_moments() const { return !mean.empty(); }
  int64_t channels() const { return static_cast<int64_t>(lo.size()); }
  float min() const;  // per tensor: min over channels of lo
  float max() const;
};

struct BnRangeOptions {
  double sigmas = 6.0;  // n: the range of a BN-normal channel is mean +- n std (DFQ uses about 6)
};

struct InputRange {
  ValueId value = kNoValue;   // a graph input
  std::vector<float> lo, hi;  // per channel (or one entry)
};

// One ValueDist per value of `g` (indexed by ValueId). Throws Error naming the node when a rule meets
// inconsistent sizes, or an input range that is not a graph input / has lo > hi.
std::vector<ValueDist> bn_value_dists(const Graph& g, const std::vector<InputRange>& inputs,
                                      const BnRangeOptions& options = {});

// The preprocessed pixel range of an input normalised as (x - mean_c) / std_c with x in [0, 1].
InputRange preprocessed_pixel_range(ValueId input, const std::vector<float>& mean, const std::vector<float>& std);

}  // namespace mqcalib
