// mqcalib/src/graph/high_bias.h: high-bias absorption (DFQ, Nagel et al. 2019; REFERENCE.md
// section 9; docs/data_free.md), run after cross-layer equalization (which can blow biases up).
//
// For a ReLU-joined pair (graph/layer_pairs.h) whose first layer carries BN statistics
// (Node::bn_stats: output channel i ~ N(mean_i, std_i^2)):
//   c_i = max(0, mean_i - sigmas * std_i)          (sigmas = 3 as DFQ)
//   first's bias_i -= c_i, bn_stats.mean_i -= c_i
//   second's bias_o += sum over the weights w reading input channel i of w * c_i
// relu(x - c) + c == relu(x) whenever x >= c, which the normal model makes likely for all but a
// 0.13% tail (3 sigma): the float output is unchanged for those inputs, except that a zero-padded
// conv's border outputs lose the padded taps' share (sum of those taps' w * c_i), as in DFQ.
// A second layer without a bias gets one. Pairs joined by relu6 or nothing are left alone.
#pragma once

#include <string>
#include <vector>

#include "graph/ir.h"

namespace mqcalib {

struct AbsorbedBias {
  std::string first, second;     // layer names
  std::vector<double> absorbed;  // c_i per channel of first's output
};

std::vector<AbsorbedBias> absorb_high_biases(Graph& g, double sigmas = 3.0);

}  // namespace mqcalib
