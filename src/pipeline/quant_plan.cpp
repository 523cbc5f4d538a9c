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

bool is_average_pool(const Node& n) {
  return n.kind == OpKind::AvgPool2d || n.kind == OpKind::AdaptiveAvgPool2d || n.kind == OpKind::Mean;
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

namespace {

// A layer an option names must be one of the model's conv / linear layers.
void check_layer(const Graph& g, const std::string& option, const std::string& name) {
  for (const Node& n : g.nodes())
    if (n.name == name) {
      if (is_weighted(n)) return;
      throw Error(ErrorKind::Invalid,
                  option + " '" + name + "': a " + std::string(op_name(n.kind)) + ", not a conv2d or linear layer");
    }
  throw Error(ErrorKind::Invalid, option + " '" + name + "': the model has no layer of that name");
}

void check_policy(const Graph& g, const LayerPolicy& policy) {
  for (const std::string& s : policy.skip) check_layer(g, "--skip", s);
  for (const auto& kv : policy.layer_bits) {
    check_layer(g, "--layer-bits", kv.first);
    if (kv.second < 2 || kv.second > 16)
      throw Error(ErrorKind::Invalid,
                  "--layer-bits " + kv.first + "=" + std::to_string(kv.second) + ": bits must be in 2..16");
  }
}

// Bits a layer's weight and input get from the policy (0: the backend's).
int bits_override(const Graph& g, const LayerPolicy& policy, const std::vector<size_t>& layers, size_t idx) {
  auto it = policy.layer_bits.find(g.nodes()[idx].name);
  if (it != policy.layer_bits.end()) return it->second;
  if (policy.first_last_8bit && !layers.empty() && (idx == layers.front() || idx == layers.back())) return 8;
  return 0;
}

// Non-negativity by structure, in graph order.
std::vector<bool> non_negative_values(const Graph& g) {
  std::vector<bool> non_neg(g.values().size(), false);
  for (const Node& n : g.nodes()) {
    bool nn = produces_non_negative(n);
    if (!nn && preserves_sign(n) && !n.inputs.empty()) {
      nn = true;
      for (ValueId v : n.inputs) nn = nn && non_neg[static_cast<size_t>(v)];
    }
    for (ValueId o : n.outputs) non_neg[static_cast<size_t>(o)] = nn;
  }
  return non_neg;
}

void plan_weights(const Graph& g, const BackendProfile& backend, const LayerPolicy& policy,
                  const std::vector<size_t>& layers, QuantPlan& plan) {
  for (size_t idx : layers) {
    const Node& n = g.nodes()[idx];
    if (policy.skip.count(n.name)) {
      plan.notes.push_back(n.name + ": kept in fp32 (--skip)");
      continue;
    }
    WeightQuantPoint w;
    w.node = idx;
    w.layer = n.name;
    w.tensor = n.name + ".weight";
    w.scheme = backend.weight;
    if (int b = bits_override(g, policy, layers, idx)) w.scheme.bits = b;
    w.input = n.inputs.at(0);
    plan.weights.push_back(w);
  }
}

// Activation points in order of first appearance; point_of[v] is filled as they are added.
class PointAdder {
 public:
  PointAdder(const Graph& g, const BackendProfile& b, QuantPlan& plan)
      : g_(g), backend_(b), plan_(plan), non_neg_(non_negative_values(g)), point_of_(g.values().size(), -1) {}
  void add(ValueId v, const std::string& layer, int bits) {
    int& p = point_of_[static_cast<size_t>(v)];
    if (p < 0) {
      ActQuantPoint a;
      a.value = v;
      a.tensor = g_.value(v).name;
      a.layer = layer;
      a.non_negative = non_neg_[static_cast<size_t>(v)];
      a.scheme = activation_scheme_for(backend_, a.non_negative);
      p = static_cast<int>(plan_.activations.size());
      plan_.activations.push_back(a);
      override_bits_.push_back(0);
    }
    // A tensor read by several layers with different bit overrides takes the widest of them.
    if (bits > 0) {
      int& o = override_bits_[static_cast<size_t>(p)];
      o = std::max(o, bits);
      plan_.activations[static_cast<size_t>(p)].scheme.bits = o;
    }
  }
  int point_of(ValueId v) const { return point_of_[static_cast<size_t>(v)]; }

 private:
  const Graph& g_;
  const BackendProfile& backend_;
  QuantPlan& plan_;
  std::vector<bool> non_neg_;
  std::vector<int> point_of_;
  std::vector<int> override_bits_;  // per point, 0 = none
};

// Inputs and output of an add / cat (the output after a fused ReLU-family activation).
void plan_merge(const Graph& g, const BackendProfile& backend, const Node& n, PointAdder& points, QuantPlan& plan) {
  for (ValueId v : n.inputs) points.add(v, n.name, 0);
  const ValueId out = n.outputs.at(0);
  const std::vector<size_t> cons = g.consumers(out);
  const bool fused =
      n.kind == OpKind::Add && backend.fuse_add_relu && cons.size() == 1 && is_relu_family(g.nodes()[cons[0]]);
  if (!fused) {
    points.add(out, n.name, 0);
    return;
  }
  const Node& act = g.nodes()[cons[0]];
  points.add(act.outputs.at(0), act.name, 0);
  plan.notes.push_back(n.name + " + " + act.name + ": fused, one quantizer after the activation");
}

// Concat groups: inputs and output of a cat share one scale where the backend requires it.
void plan_concat_groups(const Graph& g, const PointAdder& points, QuantPlan& plan) {
  UnionFind uf;
  uf.parent.resize(plan.activations.size());
  std::iota(uf.parent.begin(), uf.parent.end(), 0);
  bool any = false;
  for (const Node& n : g.nodes()) {
    if (n.kind != OpKind::Cat) continue;
    const int out = points.point_of(n.outputs.at(0));
    if (out < 0) continue;
    for (ValueId v : n.inputs)
      if (points.point_of(v) >= 0) uf.unite(points.point_of(v), out);
    any = true;
    plan.notes.push_back(n.name + ": concat inputs and output share one scale");
  }
  if (!any) return;
  for (size_t i = 0; i < plan.activations.size(); ++i) {
    const int root = uf.find(static_cast<int>(i));
    bool shared = false;
    for (size_t j = 0; j < plan.activations.size() && !shared; ++j)
      shared = j != i && uf.find(static_cast<int>(j)) == root;
    plan.activations[i].group = shared ? root : -1;
  }
}

}  // namespace

QuantPlan plan_quantization(const Graph& g, const BackendProfile& backend, const LayerPolicy& policy) {
  check_policy(g, policy);
  QuantPlan plan;
  const std::vector<size_t> layers = weighted_layers(g);
  plan_weights(g, backend, policy, layers, plan);
  PointAdder points(g, backend, plan);
  const bool whole_graph = !backend.quantize_only_conv_linear;
  for (size_t idx = 0; idx < g.nodes().size(); ++idx) {
    const Node& n = g.nodes()[idx];
    if (is_weighted(n)) {
      if (!policy.skip.count(n.name)) points.add(n.inputs.at(0), n.name, bits_override(g, policy, layers, idx));
    } else if (whole_graph && (n.kind == OpKind::Add || n.kind == OpKind::Cat)) {
      plan_merge(g, backend, n, points, plan);
    } else if (whole_graph && is_average_pool(n)) {
      // The runtimes pool on integer codes (ORT's QLinearAveragePool / QLinearGlobalAveragePool,
      // TensorRT's int8 pooling): without a grid on its input, the conv before a pool has no quantized
      // output and runs in float (MobileNetV2's last conv -> ReLU6 -> average pool).
      points.add(n.inputs.at(0), n.name, 0);
    }
  }
  if (whole_graph && backend.concat_inputs_share_scale) plan_concat_groups(g, points, plan);
  plan.index_points(g.values().size());
  return plan;
}

}  // namespace mqcalib
