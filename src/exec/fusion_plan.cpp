// mqcalib/src/exec/fusion_plan.cpp: see fusion_plan.h.
#include "exec/fusion_plan.h"

#include "exec/executor.h"
#include "exec/node_activation.h"

namespace mqcalib::exec_detail {

namespace {

// The single (node, slot) reading each value, or node -1 when it has no reader or several.
struct SoleReader {
  int64_t node = -1;
  int reads = 0;
};

std::vector<SoleReader> sole_readers(const Graph& g) {
  std::vector<SoleReader> r(g.values().size());
  for (size_t i = 0; i < g.nodes().size(); ++i)
    for (ValueId v : g.nodes()[i].inputs) {
      SoleReader& s = r[static_cast<size_t>(v)];
      s.node = s.reads == 0 ? static_cast<int64_t>(i) : -1;
      ++s.reads;
    }
  return r;
}

struct Planner {
  const Graph& g;
  const std::vector<bool>& needed;
  const OutputQuant* quant;
  std::vector<SoleReader> readers;

  // The node that alone consumes v (once), when v may be fused away; -1 otherwise.
  int64_t fusable_reader(ValueId v) const {
    const size_t i = static_cast<size_t>(v);
    if (needed[i] || readers[i].reads != 1) return -1;
    if (quant && quant->params(v) && !quant->epilogue(v)) return -1;  // per-channel: its own pass
    return readers[i].node;
  }

  // `taken[n]`: node n already belongs to a group (an add of two conv outputs is fused with the first).
  FusedGroup group_at(size_t head, const std::vector<int>& taken) const {
    FusedGroup grp;
    grp.head = grp.last = head;
    ValueId cur = g.nodes()[head].outputs.at(0);
    int64_t j = fusable_reader(cur);
    if (j >= 0 && taken[static_cast<size_t>(j)] < 0) {
      const Node& add = g.nodes()[static_cast<size_t>(j)];
      if (add.kind == OpKind::Add && !add.attrs.has_scalar && add.inputs.size() == 2 &&
          add.inputs[0] != add.inputs[1]) {
        grp.add = j;
        grp.residual = add.inputs[0] == cur ? 1 : 0;
        grp.last = static_cast<size_t>(j);
        cur = add.outputs.at(0);
        j = fusable_reader(cur);
      }
    }
    if (j >= 0 && node_activation(g.nodes()[static_cast<size_t>(j)])) {
      grp.act = j;
      grp.last = static_cast<size_t>(j);
      cur = g.nodes()[static_cast<size_t>(j)].outputs.at(0);
    }
    grp.out = cur;
    return grp;
  }
};

}  // namespace

FusionPlan plan_fusion(const Graph& g, const std::vector<bool>& needed, const OutputQuant* quant) {
  Planner pl{g, needed, quant, sole_readers(g)};
  FusionPlan plan;
  plan.group_of.assign(g.nodes().size(), -1);
  for (size_t i = 0; i < g.nodes().size(); ++i) {
    const OpKind k = g.nodes()[i].kind;
    if (k != OpKind::Conv2d && k != OpKind::Linear) continue;
    const FusedGroup grp = pl.group_at(i, plan.group_of);
    const int idx = static_cast<int>(plan.groups.size());
    plan.group_of[grp.head] = idx;
    if (grp.add >= 0) plan.group_of[static_cast<size_t>(grp.add)] = idx;
    if (grp.act >= 0) plan.group_of[static_cast<size_t>(grp.act)] = idx;
    plan.groups.push_back(grp);
  }
  return plan;
}

}  // namespace mqcalib::exec_detail
