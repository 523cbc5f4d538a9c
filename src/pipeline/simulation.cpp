// mqcalib/src/pipeline/simulation.cpp: see simulation.h.
#include "pipeline/simulation.h"

#include <unordered_map>

#include "core/bias_i32.h"
#include "core/error.h"
#include "core/quantize.h"

namespace mqcalib {

void apply_weight_quant(TensorF32& weight, const QParams& params, const std::vector<int32_t>& codes,
                        const std::string& tensor) {
  params.validate(tensor);
  if (codes.empty()) {
    fake_quantize_f32(weight.view(), params, weight.data());
    return;
  }
  if (static_cast<int64_t>(codes.size()) != weight.size())
    throw Error("weight '" + tensor + "': " + std::to_string(codes.size()) + " integer codes for a weight of shape " +
                shape_to_string(weight.shape()));
  dequantize_i32_f32(codes.data(), weight.shape(), params, weight.data());
}

Graph with_quantized_weights(const Graph& folded, const QuantState& state) {
  Graph g = folded;
  for (const WeightQuant& w : state.weights)
    apply_weight_quant(g.nodes().at(w.point.node).params.weight, w.params, w.codes, w.point.tensor);
  return g;
}

ActivationQuantizers::ActivationQuantizers(size_t value_count, const std::vector<ValueId>& values,
                                           std::vector<QParams> params, std::vector<std::string> tensors) {
  if (values.size() != params.size() || values.size() != tensors.size())
    throw Error("activation quantizers: values, params and names differ in count");
  auto t = std::make_shared<Table>();
  t->index_of_value.assign(value_count, -1);
  for (size_t i = 0; i < values.size(); ++i) {
    if (values[i] < 0 || static_cast<size_t>(values[i]) >= value_count)
      throw Error("activation '" + tensors[i] + "': not a value of the graph");
    int& slot = t->index_of_value[static_cast<size_t>(values[i])];
    if (slot >= 0) throw Error("activation '" + tensors[i] + "' is quantized twice");
    slot = static_cast<int>(i);
    params[i].validate(tensors[i]);
  }
  t->params = std::move(params);
  t->tensors = std::move(tensors);
  table_ = std::move(t);
}

ValueHook ActivationQuantizers::hook(std::vector<SqnrSums>* sqnr) const {
  std::shared_ptr<const Table> t = table_;
  if (!t) return {};
  return [t, sqnr](ValueId v, TensorF32& x) {
    const int p =
        v >= 0 && static_cast<size_t>(v) < t->index_of_value.size() ? t->index_of_value[static_cast<size_t>(v)] : -1;
    if (p < 0) return;
    const QParams& qp = t->params[static_cast<size_t>(p)];
    if (!sqnr) {
      fake_quantize_f32(x.view(), qp, x.data());
      return;
    }
    TensorF32 q(x.shape());
    fake_quantize_f32(x.view(), qp, q.data());
    sqnr->at(static_cast<size_t>(p)).add(sqnr_sums_f32(x.data(), q.data(), x.size()));
    x = std::move(q);
  };
}

namespace {

Node& node_of(Graph& g, const std::unordered_map<std::string, size_t>& nodes, const TensorQuant& t) {
  const auto it = nodes.find(t.layer);
  if (it == nodes.end())
    throw Error(std::string(to_string(t.role)) + " '" + t.tensor + "': the model has no layer '" + t.layer + "'");
  Node& n = g.nodes()[it->second];
  if (n.kind != OpKind::Conv2d && n.kind != OpKind::Linear)
    throw Error(std::string(to_string(t.role)) + " '" + t.tensor + "': layer '" + t.layer + "' is a " +
                std::string(op_name(n.kind)) + ", not a conv2d or linear");
  return n;
}

// "<layer>.weight" / "<layer>.bias" -> the parameter of `g` it names.
TensorF32& parameter_of(Graph& g, const std::unordered_map<std::string, size_t>& nodes, const std::string& tensor) {
  const size_t dot = tensor.rfind('.');
  const std::string layer = dot == std::string::npos ? "" : tensor.substr(0, dot), kind = tensor.substr(dot + 1);
  const auto it = nodes.find(layer);
  if (dot == std::string::npos || (kind != "weight" && kind != "bias") || it == nodes.end())
    throw Error("folded FP values of '" + tensor + "': the model has no such weight or bias");
  Node& n = g.nodes()[it->second];
  if (n.kind != OpKind::Conv2d && n.kind != OpKind::Linear)
    throw Error("folded FP values of '" + tensor + "': layer '" + layer + "' is a " + std::string(op_name(n.kind)));
  return kind == "weight" ? n.params.weight : n.params.bias;
}

}  // namespace

RunOptions Simulation::run_options(ValueHook hook) const {
  RunOptions o;
  o.hook = std::move(hook);
  o.node_override = integer_adds_override(integer_adds);
  return o;
}

Graph recorded_fp_graph(const Graph& folded, const QuantRecord& record) {
  Graph g = folded;
  const auto nodes = g.node_indices_by_name();
  for (const auto& [tensor, fw] : record.float_weights) {
    TensorF32& p = parameter_of(g, nodes, tensor);
    if (static_cast<int64_t>(fw.values.size()) != numel(fw.shape) || (!p.empty() && fw.shape != p.shape()))
      throw Error("folded FP values of '" + tensor + "' (" + fw.file + "): shape " + shape_to_string(fw.shape) +
                  " with " + std::to_string(fw.values.size()) + " values for a tensor of shape " +
                  shape_to_string(p.shape()));
    p = TensorF32(fw.shape, fw.values);  // a bias the model did not have (bias correction) is added
  }
  for (const auto& [node, op] : record.op_changes) {
    const auto it = nodes.find(node);
    if (it == nodes.end()) throw Error("op change of '" + node + "': the model has no such node");
    Node& n = g.nodes()[it->second];
    if (n.kind != OpKind::Relu6 || op != op_name(OpKind::Relu))
      throw Error("op change of '" + node + "' to '" + op + "': the node is a " + std::string(op_name(n.kind)) +
                  "; a record may only change relu6 into relu (equalization)");
    n.kind = OpKind::Relu;
  }
  return g;
}

Simulation build_simulation(const Graph& folded_model, const QuantRecord& record) {
  Simulation sim;
  sim.graph = recorded_fp_graph(folded_model, record);
  const Graph& folded = sim.graph;
  const auto nodes = folded.node_indices_by_name();
  const auto values = folded.value_ids_by_name();
  std::vector<ValueId> act_values;
  std::vector<QParams> act_params;
  std::vector<std::string> act_names;
  static const std::vector<int32_t> kNearest;
  for (const TensorQuant& t : record.tensors) {
    if (t.role == TensorRole::Activation) {
      const auto v = values.find(t.tensor);
      if (v == values.end()) throw Error("activation '" + t.tensor + "': the model has no such tensor");
      act_values.push_back(v->second);
      act_params.push_back(t.params);
      act_names.push_back(t.tensor);
      continue;
    }
    Node& n = node_of(sim.graph, nodes, t);
    if (t.role == TensorRole::Weight) {
      const auto c = record.weight_codes.find(t.tensor);
      if (c != record.weight_codes.end() && c->second.shape != n.params.weight.shape())
        throw Error("weight '" + t.tensor + "': codes of shape " + shape_to_string(c->second.shape) + " (" +
                    c->second.file + ") for a weight of shape " + shape_to_string(n.params.weight.shape()));
      apply_weight_quant(n.params.weight, t.params, c == record.weight_codes.end() ? kNearest : c->second.codes,
                         t.tensor);
    } else {
      if (n.params.bias.empty()) throw Error("bias '" + t.tensor + "': layer '" + t.layer + "' has no bias");
      fake_quantize_bias_f32(n.params.bias.data(), n.params.bias.size(), t.params, n.params.bias.data());
    }
  }
  sim.activations =
      ActivationQuantizers(folded.values().size(), act_values, std::move(act_params), std::move(act_names));
  sim.integer_adds = plan_integer_adds(sim.graph, record);
  return sim;
}

}  // namespace mqcalib
