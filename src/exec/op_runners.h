// mqcalib/src/exec/op_runners.h: internal to the executor. One small function per op that runs a
// canonical node (graph/ir.h) on its input tensors; the executor dispatches through op_runner(kind),
// a table indexed by OpKind. Runners assume the node passed validate_canonical() and check only
// what depends on the run-time input shapes (the kernels throw naming themselves).
#pragma once

#include <vector>

#include "core/tensor.h"
#include "graph/ir.h"

namespace mqcalib::exec_detail {

struct OpArgs {
  const Node& node;
  const std::vector<TensorF32*>& in;    // in node.inputs order
  const std::vector<bool>& consumable;  // in[k]'s buffer may be moved into an output (empty: none)

  const TensorF32& x(size_t k = 0) const { return *in[k]; }
  // Output for a shape-preserving op on in[k]: the consumed input's buffer when allowed (in_place
  // set), else a new tensor of the same shape.
  TensorF32 take_or_alloc(size_t k, bool& in_place) const;
};

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
