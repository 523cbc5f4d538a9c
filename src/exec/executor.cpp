// mqcalib/src/exec/executor.cpp: the graph interpreter (executor.h): buffer lifetime, fusion groups,
// output quantization, hooks. The per-op dispatch is the table of exec/op_table.cpp.
#include "exec/executor.h"

#include <algorithm>
#include <string>

#include "exec/fusion_plan.h"
#include "exec/op_runners.h"
#include "graph/canonical.h"

namespace mqcalib {

namespace {

using exec_detail::BufferPool;
using exec_detail::FusedGroup;

std::string node_label(const Node& n) {
  std::string s = "node '" + n.name + "' (" + std::string(op_name(n.kind)) + ")";
  if (!n.source.empty()) s += " at " + n.source;
  return s;
}

std::string group_label(const Graph& g, const FusedGroup& grp) {
  std::string s = node_label(g.nodes()[grp.head]);
  for (int64_t m : {grp.add, grp.act})
    if (m >= 0) s += " fused with " + node_label(g.nodes()[static_cast<size_t>(m)]);
  return s;
}

std::vector<TensorF32> run_node_impl(const Node& n, const std::vector<TensorF32*>& in,
                                     const std::vector<bool>& consumable, BufferPool* pool) {
  if (in.size() != n.inputs.size())
    throw Error("given " + std::to_string(in.size()) + " input tensors for " + std::to_string(n.inputs.size()) +
                " inputs");
  std::vector<TensorF32> out = exec_detail::op_runner(n.kind)(exec_detail::OpArgs{n, in, consumable, pool});
  if (out.size() != n.outputs.size())
    throw Error("produced " + std::to_string(out.size()) + " outputs but the node declares " +
                std::to_string(n.outputs.size()));
  return out;
}

// One run: the values alive, their remaining reads, the fusion plan.
class Run {
 public:
  Run(const Graph& g, const RunOptions& o, BufferPool& pool) : g_(g), o_(o), pool_(pool) {
    const size_t nv = g.values().size();
    hooked_.assign(nv, o.hook && o.hooked.empty());
    if (o.hook)
      for (ValueId v : o.hooked) hooked_.at(static_cast<size_t>(v)) = true;
    std::vector<bool> needed = hooked_;
    for (ValueId v : g.outputs()) needed[static_cast<size_t>(v)] = true;
    if (o.stop_after != kNoValue) needed.at(static_cast<size_t>(o.stop_after)) = true;
    if (o.node_override)
      plan_.group_of.assign(g.nodes().size(), -1);  // an overridden node must run alone
    else
      plan_ = exec_detail::plan_fusion(g, needed, o.quant);
    uses_.assign(nv, 0);
    for (const Node& n : g.nodes())
      for (ValueId v : n.inputs) ++uses_[static_cast<size_t>(v)];
    for (ValueId v : g.outputs()) ++uses_[static_cast<size_t>(v)];  // one read that is never released
    vals_.resize(nv);
    borrowed_.assign(nv, nullptr);
  }

  std::vector<TensorF32> go(const std::vector<TensorF32>& inputs) {
    if (bind_inputs(inputs)) return {};
    for (size_t i = 0; i < g_.nodes().size(); ++i) {
      const int gi = plan_.group_of[i];
      if (gi < 0) {
        if (run_plain(i)) return {};
      } else if (plan_.groups[static_cast<size_t>(gi)].last == i) {
        if (run_group(plan_.groups[static_cast<size_t>(gi)])) return {};
      }
    }
    return results();
  }

 private:
  bool bind_inputs(const std::vector<TensorF32>& inputs) {
    if (inputs.size() != g_.inputs().size())
      throw Error("executor: graph has " + std::to_string(g_.inputs().size()) + " inputs but " +
                  std::to_string(inputs.size()) + " tensors were given");
    for (size_t k = 0; k < inputs.size(); ++k) {
      const ValueId v = g_.inputs()[k];
      const size_t i = static_cast<size_t>(v);
      if (!hooked_[i] && !(o_.quant && o_.quant->params(v))) {
        borrowed_[i] = &inputs[k];  // read in place, never modified
        if (v == o_.stop_after) return true;
        continue;
      }
      TensorF32 t = pool_.take(inputs[k].shape());
      std::copy(inputs[k].data(), inputs[k].data() + inputs[k].size(), t.data());
      if (produce(v, std::move(t), false)) return true;
    }
    return false;
  }

  // Stores v's tensor (quantized unless `quantized`), calls the hook; true when the run stops here.
  bool produce(ValueId v, TensorF32 t, bool quantized) {
    const size_t i = static_cast<size_t>(v);
    if (!quantized) exec_detail::apply_output_quant(o_.quant, v, t);
    vals_[i] = std::move(t);
    if (hooked_[i]) o_.hook(v, vals_[i]);
    if (v == o_.stop_after) return true;
    if (uses_[i] == 0) pool_.give(std::move(vals_[i]));  // dead value (an unused chunk): freed after the hook
    return false;
  }

  TensorF32* input(const Node& n, ValueId v) {
    const size_t i = static_cast<size_t>(v);
    if (borrowed_[i]) return const_cast<TensorF32*>(borrowed_[i]);  // never consumable: not modified
    if (vals_[i].empty()) throw Error(node_label(n) + ": input '" + g_.value(v).name + "' has not been computed");
    return &vals_[i];
  }

