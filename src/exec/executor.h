// mqcalib/src/exec/executor.h: runs a Graph forward in float32, batched.
//
// The executor does not know whether it calibrates, simulates or reconstructs (docs/STYLE.md):
// callers attach a ValueHook, called once for each graph input and for each node output right after
// it is computed. The hook may modify the tensor in place (fake quantization); every consumer then
// reads the modified tensor. Shapes are computed at run time from the inputs (Value::shape is not
// used), so any batch size works.
//
// Determinism: bit-identical results from run to run and at any thread count (fixed chunking in the
// kernels, Eigen single-threaded). Per-sample results may depend on the batch size only through
// linear layers' GEMM blocking (row chunks of 16).
#pragma once

#include <functional>
#include <vector>

#include "core/tensor.h"
#include "exec/kernels.h"
#include "graph/ir.h"

namespace mqcalib {

using ValueHook = std::function<void(ValueId, TensorF32&)>;

class Executor {
 public:
  // Keeps a reference to `g` (not a copy): the graph must outlive the executor, and later changes
  // to its parameters (e.g. reconstructed weights) are seen by the next run(). Validates the graph:
  // its structure (Graph::validate) and that every node is in canonical form (validate_canonical,
  // graph/canonical.h); either throws mqcalib::Error naming the node.
  explicit Executor(const Graph& g);

  // Inputs in graph.inputs() order, each with its batch dim; returns graph.outputs() in order.
  // Intermediate tensors are freed after their last consumer. Errors are mqcalib::Error naming the
  // node and its op, e.g. "node 'layer1.0.conv1' (conv2d): conv2d: input has 3 channels but ...".
  // stop_after: when set, returns (an empty vector) as soon as that value has been computed and
  // passed to the hook: callers that only need an intermediate tensor (AdaRound's caches) skip the
  // rest of the network.
  std::vector<TensorF32> run(const std::vector<TensorF32>& inputs, const ValueHook& hook = {},
                             ValueId stop_after = kNoValue) const;

  const Graph& graph() const { return g_; }

 private:
  const Graph& g_;
};

// The kernel parameters of a conv2d node's attributes (stride, padding, dilation, groups).
Conv2dParams conv2d_params(const Attrs& attrs);

// Runs one canonical node (graph/canonical.h; not checked here) on its input tensors (in node.inputs
// order) and returns its outputs (in node.outputs order). Inputs flagged in `consumable` (empty: none) may have their
// buffer moved into an output and be computed in place. Exposed for callers that run a single layer.
std::vector<TensorF32> run_node(const Node& node, const std::vector<TensorF32*>& inputs,
                                const std::vector<bool>& consumable = {});

}  // namespace mqcalib
