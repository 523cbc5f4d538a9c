// mqcalib/src/graph/blocks.h: block partition of a graph for block-wise reconstruction (BRECQ/QDrop,
// ../shared/REFERENCE.md section 4), found from the graph's structure, never from module names.
//
//  - residual: the region between a branch point and an `add` of two tensors (BasicBlock,
//    Bottleneck, RegNet, inverted residual with shortcut). The region is every node on a path from
//    the add's immediate dominator (excluded: it belongs to the previous block) to the add, plus the
//    activations (and shape-only ops) that directly follow the merge (BasicBlock's final relu).
//  - concat: the same with a `cat` as the merge (GoogLeNet inception, ShuffleNet units; a
//    chunk/split that feeds only the region is taken into it, so a ShuffleNet unit starts at its split).
//  - sequential: nodes outside those regions, in topological order, grouped into small runs: a run
//    ends where a merge block starts, before a conv/linear that reads another conv/linear's output
//    with no nonlinearity between (the linear-bottleneck end of an inverted residual without
//    shortcut), and after kMaxRunLayers conv/linear layers. A gating `mul` of two tensors
//    (squeeze-excite) is kept whole inside a run and its layers do not count towards the limit.
//  - first_layer / last_layer: the first and the last conv/linear of the graph when they are not
//    inside a merge block, with the non-weight ops around them (stem pooling; pooling/flatten
//    before the classifier).
// Runs without any conv/linear (a pooling between two blocks) are appended to the preceding block.
//
// Every node of the graph belongs to exactly one block; blocks are listed in topological order.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "graph/ir.h"

namespace mqcalib {

enum class BlockKind { Residual, Concat, Sequential, FirstLayer, LastLayer };
std::string_view to_string(BlockKind k);  // "residual", "concat", "sequential", "first_layer", "last_layer"

// Maximum number of conv/linear layers in one sequential run.
constexpr int kMaxRunLayers = 3;

struct Block {
  BlockKind kind = BlockKind::Sequential;
  std::string name;             // common module-path prefix of its nodes, e.g. "layer1.0"
  std::vector<size_t> nodes;    // node indices into graph.nodes(), ascending
  std::vector<ValueId> inputs;  // values read by the block and produced outside it (or graph inputs)
  ValueId output = kNoValue;    // the block's output: the last value it produces that is read outside
  int weight_layers = 0;        // number of conv2d/linear nodes
};

std::vector<Block> partition_blocks(const Graph& g);

// Common module-path prefix of `names` on '.' boundaries ("layer1.0.conv1", "layer1.0.add" ->
// "layer1.0"); a single name gives itself; "" when the names share no leading component.
std::string common_module_prefix(const std::vector<std::string>& names);

}  // namespace mqcalib