  // True when input v of a node may host its output: its last read, not a borrowed graph input.
  bool consumable(const std::vector<ValueId>& ins, size_t k) const {
    const ValueId v = ins[k];
    int64_t here = 0;
    for (ValueId w : ins) here += w == v;
    return here == 1 && uses_[static_cast<size_t>(v)] == 1 && !borrowed_[static_cast<size_t>(v)];
  }

  void release(const std::vector<ValueId>& ins) {
    for (ValueId v : ins) {
      const size_t i = static_cast<size_t>(v);
      if (--uses_[i] == 0 && !borrowed_[i]) pool_.give(std::move(vals_[i]));
    }
  }

  bool run_plain(size_t idx) {
    const Node& n = g_.nodes()[idx];
    std::vector<TensorF32*> in;
    std::vector<bool> cons;
    for (size_t k = 0; k < n.inputs.size(); ++k) {
      in.push_back(input(n, n.inputs[k]));
      cons.push_back(consumable(n.inputs, k));
    }
    std::vector<TensorF32> outs;
    try {
      if (!o_.node_override || !o_.node_override(idx, in, outs)) outs = run_node_impl(n, in, cons, &pool_);
    } catch (const Error& e) {
      throw Error(node_label(n) + ": " + e.what());
    } catch (const std::bad_alloc&) {
      throw Error(node_label(n) + ": out of memory");
    }
    release(n.inputs);
    for (size_t k = 0; k < outs.size(); ++k)
      if (produce(n.outputs[k], std::move(outs[k]), false)) return true;
    return false;
  }

  bool run_group(const FusedGroup& grp) {
    const Node& h = g_.nodes()[grp.head];
    TensorF32* x = input(h, h.inputs[0]);
    TensorF32* res = nullptr;
    bool res_cons = false;
    std::vector<ValueId> external = {h.inputs[0]};
    if (grp.add >= 0) {
      const Node& add = g_.nodes()[static_cast<size_t>(grp.add)];
      const ValueId r = add.inputs[static_cast<size_t>(grp.residual)];
      res = input(add, r);
      res_cons = r != h.inputs[0] && uses_[static_cast<size_t>(r)] == 1 && !borrowed_[static_cast<size_t>(r)];
      external.push_back(r);
    }
    TensorF32 y;
    try {
      y = exec_detail::run_fused_group(exec_detail::GroupArgs{g_, grp, *x, res, res_cons, o_.quant, &pool_});
    } catch (const Error& e) {
      throw Error(group_label(g_, grp) + ": " + e.what());
    } catch (const std::bad_alloc&) {
      throw Error(group_label(g_, grp) + ": out of memory");
    }
    release(external);
    return produce(grp.out, std::move(y), true);
  }

  std::vector<TensorF32> results() {
    std::vector<TensorF32> result;
    result.reserve(g_.outputs().size());
    for (ValueId v : g_.outputs()) {
      const size_t i = static_cast<size_t>(v);
      if (borrowed_[i]) {
        result.push_back(*borrowed_[i]);
        continue;
      }
      if (vals_[i].empty()) throw Error("executor: graph output '" + g_.value(v).name + "' was not computed");
      // the last read of an output value may move it; earlier reads (duplicate outputs) copy
      if (--uses_[i] == 0)
        result.push_back(std::move(vals_[i]));
      else
        result.push_back(vals_[i]);
    }
    return result;
  }

  const Graph& g_;
  const RunOptions& o_;
  BufferPool& pool_;
  std::vector<bool> hooked_;
  exec_detail::FusionPlan plan_;
  std::vector<int64_t> uses_;
  std::vector<TensorF32> vals_;
  std::vector<const TensorF32*> borrowed_;
};

}  // namespace

Conv2dParams conv2d_params(const Attrs& a) {
  Conv2dParams cp;
  cp.stride_h = a.stride[0];
  cp.stride_w = a.stride[1];
  cp.pad_h = a.padding[0];
  cp.pad_w = a.padding[1];
  cp.dil_h = a.dilation[0];
  cp.dil_w = a.dilation[1];
  cp.groups = a.groups;
  return cp;
}

std::vector<TensorF32> run_node(const Node& node, const std::vector<TensorF32*>& inputs,
                                const std::vector<bool>& consumable) {
  try {
    return run_node_impl(node, inputs, consumable, nullptr);
  } catch (const Error& e) {
    throw Error(node_label(node) + ": " + e.what());
  } catch (const std::bad_alloc&) {
    throw Error(node_label(node) + ": out of memory");
  }
}

struct Executor::Pool {
  BufferPool buffers;
};

Executor::Executor(const Graph& g) : g_(g), pool_(std::make_unique<Pool>()) {
  g_.validate();
  validate_canonical(g_);
}

Executor::~Executor() = default;

std::vector<TensorF32> Executor::run(const std::vector<TensorF32>& inputs, const RunOptions& options) const {
  if (options.quant && options.quant->value_count() != g_.values().size())
    throw Error("executor: OutputQuant built for " + std::to_string(options.quant->value_count()) +
                " values, the graph has " + std::to_string(g_.values().size()));
  std::lock_guard<std::mutex> lock(run_mutex_);
  Run r(g_, options, pool_->buffers);
  return r.go(inputs);
}

std::vector<TensorF32> Executor::run(const std::vector<TensorF32>& inputs, const ValueHook& hook,
                                     ValueId stop_after) const {
  RunOptions o;
  o.hook = hook;
  o.stop_after = stop_after;
  return run(inputs, o);
}

}  // namespace mqcalib
