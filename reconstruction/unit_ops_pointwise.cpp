// mqcalib/reconstruction/unit_ops_pointwise.cpp: the unit runner's activation, add, mul and
// reshape-like entries (reconstruction/unit_ops.h).
#include <algorithm>
#include <optional>
#include <string>

#include "core/error.h"
#include "exec/node_activation.h"
#include "reconstruction/activation_backward.h"
#include "reconstruction/broadcast_backward.h"
#include "reconstruction/unit_ops.h"

namespace mqcalib::recon_detail {

namespace {

ActivationParams activation_params_of(const Node& n) {
  ActivationParams ap;
  ap.min_val = n.attrs.min_val;
  ap.max_val = n.attrs.max_val;
  return ap;
}

bool scalar_form(const OpForward& f) { return f.node.attrs.has_scalar && f.in.size() == 1; }

void need_two(const std::vector<ViewF32>& in) {
  if (in.size() != 2) throw Error("expected 2 inputs, got " + std::to_string(in.size()));
}

BinaryOp binary_op(OpKind k) { return k == OpKind::Add ? BinaryOp::Add : BinaryOp::Mul; }

void binary_forward(const OpForward& f) {
  if (scalar_form(f)) {
    f.new_output(f.in[0].shape);
    binary_scalar_f32(binary_op(f.node.kind), f.in[0], f.node.attrs.scalar, f.out[0].mut_view());
    return;
  }
  need_two(f.in);
  f.new_output(broadcast_shape(f.in[0].shape, f.in[1].shape));
  binary_f32(binary_op(f.node.kind), f.in[0], f.in[1], f.out[0].mut_view());
}

}  // namespace

bool is_activation_kind(OpKind k) {
  switch (k) {
    case OpKind::Relu:
    case OpKind::Relu6:
    case OpKind::Hardtanh:
    case OpKind::Silu:
    case OpKind::Sigmoid:
    case OpKind::Tanh:
    case OpKind::Hardswish:
    case OpKind::Hardsigmoid:
    case OpKind::Gelu:
      return true;
    default:
      return false;
  }
}

Activation activation_of_node(const Node& n) {
  const std::optional<Activation> a = node_activation(n);  // the one OpKind -> Activation mapping
  if (!a) throw Error("node '" + n.name + "' (" + std::string(op_name(n.kind)) + "): not an activation");
  return *a;
}

bool derivative_same_at_output(OpKind k) {
  return k == OpKind::Relu || k == OpKind::Relu6 || k == OpKind::Hardtanh;
}

void activation_in_place(const Node& n, TensorF32& x) {
  activation_f32(activation_of_node(n), x.view(), x.mut_view(), activation_params_of(n));
}

void activation_forward(const OpForward& f) {
  f.new_output(f.in.at(0).shape);
  activation_f32(activation_of_node(f.node), f.in[0], f.out[0].mut_view(), activation_params_of(f.node));
}

void activation_backward(const OpBackward& b) {
  if (b.gx[0])
    activation_backward_f32(activation_of_node(b.node), b.in[0], b.gy[0], *b.gx[0], activation_params_of(b.node));
}

void add_forward(const OpForward& f) { binary_forward(f); }

// y = a + b: each input's gradient is gy summed over the dims it was broadcast along.
void add_backward(const OpBackward& b) {
  for (size_t k = 0; k < b.gx.size(); ++k) {
    if (!b.gx[k]) continue;
    if (b.gx[k]->shape == b.gy[0].shape)
      std::copy(b.gy[0].data, b.gy[0].data + b.gy[0].size(), b.gx[k]->data);
    else
      reduce_to_shape_f32(b.gy[0], *b.gx[k]);
  }
}

void mul_forward(const OpForward& f) { binary_forward(f); }

void mul_backward(const OpBackward& b) {
  if (b.in.size() == 1) {  // y = x * s
    if (b.gx[0]) binary_scalar_f32(BinaryOp::Mul, b.gy[0], b.node.attrs.scalar, *b.gx[0]);
    return;
  }
  mul_backward_f32(b.in[0], b.in[1], b.gy[0], b.gx[0], b.gx[1]);
}

// Flatten / reshape / identity: the data unchanged under the node's output shape (a traced reshape may
// hold the example's batch size as a constant: then the first dim is the batch dim, as the executor reads it).
void reshape_forward(const OpForward& f) {
  const ViewF32& x = f.in.at(0);
  const Attrs& at = f.node.attrs;
  Shape s = x.shape;
  if (f.node.kind == OpKind::Flatten) s = flatten_output_shape(x.shape, at.start_dim, at.end_dim);
  if (f.node.kind == OpKind::Reshape) {
    std::vector<int64_t> dims = at.dims;
    bool has_infer = false;
    int64_t prod = 1;
    for (int64_t d : dims) {
      has_infer = has_infer || d == -1;
      prod *= d;
    }
    if (!has_infer && !dims.empty() && x.rank() > 0 && prod != x.size()) dims[0] = x.shape[0];
    s = reshape_output_shape(x.shape, dims);
  }
  std::copy(x.data, x.data + x.size(), f.new_output(s).data());
}

void reshape_backward(const OpBackward& b) {
  if (b.gx[0]) std::copy(b.gy[0].data, b.gy[0].data + b.gy[0].size(), b.gx[0]->data);
}

void softmax_forward(const OpForward& f) {
  f.new_output(f.in.at(0).shape);
  softmax_f32(f.in[0], f.node.attrs.axis, f.out[0].mut_view());
}

}  // namespace mqcalib::recon_detail
