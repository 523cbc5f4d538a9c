// mqcalib/src/graph/equalize.h: cross-layer equalization (DFQ, Nagel et al. 2019; REFERENCE.md
// section 9; docs/data_free.md) of the layer pairs of graph/layer_pairs.h, on a BN-folded graph.
//
// For a pair (first, join, second) with r1_i = max |first's output row i| and r2_i = max |weights of
// second reading input channel i|:
//   s_i = sqrt(r1_i / r2_i)     (s_i = 1 when r1_i or r2_i is 0: a dead channel stays as it is)
//   first's row i and bias i divided by s_i, second's weights reading channel i multiplied by s_i,
// after which both ranges are sqrt(r1_i r2_i). ReLU is positively homogeneous (relu(x / s) = relu(x) / s
// for s > 0) and the identity trivially so: the network's float output is unchanged (up to float
// rounding). first's BN statistics (Node::bn_stats) are divided by s_i as well.
// Sweeps over every pair in graph order repeat until a whole sweep changes no scale by more than
// `tolerance` (max_i |s_i - 1|), at most max_sweeps sweeps: a layer shared by two pairs (the depthwise
// conv of a separable chain) is rescaled by both, and the sweeps settle on the common fixed point.
//
// ReLU6 is not positively homogeneous (min(max(x / s, 0), 6) != min(max(x, 0), 6) / s): with
// Relu6Policy::ReplaceByRelu (DFQ's choice) the relu6 of every equalized pair becomes a relu, which
// changes the float network where an activation exceeded 6 (the report lists the nodes, the record
// carries the change); with Relu6Policy::Skip those pairs are not equalized.
#pragma once

#include <string>
#include <vector>

#include "graph/ir.h"
#include "graph/layer_pairs.h"

namespace mqcalib {

enum class Relu6Policy { ReplaceByRelu, Skip };
std::string_view to_string(Relu6Policy p);  // "relu", "skip"

struct EqualizeOptions {
  Relu6Policy relu6 = Relu6Policy::ReplaceByRelu;
  int max_sweeps = 100;
  double tolerance = 1e-6;  // a sweep with every |s_i - 1| <= tolerance ends the iteration
};

struct EqualizedPair {
  std::string first, second;       // layer names
  JoinKind join = JoinKind::None;  // as found (a replaced relu6 is reported as relu6)
  std::vector<double> scales;      // cumulative s_i over all sweeps: first's row i was divided by it
};

struct EqualizeReport {
  std::vector<EqualizedPair> pairs;
  std::vector<std::string> relu6_replaced;  // relu6 nodes now relu (ReplaceByRelu)
  std::vector<std::string> relu6_skipped;   // "first -> second" pairs left alone (Skip)
  int sweeps = 0;
  double last_change = 0.0;  // max |s_i - 1| of the last sweep
};

EqualizeReport equalize_cross_layer(Graph& g, const EqualizeOptions& options = {});

}  // namespace mqcalib
