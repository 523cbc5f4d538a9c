// mqcalib/src/pipeline/simulation_adds.cpp: see simulation_adds.h.
#include "pipeline/simulation_adds.h"

#include <cmath>
#include <unordered_map>

#include "backends/backend.h"
#include "exec/int_model.h"

namespace mqcalib {

namespace {

// Every value's grid as the integer model stores it: the record's activations (per tensor, the
// record's own grid) and their aliases through order-preserving ops.
IntModel grids_of(const Graph& g, const QuantRecord& record, RequantMode mode) {
  IntModel m = make_int_model(g, mode, record.provenance.backend);
  const std::unordered_map<std::string, ValueId> values = g.value_ids_by_name();
  for (const TensorQuant& t : record.tensors) {
    const auto it = values.find(t.tensor);
    if (t.role != TensorRole::Activation || it == values.end() || t.params.per_channel()) continue;
    m.act[static_cast<size_t>(it->second)] = act_from_qparams(t.params, /*clamp_to_storage=*/false);
    m.origin[static_cast<size_t>(it->second)] = QuantOrigin::Planned;
  }
  propagate_aliases(m);
  return m;
}

// Codes of x on grid p; false when some element is not exactly s * (q - zp).
bool codes_of(const TensorF32& x, const ActQ& p, std::vector<int32_t>& q) {
  q.resize(static_cast<size_t>(x.size()));
  for (int64_t i = 0; i < x.size(); ++i) {
    const float k = std::nearbyint(x[i] / p.scale);
    if (p.scale * k != x[i] || std::fabs(k) > 65536.0f) return false;
    q[static_cast<size_t>(i)] = static_cast<int32_t>(k) + p.zp;
  }
  return true;
}

bool run_integer_add(const IntegerAdd& add, RequantMode mode, const std::vector<TensorF32*>& in,
                     std::vector<TensorF32>& out) {
  if (in.size() != 2 || in[0]->shape() != in[1]->shape()) return false;
  std::vector<int32_t> qa, qb;
  if (!codes_of(*in[0], add.a, qa) || !codes_of(*in[1], add.b, qb)) return false;
  std::vector<int32_t> qc(qa.size());
  add_i32(qa.data(), add.a, qb.data(), add.b, static_cast<int64_t>(qa.size()), add.c, mode, qc.data());
  TensorF32 y(in[0]->shape());
  for (size_t i = 0; i < qc.size(); ++i) y.data()[i] = add.c.scale * static_cast<float>(qc[i] - add.c.zp);
  out.clear();
  out.push_back(std::move(y));
  return true;
}

}  // namespace

std::shared_ptr<const IntegerAdds> plan_integer_adds(const Graph& g, const QuantRecord& record) {
  if (record.provenance.backend.empty()) return nullptr;
  const BackendProfile& backend = find_backend(record.provenance.backend);
  auto plan = std::make_shared<IntegerAdds>();
  plan->mode = RequantMode{backend.integer_requant, backend.activation.rounding};
  const IntModel m = grids_of(g, record, plan->mode);
  // An integer runtime's add is an 8-bit kernel (the Q31 form shifts codes left by 20 bits).
  auto grid_8bit = [&](ValueId v) {
    const auto& a = m.act[static_cast<size_t>(v)];
    return a && static_cast<int64_t>(a->qmax) - a->qmin <= 255;
  };
  auto on_grid = [&](ValueId v) {  // the simulation holds v on its grid
    const QuantOrigin o = m.origin[static_cast<size_t>(v)];
    return grid_8bit(v) && (o == QuantOrigin::Planned || o == QuantOrigin::AliasForward);
  };
  plan->index_of_node.assign(g.nodes().size(), -1);
  for (size_t i = 0; i < g.nodes().size(); ++i) {
    const Node& n = g.nodes()[i];
    if (n.kind != OpKind::Add || n.inputs.size() != 2 || n.outputs.size() != 1) continue;
    const ValueId a = n.inputs[0], b = n.inputs[1], c = n.outputs[0];
    if (!on_grid(a) || !on_grid(b) || !grid_8bit(c)) continue;
    plan->index_of_node[i] = static_cast<int>(plan->adds.size());
    const auto& acts = m.act;
    plan->adds.push_back({*acts[static_cast<size_t>(a)], *acts[static_cast<size_t>(b)], *acts[static_cast<size_t>(c)]});
  }
  if (plan->adds.empty()) return nullptr;
  return plan;
}

NodeOverride integer_adds_override(std::shared_ptr<const IntegerAdds> adds) {
  if (!adds) return {};
  return [adds](size_t node, const std::vector<TensorF32*>& in, std::vector<TensorF32>& out) {
    const int k = node < adds->index_of_node.size() ? adds->index_of_node[node] : -1;
    return k >= 0 && run_integer_add(adds->adds[static_cast<size_t>(k)], adds->mode, in, out);
  };
}

}  // namespace mqcalib
