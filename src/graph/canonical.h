// mqcalib/src/graph/canonical.h: the check that every node of a graph is in its op's one canonical
// IR form (the forms are listed next to the op table in graph/ir.h).
//
// The importer produces canonical nodes and the Executor runs nothing else: it calls this check on
// construction, so a pass or a hand-built graph that writes another form fails up front, naming the
// node, instead of being repaired (or misread) at run time.
#pragma once

#include "graph/ir.h"

namespace mqcalib {

// Throws mqcalib::Error "graph: node 'NAME' (OP): WHAT" for the first node not in canonical form.
// Shapes are checked against Value::shape where it is known (imported graphs); unknown shapes skip
// the rank-dependent checks.
void validate_canonical(const Graph& g);

// The same check for one node of `g` (used by validate_canonical and by tests).
void validate_canonical_node(const Graph& g, const Node& n);

}  // namespace mqcalib
