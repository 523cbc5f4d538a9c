// mqcalib/reconstruction/unit_ops.cpp: the unit runner's op table, one entry per OpKind.
#include "reconstruction/unit_ops.h"

#include <array>

namespace mqcalib::recon_detail {

namespace {

constexpr size_t kNumOps = 0
#define MQCALIB_X(e, s) +1
    MQCALIB_OP_KINDS(MQCALIB_X)
#undef MQCALIB_X
    ;

std::array<UnitOp, kNumOps> make_table() {
  std::array<UnitOp, kNumOps> t{};
  auto set = [&t](OpKind k, OpForwardFn f, OpBackwardFn b) { t[static_cast<size_t>(k)] = UnitOp{f, b}; };
  set(OpKind::Conv2d, conv2d_forward, conv2d_backward);
  set(OpKind::Linear, linear_forward, linear_backward);
  set(OpKind::BatchNorm, batch_norm_forward, batch_norm_backward);
  for (OpKind k : {OpKind::Relu, OpKind::Relu6, OpKind::Hardtanh, OpKind::Silu, OpKind::Sigmoid, OpKind::Tanh,
                   OpKind::Hardswish, OpKind::Hardsigmoid})
    set(k, activation_forward, activation_backward);
  set(OpKind::Gelu, activation_forward, nullptr);  // no GELU backward (reconstruction/activation_backward.h)
  set(OpKind::Add, add_forward, add_backward);
  set(OpKind::Mul, mul_forward, mul_backward);
  set(OpKind::Cat, cat_forward, cat_backward);
  set(OpKind::MaxPool2d, max_pool_forward, max_pool_backward);
  set(OpKind::AvgPool2d, avg_pool_forward, avg_pool_backward);
  set(OpKind::AdaptiveAvgPool2d, adaptive_pool_forward, adaptive_pool_backward);
  set(OpKind::Mean, mean_forward, mean_backward);
  for (OpKind k : {OpKind::Flatten, OpKind::Reshape, OpKind::Identity}) set(k, reshape_forward, reshape_backward);
  set(OpKind::Transpose, transpose_forward, transpose_backward);
  set(OpKind::Chunk, split_forward, split_backward);
  set(OpKind::Split, split_forward, split_backward);
  set(OpKind::Softmax, softmax_forward, nullptr);
  return t;
}

}  // namespace

const UnitOp& unit_op(OpKind k) {
  static const std::array<UnitOp, kNumOps> table = make_table();
  return table.at(static_cast<size_t>(k));
}

}  // namespace mqcalib::recon_detail
