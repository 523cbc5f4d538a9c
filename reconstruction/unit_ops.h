// mqcalib/reconstruction/unit_ops.h: internal to the unit runner (reconstruction/unit_runner.h), the
// per-op forward and backward functions it dispatches through, one table entry per OpKind.
//
// Forward: the op of src/exec/kernels.h through its public kernel (conv2d_nchw_f32, linear_f32, ...),
// into outputs from OpForward::new_output (uninitialized: every kernel writes all of its output),
// with the semantics the executor gives the node (attributes, traced reshape sizes, pooling defaults),
// and for conv2d / linear the weight the runner passes (soft-rounded, hard-rounded or the graph's).
// Backward: given the forward's inputs and outputs and dL/d(outputs), writes dL/d(input k) into gx[k]
// (overwritten; only where gx[k] is non-null) and dL/dW into gw (conv2d / linear, when non-null), from
// the backward kernels of reconstruction/ (conv_backward, linear_backward, activation_backward,
// pool_backward, broadcast_backward, batch_norm_backward) or data movement (cat <-> split, reshape).
// Biases and batch-norm parameters are constants here: no gradient is taken for them.
#pragma once

#include <string>
#include <vector>

#include "core/tensor.h"
#include "exec/kernels.h"
#include "graph/ir.h"
#include "reconstruction/tensor_recycler.h"

namespace mqcalib::recon_detail {

struct OpForward {
  const Node& node;
  const std::vector<ViewF32>& in;  // node.inputs order
  const float* weight;             // conv2d / linear: the weight to use (node.params.weight's shape)
  std::vector<TensorF32>& out;     // filled with node.outputs.size() tensors
  TensorRecycler* pool = nullptr;  // where new outputs take their storage (null: fresh buffers)

  // Appends an output of shape s to `out`, values unset (the op's kernel writes every element).
  TensorF32& new_output(Shape s) const {
    out.push_back(pool ? pool->take(std::move(s)) : TensorF32::uninitialized(std::move(s)));
    return out.back();
  }
};

struct OpBackward {
  const Node& node;
  const std::vector<ViewF32>& in;   // the forward's inputs
  const std::vector<ViewF32>& out;  // the forward's outputs
  const float* weight;
  const std::vector<ViewF32>& gy;      // dL/d(output k), zeros where no gradient reached an output
  const std::vector<MutViewF32*>& gx;  // dL/d(input k), input's shape; null: not needed
  float* gw;                           // dL/dW (weight's shape) or null
};

using OpForwardFn = void (*)(const OpForward&);
using OpBackwardFn = void (*)(const OpBackward&);

struct UnitOp {
  OpForwardFn forward = nullptr;
  OpBackwardFn backward = nullptr;  // null: the op has no backward (gelu, softmax)
};

// The entry of `k`. Every OpKind has a forward.
const UnitOp& unit_op(OpKind k);

// Kernel parameters from node attributes (the executor's reading of them).
Pool2dParams pool2d_params_of(const Node& n);
Activation activation_of_node(const Node& n);  // throws for non-activations
bool is_activation_kind(OpKind k);
// Relu, relu6, hardtanh: f'(x) is 1 exactly where lo < x < hi, and there y = f(x) = x; elsewhere y sits
// on a bound, where f' is 0 too. So f'(y) = f'(x): their backward may read y where it reads x, and the
// forward may overwrite its input (activation_in_place), bit-identical.
bool derivative_same_at_output(OpKind k);
void activation_in_place(const Node& n, TensorF32& x);  // x = f(x), elementwise

// The entries, one file per op family (unit_ops_layers.cpp, unit_ops_pointwise.cpp, unit_ops_shape.cpp).
void conv2d_forward(const OpForward&);
void conv2d_backward(const OpBackward&);
void linear_forward(const OpForward&);
void linear_backward(const OpBackward&);
void batch_norm_forward(const OpForward&);
void batch_norm_backward(const OpBackward&);
void activation_forward(const OpForward&);
void activation_backward(const OpBackward&);
void add_forward(const OpForward&);
void add_backward(const OpBackward&);
void mul_forward(const OpForward&);
void mul_backward(const OpBackward&);
void reshape_forward(const OpForward&);  // flatten, reshape, identity
void reshape_backward(const OpBackward&);
void softmax_forward(const OpForward&);
void cat_forward(const OpForward&);
void cat_backward(const OpBackward&);
void split_forward(const OpForward&);  // chunk, split
void split_backward(const OpBackward&);
void transpose_forward(const OpForward&);
void transpose_backward(const OpBackward&);
void max_pool_forward(const OpForward&);
void max_pool_backward(const OpBackward&);
void avg_pool_forward(const OpForward&);
void avg_pool_backward(const OpBackward&);
void adaptive_pool_forward(const OpForward&);
void adaptive_pool_backward(const OpBackward&);
void mean_forward(const OpForward&);
void mean_backward(const OpBackward&);

}  // namespace mqcalib::recon_detail
