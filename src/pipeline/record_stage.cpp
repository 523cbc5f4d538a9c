// mqcalib/src/pipeline/record_stage.cpp: see record_stage.h.
#include "pipeline/record_stage.h"

#include <limits>

#include "core/error.h"
#include "export/record_files.h"
#include "pipeline/simulation.h"

namespace mqcalib {

namespace {

TensorQuant bias_record(const WeightQuant& w, const TensorF32& b) {
  QScheme bs;
  bs.bits = 32;
  bs.signedness = Signedness::Signed;
  bs.symmetry = Symmetry::Symmetric;
  bs.granularity = w.bias.per_channel() ? Granularity::PerChannel : Granularity::PerTensor;
  bs.axis = 0;
  bs.rounding = w.bias.rounding;
  Range br;
  for (int64_t c = 0; c < b.size(); ++c) {
    br.min.push_back(b[c]);
    br.max.push_back(b[c]);
  }
  return {w.point.layer + ".bias", w.point.layer, TensorRole::Bias, bs, w.bias, br, "int32 s_in*s_w"};
}

bool same_bits(const TensorF32& a, const TensorF32& b) {
  return a.shape() == b.shape() && a.vec() == b.vec();  // float == (a NaN would differ: never in a weight)
}

void add_float(QuantRecord& rec, const std::string& tensor, const TensorF32& t) {
  rec.float_weights[tensor] =
      FloatTensor{float_weight_file(tensor), t.shape(), std::vector<float>(t.vec().begin(), t.vec().end())};
}

}  // namespace

void record_weight_changes(QuantRecord& rec, const Graph& original, const Graph& prepared, const QuantState& state) {
  MQCALIB_ASSERT(original.nodes().size() == prepared.nodes().size(), "record: the prepared graph is not the model's");
  for (size_t k = 0; k < prepared.nodes().size(); ++k) {
    const Node& p = prepared.nodes()[k];
    const Node& o = original.nodes()[k];
    if (p.kind != o.kind) rec.op_changes[p.name] = std::string(op_name(p.kind));
    if (p.kind != OpKind::Conv2d && p.kind != OpKind::Linear) continue;
    if (!same_bits(p.params.weight, o.params.weight)) add_float(rec, p.name + ".weight", p.params.weight);
    if (!same_bits(p.params.bias, o.params.bias)) add_float(rec, p.name + ".bias", p.params.bias);
  }
  for (const WeightQuant& w : state.weights) {
    if (w.codes.empty()) continue;
    TensorF32 dq = prepared.nodes().at(w.point.node).params.weight;
    apply_weight_quant(dq, w.params, w.codes, w.point.tensor);  // s * (code - zp)
    add_float(rec, w.point.tensor, dq);
  }
}

QuantRecord make_record(const Graph& folded, const QuantPlan& plan, const QuantState& state, Provenance provenance) {
  MQCALIB_ASSERT(state.weights.size() == plan.weights.size(), "record: the state's weights are not the plan's");
  MQCALIB_ASSERT(state.activations.size() == plan.activations.size(),
                 "record: the state's activations are not the plan's (observe_activations must run first)");
  QuantRecord rec;
  rec.provenance = std::move(provenance);
  auto act_tensor = [&](ValueId v) -> const ActQuant* {
    const int a = plan.act_index(v);
    return a < 0 ? nullptr : &state.activations.at(static_cast<size_t>(a));
  };
  for (const WeightQuant& w : state.weights) {
    const Node& n = folded.nodes().at(w.point.node);
    rec.tensors.push_back(
        {w.point.tensor, w.point.layer, TensorRole::Weight, w.point.scheme, w.params, w.range, w.observer});
    if (const ActQuant* in = act_tensor(w.point.input)) rec.layer_inputs[w.point.layer] = in->point.tensor;
    if (!w.bias.scale.empty()) rec.tensors.push_back(bias_record(w, n.params.bias));
    if (!w.codes.empty())
      rec.weight_codes[w.point.tensor] =
          WeightCodes{weight_codes_file(w.point.tensor), n.params.weight.shape(), w.codes};
  }
  for (const ActQuant& a : state.activations)
    rec.tensors.push_back(
        {a.point.tensor, a.point.layer, TensorRole::Activation, a.point.scheme, a.params, a.range, a.observer});
  return rec;
}

}  // namespace mqcalib
