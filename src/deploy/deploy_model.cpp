// mqcalib/src/deploy/deploy_model.cpp: see deploy_model.h.
#include "deploy/deploy_model.h"

#include "core/bias_i32.h"
#include "core/quantize.h"

namespace mqcalib {

namespace {

size_t node_index(const Graph& g, const std::string& layer) {
  const Node& n = g.find_node(layer);
  return static_cast<size_t>(&n - g.nodes().data());
}

void check_8bit(const TensorQuant& t) {
  if (t.params.qmin < -128 || t.params.qmax > 255 || (t.params.qmin < 0 && t.params.qmax > 127))
    throw Error("tensor '" + t.tensor + "': grid [" + std::to_string(t.params.qmin) + ", " +
                std::to_string(t.params.qmax) + "] does not fit 8 bits; integer runtimes here run int8/uint8");
}

}  // namespace

std::vector<int32_t> weight_codes_of(const QuantRecord& rec, const TensorQuant& w, const TensorF32& folded_weight) {
  const auto it = rec.weight_codes.find(w.tensor);
  if (it == rec.weight_codes.end()) {
    std::vector<int32_t> q(static_cast<size_t>(folded_weight.size()));
    quantize_f32_i32(folded_weight.view(), w.params, q.data());
    return q;
  }
  const WeightCodes& c = it->second;
  if (c.shape != folded_weight.shape() || static_cast<int64_t>(c.codes.size()) != folded_weight.size())
    throw Error("weight codes of '" + w.tensor + "' (" + c.file + "): shape " + shape_to_string(c.shape) + " with " +
                std::to_string(c.codes.size()) + " codes, but the weight is " + shape_to_string(folded_weight.shape()));
  for (int32_t v : c.codes)
    if (v < w.params.qmin || v > w.params.qmax)
      throw Error("weight codes of '" + w.tensor + "': code " + std::to_string(v) + " outside [" +
                  std::to_string(w.params.qmin) + ", " + std::to_string(w.params.qmax) + "]");
  return c.codes;
}

IntModel int_model_from_record(const Graph& folded, const QuantRecord& rec, const BackendProfile& backend) {
  IntModel m = make_int_model(folded, RequantMode{backend.integer_requant, backend.activation.rounding}, backend.name);
  for (const TensorQuant& t : rec.tensors) {
    t.params.validate(t.tensor);
    if (t.role == TensorRole::Activation) {
      check_8bit(t);
      const size_t v = static_cast<size_t>(folded.find_value(t.tensor));
      m.act[v] = act_from_qparams(t.params, /*clamp_to_storage=*/true);
      m.origin[v] = QuantOrigin::Planned;
      continue;
    }
    const size_t k = node_index(folded, t.layer);
    const Node& n = folded.nodes()[k];
    if (t.role == TensorRole::Weight) {
      check_8bit(t);
      m.weight[k] = IntWeight{t.params, weight_codes_of(rec, t, n.params.weight)};
    } else {
      if (t.params.per_channel() && static_cast<int64_t>(t.params.scale.size()) != n.params.bias.size())
        throw Error("bias '" + t.tensor + "': " + std::to_string(t.params.scale.size()) + " scales for " +
                    std::to_string(n.params.bias.size()) + " channels");
      std::vector<int32_t> q(static_cast<size_t>(n.params.bias.size()));
      quantize_bias_f32_i32(n.params.bias.data(), n.params.bias.size(), t.params, q.data());  // the engine's rule
      m.bias[k] = IntBias{t.params.scale, std::move(q)};
    }
  }
  propagate_aliases(m);
  return m;
}

}  // namespace mqcalib
