// mqcalib/src/exec/node_activation.cpp: see node_activation.h.
#include "exec/node_activation.h"

namespace mqcalib {

std::optional<Activation> node_activation(const Node& n) {
  switch (n.kind) {
    case OpKind::Relu:
      return Activation::Relu;
    case OpKind::Relu6:
      return Activation::Relu6;
    case OpKind::Hardtanh:
      return Activation::Hardtanh;
    case OpKind::Silu:
      return Activation::Silu;
    case OpKind::Sigmoid:
      return Activation::Sigmoid;
    case OpKind::Tanh:
      return Activation::Tanh;
    case OpKind::Hardswish:
      return Activation::Hardswish;
    case OpKind::Hardsigmoid:
      return Activation::Hardsigmoid;
    case OpKind::Gelu:
      return n.attrs.gelu == GeluApproximation::Tanh ? Activation::GeluTanh : Activation::GeluErf;
    default:
      return std::nullopt;
  }
}

ActivationParams node_activation_params(const Node& n) {
  ActivationParams p;
  if (n.kind == OpKind::Hardtanh) {
    p.min_val = n.attrs.min_val;
    p.max_val = n.attrs.max_val;
  }
  return p;
}

}  // namespace mqcalib
