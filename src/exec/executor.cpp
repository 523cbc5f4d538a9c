// mqcalib/src/exec/executor.cpp: the graph interpreter (buffer lifetime, hooks); the op dispatch is the
// table of exec/op_table.cpp.
#include "exec/executor.h"

#include <string>

#include "exec/op_runners.h"
#include "graph/canonical.h"

namespace mqcalib {

namespace {

std::string node_label(const Node& n) {
  std::string s = "node '" + n.name + "' (" + std::string(op_name(n.kind)) + ")";
  if (!n.source.empty()) s += " at " + n.source;
  return s;
}

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

namespace {

std::vector<TensorF32> run_node_impl(const Node& n, const std::vector<TensorF32*>& in,
                                     const std::vector<bool>& consumable) {
  if (in.size() != n.inputs.size())
    throw Error("given " + std::to_string(in.size()) + " input tensors for " + std::to_string(n.inputs.size()) +
                " inputs");
  std::vector<TensorF32> out = exec_detail::op_runner(n.kind)(exec_detail::OpArgs{n, in, consumable});
  if (out.size() != n.outputs.size())
    throw Error("produced " + std::to_string(out.size()) + " outputs but the node declares " +
                std::to_string(n.outputs.size()));
  return out;
}

}  // namespace

std::vector<TensorF32> run_node(const Node& node, const std::vector<TensorF32*>& inputs,
                                const std::vector<bool>& consumable) {
  try {
    return run_node_impl(node, inputs, consumable);
  } catch (const Error& e) {
    throw Error(node_label(node) + ": " + e.what());
  } catch (const std::bad_alloc&) {
    throw Error(node_label(node) + ": out of memory");
  }
}

Executor::Executor(const Graph& g) : g_(g) {
  g_.validate();
  validate_canonical(g_);
}

std::vector<TensorF32> Executor::run(const std::vector<TensorF32>& inputs, const ValueHook& hook,
                                     ValueId stop_after) const {
  const Graph& g = g_;
  if (inputs.size() != g.inputs().size())
    throw Error("executor: graph has " + std::to_string(g.inputs().size()) + " inputs but " +
                std::to_string(inputs.size()) + " tensors were given");
  const size_t nv = g.values().size();
  // Remaining reads of each value; graph outputs hold one extra read that is never released.
  std::vector<int64_t> uses(nv, 0);
  for (const Node& n : g.nodes())
    for (ValueId v : n.inputs) ++uses[static_cast<size_t>(v)];
  for (ValueId v : g.outputs()) ++uses[static_cast<size_t>(v)];

  std::vector<TensorF32> vals(nv);
  std::vector<bool> live(nv, false);
  for (size_t k = 0; k < inputs.size(); ++k) {
    const ValueId v = g.inputs()[k];
    vals[static_cast<size_t>(v)] = inputs[k];
    live[static_cast<size_t>(v)] = true;
    if (hook) hook(v, vals[static_cast<size_t>(v)]);
    if (v == stop_after) return {};
  }
  for (size_t k = 0; k < inputs.size(); ++k) {
    const ValueId v = g.inputs()[k];
    if (uses[static_cast<size_t>(v)] == 0) {
      vals[static_cast<size_t>(v)] = TensorF32();
      live[static_cast<size_t>(v)] = false;
    }
  }

  std::vector<TensorF32*> in;
  std::vector<bool> consumable;
  for (const Node& n : g.nodes()) {
    in.clear();
    consumable.clear();
    for (ValueId v : n.inputs) {
      if (!live[static_cast<size_t>(v)])
        throw Error(node_label(n) + ": input '" + g.value(v).name + "' has not been computed");
      in.push_back(&vals[static_cast<size_t>(v)]);
    }
    for (ValueId v : n.inputs) {
      int64_t here = 0;
      for (ValueId w : n.inputs) here += w == v;
      consumable.push_back(here == 1 && uses[static_cast<size_t>(v)] == 1);
    }
    std::vector<TensorF32> outs = run_node(n, in, consumable);
    for (ValueId v : n.inputs) {
      size_t i = static_cast<size_t>(v);
      if (--uses[i] == 0) {
        vals[i] = TensorF32();
        live[i] = false;
      }
    }
    for (size_t k = 0; k < outs.size(); ++k) {
      const size_t o = static_cast<size_t>(n.outputs[k]);
      vals[o] = std::move(outs[k]);
      live[o] = true;
      if (hook) hook(n.outputs[k], vals[o]);
      if (n.outputs[k] == stop_after) return {};
      if (uses[o] == 0) {  // dead value (e.g. an unused chunk): freed at once, after the hook
        vals[o] = TensorF32();
        live[o] = false;
      }
    }
  }

  std::vector<TensorF32> result;
  result.reserve(g.outputs().size());
  for (ValueId v : g.outputs()) {
    const size_t i = static_cast<size_t>(v);
    if (!live[i]) throw Error("executor: graph output '" + g.value(v).name + "' was not computed");
    // the last read of an output value may move it; earlier reads (duplicate outputs) copy
    if (--uses[i] == 0)
      result.push_back(std::move(vals[i]));
    else
      result.push_back(vals[i]);
  }
  return result;
}

}  // namespace mqcalib
