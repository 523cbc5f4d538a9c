// mqcalib/src/exec/ops_pointwise.cpp: the executor's runners of elementwise and data-preserving ops
// (activations, add/mul, flatten, reshape, identity) over canonical nodes (graph/ir.h). Each may
// compute in place in a consumable input's buffer.
#include "exec/kernels.h"
#include "exec/node_activation.h"
#include "exec/op_runners.h"

namespace mqcalib::exec_detail {

namespace {

// The input's data under a new shape: its buffer when consumable, else a copy.
std::vector<TensorF32> reshaped(const OpArgs& a, Shape s) {
  bool in_place;
  std::vector<TensorF32> out;
  out.push_back(a.take_or_alloc(0, in_place));
  if (!in_place) out[0].vec() = a.x().vec();
  out[0].reshape(std::move(s));
  return out;
}

}  // namespace

std::vector<TensorF32> run_activation(const OpArgs& a) {
  const ViewF32 xv = a.x().view();
  bool in_place;
  std::vector<TensorF32> out;
  out.push_back(a.take_or_alloc(0, in_place));
  activation_f32(*node_activation(a.node), in_place ? out[0].view() : xv, out[0].mut_view(),
                 node_activation_params(a.node));
  return out;
}

std::vector<TensorF32> run_binary(const OpArgs& a) {
  const BinaryOp op = a.node.kind == OpKind::Add ? BinaryOp::Add : BinaryOp::Mul;
  std::vector<TensorF32> out;
  if (a.node.attrs.has_scalar) {
    const ViewF32 xv = a.x().view();
    bool in_place;
    out.push_back(a.take_or_alloc(0, in_place));
    binary_scalar_f32(op, in_place ? out[0].view() : xv, a.node.attrs.scalar, out[0].mut_view());
    return out;
  }
  const Shape s = broadcast_shape(a.x(0).shape(), a.x(1).shape());
  // a+b == b+a and a*b == b*a exactly in IEEE arithmetic, so either input may host the result.
  int host = -1;
  for (int k = 0; k < 2 && host < 0; ++k)
    if (static_cast<size_t>(k) < a.consumable.size() && a.consumable[k] && a.x(k).shape() == s) host = k;
  if (host >= 0) {
    out.push_back(std::move(*a.in[host]));
    binary_f32(op, out[0].view(), a.x(1 - host).view(), out[0].mut_view());
  } else {
    out.push_back(a.alloc(s));
    binary_f32(op, a.x(0), a.x(1), out[0].mut_view());
  }
  return out;
}

std::vector<TensorF32> run_flatten(const OpArgs& a) {
  return reshaped(a, flatten_output_shape(a.x().shape(), a.node.attrs.start_dim, a.node.attrs.end_dim));
}

std::vector<TensorF32> run_reshape(const OpArgs& a) {
  return reshaped(a, reshape_output_shape(a.x().shape(), a.node.attrs.dims));
}

std::vector<TensorF32> run_identity(const OpArgs& a) { return reshaped(a, a.x().shape()); }

}  // namespace mqcalib::exec_detail
