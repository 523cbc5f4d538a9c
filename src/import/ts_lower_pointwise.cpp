// mqcalib/src/import/ts_lower_pointwise.cpp: lowering of the activations, identities (contiguous,
// clone, dropout in eval) and add/sub/mul/div to canonical IR nodes (graph/ir.h).
#include "import/ts_lowering.h"

namespace mqcalib::import_detail {

namespace {

namespace a = c10::aten;

void emit_unary(Importer& im, tj::Node* n, OpKind kind, Attrs attrs = {}) {
  Node node;
  node.kind = kind;
  node.inputs = {im.tensor_in(n, 0)};
  node.attrs = std::move(attrs);
  im.emit(n, std::move(node));
}

// An operand usable as a compile-time scalar: a number, or a constant 0-d tensor.
bool is_scalar(const Importer& im, const tj::Node* n, size_t i) {
  const IValue& v = im.iv(n->input(i));
  return v.isDouble() || v.isInt() || v.isBool() ||
         (v.isTensor() && v.toTensor().numel() == 1 && v.toTensor().dim() == 0);
}

// Add/Mul of two graph tensors, or of one graph tensor and a compile-time scalar s: x + s (x - s
// written as x + (-s)) or x * s (x / s written as x * (1/s)). `negate`/`invert` apply to operand 1.
void emit_binary(Importer& im, tj::Node* n, OpKind kind, bool negate, bool invert) {
  const Lowering* l = find_lowering(n->kind());
  const bool inplace = l && l->in_place == InPlace::Yes;
  const bool d0 = im.is_tensor(n->input(0)), d1 = im.is_tensor(n->input(1));
  Node node;
  node.kind = kind;
  if (d0 && d1) {
    if (negate || invert) im.unsupported(n, "sub/div of two input-dependent tensors (no IR op)");
    node.inputs = {im.tensor_in(n, 0), im.tensor_in(n, 1)};
  } else if (d0 && is_scalar(im, n, 1)) {
    double s = im.num_arg(n, 1);
    if (negate) s = -s;
    if (invert) s = 1.0 / s;
    node.inputs = {im.tensor_in(n, 0)};
    node.attrs.scalar = static_cast<float>(s);
    node.attrs.has_scalar = true;
  } else if (d1 && is_scalar(im, n, 0) && !negate && !invert && !inplace) {
    node.inputs = {im.tensor_in(n, 1)};
    node.attrs.scalar = static_cast<float>(im.num_arg(n, 0));
    node.attrs.has_scalar = true;
  } else {
    im.unsupported(n, "operand is a constant tensor, not a scalar or an input-dependent tensor");
  }
  im.emit(n, std::move(node));
}

}  // namespace

void lower_relu(Importer& im, tj::Node* n) { emit_unary(im, n, OpKind::Relu); }
void lower_relu6(Importer& im, tj::Node* n) { emit_unary(im, n, OpKind::Relu6); }
void lower_silu(Importer& im, tj::Node* n) { emit_unary(im, n, OpKind::Silu); }
void lower_sigmoid(Importer& im, tj::Node* n) { emit_unary(im, n, OpKind::Sigmoid); }
void lower_tanh(Importer& im, tj::Node* n) { emit_unary(im, n, OpKind::Tanh); }
void lower_hardswish(Importer& im, tj::Node* n) { emit_unary(im, n, OpKind::Hardswish); }
void lower_hardsigmoid(Importer& im, tj::Node* n) { emit_unary(im, n, OpKind::Hardsigmoid); }
void lower_identity(Importer& im, tj::Node* n) { emit_unary(im, n, OpKind::Identity); }

// hardtanh(x, min_val, max_val); hardtanh(x, 0, 6) is relu6 (its canonical form).
void lower_hardtanh(Importer& im, tj::Node* n) {
  const double lo = im.num_arg(n, 1), hi = im.num_arg(n, 2);
  if (lo == 0.0 && hi == 6.0) return emit_unary(im, n, OpKind::Relu6);
  if (!(lo < hi)) im.unsupported(n, "hardtanh with min_val >= max_val");
  Attrs at;
  at.min_val = static_cast<float>(lo);
  at.max_val = static_cast<float>(hi);
  emit_unary(im, n, OpKind::Hardtanh, at);
}

// gelu(x, approximate="none" | "tanh")
void lower_gelu(Importer& im, tj::Node* n) {
  const std::string approx = n->inputs().size() > 1 ? im.iv(n->input(1)).toStringRef() : "none";
  Attrs at;
  if (approx == "tanh")
    at.gelu = GeluApproximation::Tanh;
  else if (approx != "none")
    im.unsupported(n, "gelu approximate='" + approx + "'");
  emit_unary(im, n, OpKind::Gelu, at);
}

// dropout(x, p, train) and its variants: the identity in eval mode.
void lower_dropout(Importer& im, tj::Node* n) {
  if (im.bool_arg(n, 2)) im.fail(n, "dropout in training mode (the model must be in eval mode)");
  emit_unary(im, n, OpKind::Identity);
}

// add/sub(x, y, alpha=1)
void lower_add_sub(Importer& im, tj::Node* n) {
  if (n->inputs().size() > 2 && im.num_arg(n, 2) != 1.0) im.unsupported(n, "add/sub with alpha != 1");
  const bool sub = n->kind() == a::sub || n->kind() == a::sub_;
  emit_binary(im, n, OpKind::Add, sub, false);
}

// mul(x, y), div(x, y, rounding_mode=None)
void lower_mul_div(Importer& im, tj::Node* n) {
  const bool div = n->kind() == a::div || n->kind() == a::div_;
  if (div && n->inputs().size() > 2 && !im.is_none(n, 2)) im.unsupported(n, "div with a rounding mode");
  emit_binary(im, n, OpKind::Mul, false, div);
}

}  // namespace mqcalib::import_detail
