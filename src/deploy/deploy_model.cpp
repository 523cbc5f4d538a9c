// mqcalib/src/deploy/deploy_model.cpp: see deploy_model.h.
#include "deploy/deploy_model.h"

#include <cmath>
#include <filesystem>
#include <limits>
#include <memory>

#include "core/quantize.h"
#include "export/npy_i32.h"

namespace mqcalib {

namespace {

size_t node_index(const Graph& g, const std::string& layer) {
  const Node& n = g.find_node(layer);
  return static_cast<size_t>(&n - g.nodes().data());
}

// bias_q = clamp(round_half_even(b / s_c), int32), in double (int32 does not fit a float mantissa),
// as the engine's quantize_biases puts biases on their grid.
std::vector<int32_t> bias_codes(const TensorF32& b, const QParams& p) {
  std::vector<int32_t> q(static_cast<size_t>(b.size()));
  for (int64_t c = 0; c < b.size(); ++c) {
    const double s = p.scale.at(p.per_channel() ? static_cast<size_t>(c) : 0);
    double v = std::nearbyint(static_cast<double>(b[c]) / s);
    v = std::min<double>(std::max<double>(v, std::numeric_limits<int32_t>::min()), std::numeric_limits<int32_t>::max());
    q[static_cast<size_t>(c)] = static_cast<int32_t>(v);
  }
  return q;
}

void check_8bit(const TensorQuant& t) {
  if (t.params.qmin < -128 || t.params.qmax > 255 || (t.params.qmin < 0 && t.params.qmax > 127))
    throw Error("tensor '" + t.tensor + "': grid [" + std::to_string(t.params.qmin) + ", " +
                std::to_string(t.params.qmax) + "] does not fit 8 bits; integer runtimes here run int8/uint8");
}

}  // namespace

std::vector<int32_t> weight_codes_of(const QuantRecord& rec, const TensorQuant& w, const TensorF32& folded_weight,
                                     const std::string& params_dir) {
  const auto it = rec.weight_codes.find(w.tensor);
  if (it == rec.weight_codes.end()) {
    std::vector<int32_t> q(static_cast<size_t>(folded_weight.size()));
    quantize_f32_i32(folded_weight.view(), w.params, q.data());
    return q;
  }
  const std::string path = (std::filesystem::path(params_dir) / it->second).string();
  Shape shape;
  std::vector<int32_t> q = read_npy_i32(path, &shape);
  if (shape != folded_weight.shape())
    throw Error("weight codes '" + path + "': shape " + shape_to_string(shape) + ", but " + w.tensor + " is " +
                shape_to_string(folded_weight.shape()));
  for (int32_t v : q)
    if (v < w.params.qmin || v > w.params.qmax)
      throw Error("weight codes '" + path + "': code " + std::to_string(v) + " outside [" +
                  std::to_string(w.params.qmin) + ", " + std::to_string(w.params.qmax) + "]");
  return q;
}

IntModel int_model_from_record(const Graph& folded, const QuantRecord& rec, const std::string& params_dir,
                               const BackendProfile& backend) {
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
      m.weight[k] = IntWeight{t.params, weight_codes_of(rec, t, n.params.weight, params_dir)};
    } else {
      if (t.params.per_channel() && static_cast<int64_t>(t.params.scale.size()) != n.params.bias.size())
        throw Error("bias '" + t.tensor + "': " + std::to_string(t.params.scale.size()) + " scales for " +
                    std::to_string(n.params.bias.size()) + " channels");
      m.bias[k] = IntBias{t.params.scale, bias_codes(n.params.bias, t.params)};
    }
  }
  propagate_aliases(m);
  return m;
}

SimModel sim_model_from_record(const Graph& folded, const QuantRecord& rec, const std::string& params_dir) {
  SimModel s;
  s.graph = folded;
  for (const TensorQuant& t : rec.tensors) {
    if (t.role == TensorRole::Activation) {
      s.act[folded.find_value(t.tensor)] = t.params;
      continue;
    }
    Node& n = s.graph.nodes().at(node_index(folded, t.layer));
    if (t.role == TensorRole::Weight) {
      const std::vector<int32_t> q = weight_codes_of(rec, t, n.params.weight, params_dir);
      dequantize_i32_f32(q.data(), n.params.weight.shape(), t.params, n.params.weight.data());
    } else {
      const std::vector<int32_t> q = bias_codes(n.params.bias, t.params);
      for (int64_t c = 0; c < n.params.bias.size(); ++c)
        n.params.bias[c] = static_cast<float>(static_cast<double>(q[static_cast<size_t>(c)]) *
                                              t.params.scale.at(t.params.per_channel() ? static_cast<size_t>(c) : 0));
    }
  }
  return s;
}

ValueHook SimModel::hook() const {
  const std::map<ValueId, QParams>* a = &act;
  return [a](ValueId v, TensorF32& t) {
    const auto it = a->find(v);
    if (it != a->end()) fake_quantize_f32(t.view(), it->second, t.data());
  };
}

}  // namespace mqcalib
