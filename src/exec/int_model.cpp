// mqcalib/src/exec/int_model.cpp: the integer model's construction helpers and alias propagation.
#include "exec/int_model.h"

#include <algorithm>

namespace mqcalib {

std::string_view to_string(QuantOrigin o) {
  switch (o) {
    case QuantOrigin::None:
      return "none";
    case QuantOrigin::Planned:
      return "planned";
    case QuantOrigin::AliasBackward:
      return "alias-backward";
    case QuantOrigin::AliasForward:
      return "alias-forward";
  }
  return "?";
}

IntModel make_int_model(const Graph& g, RequantMode mode, std::string backend) {
  IntModel m;
  m.graph = &g;
  m.act.assign(g.values().size(), std::nullopt);
  m.origin.assign(g.values().size(), QuantOrigin::None);
  m.weight.assign(g.nodes().size(), std::nullopt);
  m.bias.assign(g.nodes().size(), std::nullopt);
  m.mode = mode;
  m.backend = std::move(backend);
  return m;
}

ActQ act_from_qparams(const QParams& p, bool clamp_to_storage) {
  if (p.per_channel() || p.scale.size() != 1) throw Error("activation params must be per-tensor");
  ActQ a;
  a.scale = p.scale[0];
  a.zp = p.zero_point[0];
  a.qmin = p.qmin;
  a.qmax = p.qmax;
  const bool fits8 = p.qmin >= -128 && p.qmax <= 255 && (p.qmin >= 0 || p.qmax <= 127);
  if (clamp_to_storage && fits8) {
    a.qmin = p.qmin < 0 ? -128 : 0;
    a.qmax = p.qmin < 0 ? 127 : 255;
  }
  return a;
}

bool is_order_preserving(const Node& n) {
  switch (n.kind) {
    case OpKind::Relu:
    case OpKind::Relu6:
    case OpKind::Hardtanh:
    case OpKind::MaxPool2d:
    case OpKind::Flatten:
    case OpKind::Reshape:
    case OpKind::Transpose:
    case OpKind::Identity:
      return n.inputs.size() == 1 && n.outputs.size() == 1;
    default:
      return false;
  }
}

void propagate_aliases(IntModel& m) {
  const Graph& g = *m.graph;
  const auto& nodes = g.nodes();
  auto is_io = [&](ValueId v) {
    return std::find(g.inputs().begin(), g.inputs().end(), v) != g.inputs().end() ||
           std::find(g.outputs().begin(), g.outputs().end(), v) != g.outputs().end();
  };
  // Backward, in reverse graph order so that chains (conv -> relu -> maxpool) propagate.
  for (size_t k = nodes.size(); k-- > 0;) {
    const Node& n = nodes[k];
    if (!is_order_preserving(n)) continue;
    const ValueId in = n.inputs[0], out = n.outputs[0];
    const size_t iu = static_cast<size_t>(in), ou = static_cast<size_t>(out);
    if (!m.act[ou] || m.act[iu] || is_io(in) || g.consumers(in).size() != 1) continue;
    m.act[iu] = m.act[ou];
    m.origin[iu] = QuantOrigin::AliasBackward;
  }
  // Forward, in graph order.
  for (const Node& n : nodes) {
    if (!is_order_preserving(n)) continue;
    const size_t iu = static_cast<size_t>(n.inputs[0]), ou = static_cast<size_t>(n.outputs[0]);
    if (!m.act[iu] || m.act[ou]) continue;
    m.act[ou] = m.act[iu];
    m.origin[ou] = QuantOrigin::AliasForward;
  }
}

}  // namespace mqcalib
