// mqcalib/src/exec/executor.h: runs a Graph forward in float32, batched.
//
// The executor does not know whether it calibrates, simulates or reconstructs (docs/STYLE.md). It
// offers two generic services, both per value:
//  - OutputQuant: fake quantization (core/quantize.h) of listed values, applied as each value is
//    produced, before any consumer reads it. The producing kernel applies it in its epilogue where it
//    can (a conv/linear and the add/activation fused into it, kernels.h ConvEpilogue), else in one
//    pass right after the node; the bits are the same either way, and the same as calling
//    fake_quantize_f32 on the value from a hook.
//  - ValueHook: a callback on a value's tensor right after it is produced (and quantized), for
//    observers; it may modify the tensor in place (every consumer then reads the modified tensor).
//    RunOptions::hooked lists the values the hook needs; the others may never exist as tensors (a
//    conv's output consumed only by its activation is not written out).
// Shapes are computed at run time from the inputs (Value::shape is not used), so any batch size works.
//
// Fusion. Within one run, a conv2d or linear node is fused with the nodes that alone consume its
// output: an add of another tensor of the same shape (the residual), then an activation; the group
// runs as one kernel with the epilogue bias -> fq -> + residual -> fq -> activation -> fq (fq: the
// OutputQuant of the intermediate values). A value is fused away only when nothing else needs it:
// not a graph output, not hooked, not stop_after, read by that one node once, and not quantized
// per-channel. Fused or not, every value's bits are the same.
//
// Buffers. Intermediate tensors are freed after their last consumer into a pool the next nodes (and
// runs) take their outputs from, without zero-filling what the kernel overwrites; shape-preserving
// ops (activations, add, batch_norm, reshapes) and fused adds reuse their input's buffer when it has
// no other reader.
//
// Determinism: bit-identical results from run to run and at any thread count (fixed chunking, one
// fma chain per conv/linear output, exec/gemm_kernel.h); per-sample results do not depend on the
// batch size.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string_view>
#include <vector>

#include "core/qscheme.h"
#include "core/quantize.h"
#include "core/tensor.h"
#include "exec/kernels.h"
#include "graph/ir.h"

namespace mqcalib {

using ValueHook = std::function<void(ValueId, TensorF32&)>;

// Per-value fake quantization parameters for Executor::run (see above).
class OutputQuant {
 public:
  OutputQuant() = default;
  explicit OutputQuant(size_t value_count);  // the graph's values().size()
  // Fake-quantize value v with p (per-tensor, or per-channel along p.axis). Validates p, throwing
  // Error naming `tensor`; a value set twice keeps the last params.
  void set(ValueId v, QParams p, std::string_view tensor);
  const QParams* params(ValueId v) const;         // null: not quantized
  const FakeQuantF32* epilogue(ValueId v) const;  // per-tensor constants, null if none / per-channel
  size_t value_count() const { return index_.size(); }

 private:
  std::vector<int> index_;  // value -> entry, -1 for none
  std::vector<QParams> params_;
  std::vector<FakeQuantF32> consts_;
  std::vector<bool> per_tensor_;
};

// Computes node `index`'s outputs in place of its op (the simulation's integer-form adds,
// pipeline/simulation.h); returns false to let the op run. The inputs are the node's, in order.
using NodeOverride =
    std::function<bool(size_t index, const std::vector<TensorF32*>& inputs, std::vector<TensorF32>& outputs)>;

struct RunOptions {
  ValueHook hook;                      // empty: no hook
  NodeOverride node_override;          // empty: every node runs its op; set: nothing is fused
  std::vector<ValueId> hooked;         // values the hook is called for; empty: every value
  const OutputQuant* quant = nullptr;  // null: no fake quantization
  // When set: returns (an empty vector) as soon as that value has been computed, quantized and
  // passed to the hook (callers that only need an intermediate tensor skip the rest of the network).
  ValueId stop_after = kNoValue;
};

class Executor {
 public:
  // Keeps a reference to `g` (not a copy): the graph must outlive the executor, and later changes
  // to its parameters (e.g. reconstructed weights) are seen by the next run(). Validates the graph:
  // its structure (Graph::validate) and that every node is in canonical form (validate_canonical,
  // graph/canonical.h); either throws mqcalib::Error naming the node.
  explicit Executor(const Graph& g);
  ~Executor();

  // Inputs in graph.inputs() order, each with its batch dim; returns graph.outputs() in order.
  // Errors are mqcalib::Error naming the node and its op, e.g.
  // "node 'layer1.0.conv1' (conv2d): conv2d: input has 3 channels but ...". Not reentrant: one run
  // at a time per Executor (concurrent runs on one executor are serialized).
  std::vector<TensorF32> run(const std::vector<TensorF32>& inputs, const RunOptions& options) const;
  // The same with a hook on every value (nothing fused away) and no quantization.
  std::vector<TensorF32> run(const std::vector<TensorF32>& inputs, const ValueHook& hook = {},
                             ValueId stop_after = kNoValue) const;

  const Graph& graph() const { return g_; }

 private:
  struct Pool;
  const Graph& g_;
  std::unique_ptr<Pool> pool_;  // recycled buffers, kept across runs
  mutable std::mutex run_mutex_;
};

// The kernel parameters of a conv2d node's attributes (stride, padding, dilation, groups).
Conv2dParams conv2d_params(const Attrs& attrs);

// Runs one canonical node (graph/canonical.h; not checked here) on its input tensors (in node.inputs
// order) and returns its outputs (in node.outputs order). Inputs flagged in `consumable` (empty:
// none) may have their buffer moved into an output and be computed in place. Exposed for callers that
// run a single layer.
std::vector<TensorF32> run_node(const Node& node, const std::vector<TensorF32*>& inputs,
                                const std::vector<bool>& consumable = {});

}  // namespace mqcalib
