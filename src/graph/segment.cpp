// mqcalib/src/graph/segment.cpp: see segment.h.
#include "graph/segment.h"

#include <algorithm>
#include <string>
#include <vector>

#include "core/error.h"

namespace mqcalib {

Graph graph_segment(const Graph& g, size_t begin, size_t end) {
  if (begin > end || end > g.nodes().size())
    throw Error("graph_segment: nodes [" + std::to_string(begin) + ", " + std::to_string(end) + ") of a graph of " +
                std::to_string(g.nodes().size()));
  const size_t nv = g.values().size();
  std::vector<bool> produced_in(nv, false), read_after(nv, false);
  for (size_t i = begin; i < end; ++i)
    for (ValueId v : g.nodes()[i].outputs) produced_in[static_cast<size_t>(v)] = true;
  for (size_t i = end; i < g.nodes().size(); ++i)
    for (ValueId v : g.nodes()[i].inputs) read_after[static_cast<size_t>(v)] = true;
  for (ValueId v : g.outputs()) read_after[static_cast<size_t>(v)] = true;
  Graph s;
  for (const Value& v : g.values()) s.add_value(v.name, v.shape);
  for (size_t i = begin; i < end; ++i) s.add_node(g.nodes()[i]);
  // A value read before the segment produces it comes from outside.
  std::vector<bool> defined(nv, false);
  for (size_t i = begin; i < end; ++i) {
    for (ValueId v : g.nodes()[i].inputs)
      if (!defined[static_cast<size_t>(v)] && std::find(s.inputs().begin(), s.inputs().end(), v) == s.inputs().end())
        s.inputs().push_back(v);
    for (ValueId v : g.nodes()[i].outputs) defined[static_cast<size_t>(v)] = true;
  }
  std::sort(s.inputs().begin(), s.inputs().end());
  for (size_t v = 0; v < nv; ++v)
    if (produced_in[v] && read_after[v]) s.outputs().push_back(static_cast<ValueId>(v));
  s.validate();
  return s;
}

}  // namespace mqcalib
