#include "pipeline/quant_plan.h"

#include <algorithm>
#include <numeric>

#include "core/error.h"

namespace mqcalib {

namespace {

bool is_relu_family(const Node& n) {
  return n.kind == OpKind::Relu || n.kind == OpKind::Relu6 || (n.kind == OpKind::Hardtanh && n.attrs.min_val >= 0.0f);
}

bool is_weighted(const Node& n) { return n.kind == OpKind::Conv2d || n.kind == OpKind::Linear; }

// Ops whose output is >= 0 whatever their input.
bool produces_non_negative(const Node& n) {
  switch (n.kind) {
    case OpKind::Relu:
    case OpKind::Relu6:
    case OpKind::Sigmoid:
    case OpKind::Hardsigmoid:
    case OpKind::Softmax:
      return true;
    case OpKind::Hardtanh:
      return n.attrs.min_val >= 0.0f;
    default:
      return false;
  }
}

// Ops that keep the sign of their (single or every) input.
bool preserves_sign(const Node& n) {
  switch (n.kind) {
    case OpKind::MaxPool2d:
    case OpKind::AvgPool2d:
    case OpKind::AdaptiveAvgPool2d:
    case OpKind::Mean:
    case OpKind::Flatten:
    case OpKind::Reshape:
    case OpKind::Transpose:
    case OpKind::Chunk:
    case OpKind::Split:
    case OpKind::Identity:
    case OpKind::Cat:
      return true;
    default:
      return false;
  }
}

struct UnionFind {
  std::vector<int> parent;
  int find(int i) {
    return parent[static_cast<size_t>(i)] == i ? i
                                               : parent[static_cast<size_t>(i)] = find(parent[static_cast<size_t>(i)]);
  }
  void unite(int a, int b) { parent[static_cast<size_t>(find(a))] = find(b); }
};

}  // namespace

int QuantPlan::act_index(ValueId v) const {
  if (v < 0 || static_cast<size_t>(v) >= act_of_value.size()) return -1;
  return act_of_value[static_cast<size_t>(v)];
}

void QuantPlan::index_points(size_t value_count) {
  act_of_value.assign(value_count, -1);
  for (size_t i = 0; i < activations.size(); ++i) {
    const ValueId v = activations[i].value;
    if (v < 0 || static_cast<size_t>(v) >= value_count)
      throw Error("plan: activation point '" + activations[i].tensor + "' refers to no value of the graph");
    int& slot = act_of_value[static_cast<size_t>(v)];
    if (slot >= 0) throw Error("plan: activation '" + activations[i].tensor + "' is planned twice");
    slot = static_cast<int>(i);
  }
}

std::vector<size_t> weighted_layers(const Graph& g) {
  std::vector<size_t> out;
  for (size_t i = 0; i < g.nodes().size(); ++i)
    if (is_weighted(g.nodes()[i])) out.push_back(i);
  return out;
}

QuantPlan plan_quantization(const Graph& g, const BackendProfile& backend, const LayerPolicy& policy) {
  QuantPlan plan;
  const auto& nodes = g.nodes();
  const std::vector<size_t> layers = weighted_layers(g);
  for (const std::string& s : policy.skip) g.find_node(s);  // throws naming an unknown layer
  for (const auto& kv : policy.layer_bits) {
    g.find_node(kv.first);
    if (kv.second < 2 || kv.second > 16)
      throw Error("--layer-bits " + kv.first + "=" + std::to_string(kv.second) + ": bits must be in 2..16");
  }

  auto bits_override = [&](size_t idx) -> int {
    const Node& n = nodes[idx];
    auto it = policy.layer_bits.find(n.name);
    if (it != policy.layer_bits.end()) return it->second;
    if (policy.first_last_8bit && !layers.empty() && (idx == layers.front() || idx == layers.back())) return 8;
    return 0;
  };

  // Non-negativity by structure, in graph order.
  std::vector<bool> non_neg(g.values().size(), false);
  for (const Node& n : nodes) {
    bool nn = produces_non_negative(n);
    if (!nn && preserves_sign(n) && !n.inputs.empty()) {
      nn = true;
      for (ValueId v : n.inputs) nn = nn && non_neg[static_cast<size_t>(v)];
    }
    for (ValueId o : n.outputs) non_neg[static_cast<size_t>(o)] = nn;
  }

  // Weights.
  for (size_t idx : layers) {
    const Node& n = nodes[idx];
    if (policy.skip.count(n.name)) {
      plan.notes.push_back(n.name + ": kept in fp32 (--skip)");
      continue;
    }
    WeightQuantPoint w;
    w.node = idx;
    w.layer = n.name;
    w.tensor = n.name + ".weight";
    w.scheme = backend.weight;
    if (int b = bits_override(idx)) w.scheme.bits = b;
    w.input = n.inputs.at(0);
    plan.weights.push_back(w);
  }

  // Activation points, in order of first appearance.
  std::vector<int> point_of(g.values().size(), -1);
  std::vector<int> override_bits;  // per point, 0 = none
  auto add_point = [&](ValueId v, const std::string& layer, int bits) {
    int& p = point_of[static_cast<size_t>(v)];
    if (p < 0) {
      ActQuantPoint a;
      a.value = v;
      a.tensor = g.value(v).name;
      a.layer = layer;
      a.non_negative = non_neg[static_cast<size_t>(v)];
      a.scheme = activation_scheme_for(backend, a.non_negative);
      p = static_cast<int>(plan.activations.size());
      plan.activations.push_back(a);
      override_bits.push_back(0);
    }
    // A tensor read by several layers with different bit overrides takes the widest of them.
    if (bits > 0) {
      int& o = override_bits[static_cast<size_t>(p)];
      o = std::max(o, bits);
      plan.activations[static_cast<size_t>(p)].scheme.bits = o;
    }
  };

  const bool whole_graph = !backend.quantize_only_conv_linear;
  for (size_t idx = 0; idx < nodes.size(); ++idx) {
    const Node& n = nodes[idx];
    if (is_weighted(n)) {
      if (policy.skip.count(n.name)) continue;
      add_point(n.inputs.at(0), n.name, bits_override(idx));
    } else if (whole_graph && (n.kind == OpKind::Add || n.kind == OpKind::Cat)) {
      for (ValueId v : n.inputs) add_point(v, n.name, 0);
      ValueId out = n.outputs.at(0);
      const std::vector<size_t> cons = g.consumers(out);
      const bool fused =
          n.kind == OpKind::Add && backend.fuse_add_relu && cons.size() == 1 && is_relu_family(nodes[cons[0]]);
      if (fused) {
        add_point(nodes[cons[0]].outputs.at(0), nodes[cons[0]].name, 0);
        plan.notes.push_back(n.name + " + " + nodes[cons[0]].name + ": fused, one quantizer after the activation");
      } else {
        add_point(out, n.name, 0);
      }
    }
  }

  // Concat groups: inputs and output of a cat share one scale where the backend requires it.
  if (whole_graph && backend.concat_inputs_share_scale) {
    UnionFind uf;
    uf.parent.resize(plan.activations.size());
    std::iota(uf.parent.begin(), uf.parent.end(), 0);
    bool any = false;
    for (const Node& n : nodes) {
      if (n.kind != OpKind::Cat) continue;
      const int out = point_of[static_cast<size_t>(n.outputs.at(0))];
      if (out < 0) continue;
      for (ValueId v : n.inputs)
        if (point_of[static_cast<size_t>(v)] >= 0) uf.unite(point_of[static_cast<size_t>(v)], out);
      any = true;
      plan.notes.push_back(n.name + ": concat inputs and output share one scale");
    }
    if (any) {
      for (size_t i = 0; i < plan.activations.size(); ++i) {
        const int root = uf.find(static_cast<int>(i));
        bool shared = false;
        for (size_t j = 0; j < plan.activations.size() && !shared; ++j)
          shared = j != i && uf.find(static_cast<int>(j)) == root;
        plan.activations[i].group = shared ? root : -1;
      }
    }
  }
  plan.index_points(g.values().size());
  return plan;
}

}  // namespace mqcalib
