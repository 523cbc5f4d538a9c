// mqcalib/src/graph/segment.h: a run of consecutive nodes as a graph of its own, so a caller can run
// part of a model on values it computed before (the sensitivity stage runs each unit's suffix on the
// FP values at its start instead of the whole model).
//
// Segment [begin, end) of g: the nodes begin..end-1 (topological order kept), value ids and names as
// in g (every value kept, unused ones never produced);
//   inputs   the values the segment's nodes read that are produced before `begin` or are g's inputs,
//            ascending by id
//   outputs  the values the segment produces that a node from `end` on reads or that are g's outputs,
//            ascending by id
// Running it on its inputs gives bit for bit what the whole graph computes for those values (same
// nodes, same kernels, same input tensors).
#pragma once

#include <cstddef>

#include "graph/ir.h"

namespace mqcalib {

// Throws Error when begin > end or end > g.nodes().size().
Graph graph_segment(const Graph& g, size_t begin, size_t end);

}  // namespace mqcalib
