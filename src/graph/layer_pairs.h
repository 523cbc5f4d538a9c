// mqcalib/src/graph/layer_pairs.h: consecutive conv2d / linear pairs whose channels can be rescaled
// (cross-layer equalization, high-bias absorption: graph/equalize.h, graph/high_bias.h), and the map
// from a layer's input channel to the weights that read it.
//
// A pair (first, join, second): `first` is a conv2d / linear whose only output is read by exactly one
// node, either `second` itself (join None) or a relu / relu6 node (join Relu / Relu6) whose output is
// read by `second` only; neither output is a graph output; `second` is a conv2d / linear that reads
// first's output channels one to one (a conv2d whose input channel count, weight dim 1 x groups, is
// first's output channel count, grouped and depthwise included; a linear after a linear). Node
// indices are valid for the graph searched.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "graph/ir.h"

namespace mqcalib {

enum class JoinKind { None, Relu, Relu6 };
std::string_view to_string(JoinKind k);  // "none", "relu", "relu6"

struct LayerPair {
  size_t first = 0, second = 0;  // node indices (conv2d / linear)
  JoinKind join = JoinKind::None;
  int64_t join_node = -1;  // the relu / relu6 node, -1 for JoinKind::None
};

// Every pair of `g`, ordered by `first` (graph order).
std::vector<LayerPair> find_layer_pairs(const Graph& g);

// The weights of a conv2d / linear node that multiply its input channel i: output rows [o_begin,
// o_end), weight column `col`, each row's `taps` consecutive elements starting at
// (o * cols + col) * taps. Linear [O, I]: all rows, col i, taps 1. Conv2d [O, C/g, kh, kw] with g
// groups: the rows of i's group, col i % (C/g), taps kh * kw.
struct InputColumn {
  int64_t o_begin = 0, o_end = 0, col = 0, cols = 0, taps = 0;
  int64_t offset(int64_t o, int64_t tap) const { return (o * cols + col) * taps + tap; }
};
InputColumn input_column(const Node& layer, int64_t i);
// Input channels of a conv2d (weight dim 1 x groups) / linear (weight dim 1).
int64_t input_channels(const Node& layer);

// max |w| over output row c (all input channels and taps) / over the weights reading input channel i.
double row_absmax(const Node& layer, int64_t c);
double column_absmax(const Node& layer, int64_t i);

}  // namespace mqcalib
