// mqcalib/src/graph/bn_fold.h: fold BatchNorm into the preceding conv2d / linear.
//
// With running statistics, once (../shared/REFERENCE.md section 5, MQBench paper section 3.2):
//   s[c] = gamma[c] / sqrt(var[c] + eps)
//   W'[c, ...] = W[c, ...] * s[c]                      (per output channel c)
//   b'[c]      = (b[c] - mean[c]) * s[c] + beta[c]      (b = 0 when the conv has no bias)
// computed in double, stored as float. gamma = 1 / beta = 0 when the BN has no affine parameters.
//
// A BN is folded when its input is produced by a conv2d / linear whose output is read by that BN
// only (and is not a graph output), and the channel counts agree. The conv node then takes over the
// BN's output value (tensor names downstream stay stable: the folded conv writes e.g. "layer1.0.bn1")
// and records the BN's name in Node::folded and the BN's output statistics in Node::bn_stats
// (mean = beta, std = |gamma|: the folded conv's output channel c is ~ N(beta[c], gamma[c]^2)). Any other BN stays in
// the graph as an op and is reported with the reason.
#pragma once

#include <string>
#include <vector>

#include "graph/ir.h"

namespace mqcalib {

struct FoldedBn {
  std::string bn;    // name of the removed batch_norm node
  std::string into;  // name of the conv2d / linear node that absorbed it
};

struct UnfoldedBn {
  std::string bn;      // name of the batch_norm node that stays
  std::string reason;  // why it could not be folded
};

struct FoldReport {
  std::vector<FoldedBn> folded;
  std::vector<UnfoldedBn> unfolded;
};

// Folds every foldable BatchNorm of `g` in place (see above) and reports what it did.
// Throws mqcalib::Error naming the node when a BN's parameters are malformed (missing running
// statistics, sizes that disagree).
FoldReport fold_batchnorm(Graph& g);

}  // namespace mqcalib
