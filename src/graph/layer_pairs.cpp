// mqcalib/src/graph/layer_pairs.cpp: see layer_pairs.h.
#include "graph/layer_pairs.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace mqcalib {

namespace {

bool is_layer(const Node& n) { return n.kind == OpKind::Conv2d || n.kind == OpKind::Linear; }

bool is_graph_output(const Graph& g, ValueId v) {
  return std::find(g.outputs().begin(), g.outputs().end(), v) != g.outputs().end();
}

// The only node reading `v` (not a graph output), or -1.
int64_t sole_reader(const Graph& g, ValueId v) {
  if (is_graph_output(g, v)) return -1;
  const std::vector<size_t> r = g.consumers(v);
  return r.size() == 1 ? static_cast<int64_t>(r[0]) : -1;
}

bool reads_channels_one_to_one(const Node& first, const Node& second) {
  if (first.params.weight.rank() < 2 || second.params.weight.rank() < 2) return false;
  if (second.kind == OpKind::Linear && first.kind != OpKind::Linear) return false;  // a flatten would sit between
  if (second.kind == OpKind::Conv2d && first.kind != OpKind::Conv2d) return false;
  return input_channels(second) == first.params.weight.dim(0);
}

}  // namespace

std::string_view to_string(JoinKind k) {
  switch (k) {
    case JoinKind::None:
      return "none";
    case JoinKind::Relu:
      return "relu";
    case JoinKind::Relu6:
      return "relu6";
  }
  return "?";
}

int64_t input_channels(const Node& layer) {
  const TensorF32& w = layer.params.weight;
  if (w.rank() < 2) throw Error("layer '" + layer.name + "' has no weight");
  return layer.kind == OpKind::Conv2d ? w.dim(1) * std::max<int64_t>(1, layer.attrs.groups) : w.dim(1);
}

InputColumn input_column(const Node& layer, int64_t i) {
  const TensorF32& w = layer.params.weight;
  const int64_t in = input_channels(layer);
  if (i < 0 || i >= in)
    throw Error("layer '" + layer.name + "': input channel " + std::to_string(i) + " of " + std::to_string(in));
  InputColumn c;
  if (layer.kind == OpKind::Linear) {
    c.o_begin = 0;
    c.o_end = w.dim(0);
    c.col = i;
    c.cols = w.dim(1);
    c.taps = 1;
    return c;
  }
  const int64_t groups = std::max<int64_t>(1, layer.attrs.groups), per_group_out = w.dim(0) / groups;
  c.cols = w.dim(1);
  c.taps = w.size() / (w.dim(0) * w.dim(1));
  c.col = i % c.cols;
  c.o_begin = (i / c.cols) * per_group_out;
  c.o_end = c.o_begin + per_group_out;
  return c;
}

double row_absmax(const Node& layer, int64_t c) {
  const TensorF32& w = layer.params.weight;
  const int64_t per = w.size() / w.dim(0);
  double m = 0.0;
  for (int64_t k = 0; k < per; ++k) m = std::max(m, std::fabs(static_cast<double>(w[c * per + k])));
  return m;
}

double column_absmax(const Node& layer, int64_t i) {
  const InputColumn col = input_column(layer, i);
  const TensorF32& w = layer.params.weight;
  double m = 0.0;
  for (int64_t o = col.o_begin; o < col.o_end; ++o)
    for (int64_t t = 0; t < col.taps; ++t) m = std::max(m, std::fabs(static_cast<double>(w[col.offset(o, t)])));
  return m;
}

std::vector<LayerPair> find_layer_pairs(const Graph& g) {
  std::vector<LayerPair> pairs;
  const std::vector<Node>& nodes = g.nodes();
  for (size_t a = 0; a < nodes.size(); ++a) {
    const Node& first = nodes[a];
    if (!is_layer(first) || first.outputs.size() != 1) continue;
    const int64_t j = sole_reader(g, first.outputs[0]);
    if (j < 0) continue;
    LayerPair p;
    p.first = a;
    const Node& join = nodes[static_cast<size_t>(j)];
    int64_t b = j;
    if (join.kind == OpKind::Relu || join.kind == OpKind::Relu6) {
      if (join.outputs.size() != 1) continue;
      p.join = join.kind == OpKind::Relu ? JoinKind::Relu : JoinKind::Relu6;
      p.join_node = j;
      b = sole_reader(g, join.outputs[0]);
      if (b < 0) continue;
    }
    const Node& second = nodes[static_cast<size_t>(b)];
    if (!is_layer(second) || second.inputs.empty()) continue;
    const ValueId read = p.join_node >= 0 ? join.outputs[0] : first.outputs[0];
    if (second.inputs[0] != read || !reads_channels_one_to_one(first, second)) continue;
    p.second = static_cast<size_t>(b);
    pairs.push_back(p);
  }
  return pairs;
}

}  // namespace mqcalib
