// mqcalib/src/exec/op_runners.h: internal to the executor. One small function per op that runs a
// canonical node (graph/ir.h) on its input tensors; the executor dispatches through op_runner(kind),
// a table indexed by OpKind. Runners assume the node passed validate_canonical() and check only
// what depends on the run-time input shapes (the kernels throw naming themselves).
#pragma once

#include <vector>

#include "core/tensor.h"
#include "graph/ir.h"

namespace mqcalib {
class OutputQuant;
}

namespace mqcalib::exec_detail {

struct FusedGroup;

// Recycled tensor storage: outputs are taken from it uninitialized (their kernel writes every
// element) and dead values are given back.
struct BufferPool {
  std::vector<FloatBuffer> free;
  TensorF32 take(Shape s);   // the smallest free buffer that fits, else a new one
  void give(TensorF32&& t);  // keeps at most kMaxFree buffers (the largest)
  static constexpr size_t kMaxFree = 64;
};

struct OpArgs {
  const Node& node;
  const std::vector<TensorF32*>& in;    // in node.inputs order
  const std::vector<bool>& consumable;  // in[k]'s buffer may be moved into an output (empty: none)
  BufferPool* pool = nullptr;           // null: plain allocation

  const TensorF32& x(size_t k = 0) const { return *in[k]; }
  // A new output tensor, values unset (the kernel writes them all).
  TensorF32 alloc(Shape s) const;
  // Output for a shape-preserving op on in[k]: the consumed input's buffer when allowed (in_place
  // set), else a new tensor of the same shape.
  TensorF32 take_or_alloc(size_t k, bool& in_place) const;
};

// The inputs of a fused group (fusion_plan.h): the head's input x, the fused add's residual (null
// without an add) and whether its buffer may host the output.
struct GroupArgs {
  const Graph& g;
  const FusedGroup& grp;
  const TensorF32& x;
  TensorF32* residual;
  bool residual_consumable;
  const OutputQuant* quant;
  BufferPool* pool;
};

// ops_fused.cpp: runs the group's nodes as one conv/linear kernel (or, when the residual's shape
// differs from the head's output, one after the other); returns the last member's output, with
// every member's quantization applied.
TensorF32 run_fused_group(const GroupArgs& a);

// Fake-quantizes t in place by v's params (a pass; per-tensor or per-channel), if it has any.
void apply_output_quant(const OutputQuant* quant, ValueId v, TensorF32& t);

using OpRunFn = std::vector<TensorF32> (*)(const OpArgs&);

// The runner of `kind` (every OpKind has one).
OpRunFn op_runner(OpKind kind);

// ops_layers.cpp
std::vector<TensorF32> run_conv2d(const OpArgs&);
std::vector<TensorF32> run_linear(const OpArgs&);
std::vector<TensorF32> run_batch_norm(const OpArgs&);
// ops_pointwise.cpp
std::vector<TensorF32> run_activation(const OpArgs&);
std::vector<TensorF32> run_binary(const OpArgs&);
std::vector<TensorF32> run_flatten(const OpArgs&);
std::vector<TensorF32> run_reshape(const OpArgs&);
std::vector<TensorF32> run_identity(const OpArgs&);
// ops_shape.cpp
std::vector<TensorF32> run_cat(const OpArgs&);
std::vector<TensorF32> run_max_pool2d(const OpArgs&);
std::vector<TensorF32> run_avg_pool2d(const OpArgs&);
std::vector<TensorF32> run_adaptive_avg_pool2d(const OpArgs&);
std::vector<TensorF32> run_mean(const OpArgs&);
std::vector<TensorF32> run_transpose(const OpArgs&);
std::vector<TensorF32> run_chunk(const OpArgs&);
std::vector<TensorF32> run_split(const OpArgs&);
std::vector<TensorF32> run_softmax(const OpArgs&);

}  // namespace mqcalib::exec_detail
