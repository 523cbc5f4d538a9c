// mqcalib/reconstruction/unit.h: reconstruction units, the sets of graph nodes that BRECQ / QDrop
// optimise together (../shared/REFERENCE.md section 4: "granularities studied: layer, block, stage,
// network; block is best"), as a pure function of the graph.
//
//  - block:   the blocks of src/graph/blocks.h (partition_blocks): residual and concat regions,
//             short sequential runs, the first and the last layer;
//  - layer:   every block cut before each of its conv / linear nodes but the first, so that each unit
//             holds one weighted layer with the non-weight ops that follow it in the block (its
//             activation; an add, its activation; pooling before a classifier joins that layer);
//  - stage:   consecutive blocks (first and last layer excepted) whose output has one spatial
//             resolution (H, W of a rank-4 output; a block with a rank < 4 output is a stage of its own);
//  - network: the whole graph, every node in one unit whose outputs are the graph's outputs (logits).
// At layer, block and stage granularity the first and the last layer are units of their own. Every
// node belongs to exactly one unit; units are listed in topological order. A unit's inputs are the
// values it reads that are produced outside it (graph inputs included), in order of first read; its
// outputs are the values it produces that are read outside it or are graph outputs, in production order.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "graph/ir.h"

namespace mqcalib {

enum class UnitGranularity { Layer, Block, Stage, Network };
std::string_view to_string(UnitGranularity g);  // "layer", "block", "stage", "network"
// Throws mqcalib::Error naming `text` and the accepted names.
UnitGranularity parse_unit_granularity(std::string_view text);

struct Unit {
  std::string name;              // common module-path prefix of its nodes (or "network", "stage <a>..<b>")
  std::string kind;              // the block kind ("residual", "first_layer", ...), "layer", "stage" or "network"
  std::vector<size_t> nodes;     // node indices into graph.nodes(), ascending
  std::vector<ValueId> inputs;   // produced outside (or graph inputs), in order of first read
  std::vector<ValueId> outputs;  // produced inside and read outside or graph outputs, in production order
  int weight_layers = 0;         // conv2d / linear nodes
};

// A unit of the given nodes (sorted and deduplicated here); inputs, outputs and weight_layers derived
// from the graph. Throws naming `name` when a node index is out of range or the unit has no output.
Unit make_unit(const Graph& g, std::vector<size_t> nodes, std::string name, std::string kind);

// The units of g at granularity `gran` (rules above). Stage granularity reads the block outputs'
// Value::shape and throws naming the value when a shape is missing.
std::vector<Unit> partition_units(const Graph& g, UnitGranularity gran);

// Every node of g as one unit (the network granularity's unit): what a whole-network gradient (data-free
// synthesis, Fisher weights) runs over.
Unit whole_graph_unit(const Graph& g);

// The nodes after `u` (index greater than every node of u) as one unit, named "<u.name>.rest": the rest
// of the network that a gradient from the logits back to u's outputs runs through. Empty nodes when u
// ends the graph.
Unit rest_of_graph_unit(const Graph& g, const Unit& u);

}  // namespace mqcalib
