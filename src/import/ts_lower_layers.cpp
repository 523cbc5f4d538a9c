// mqcalib/src/import/ts_lower_layers.cpp: lowering of the parameterised layers (conv2d, linear,
// matmul with a parameter, batch_norm) to canonical IR nodes (graph/ir.h).
#include "import/ts_lowering.h"

namespace mqcalib::import_detail {

namespace {

namespace a = c10::aten;

// Weight, bias, kernel, stride, padding (ints, "valid" or "same") and dilation: operands 1..5 of
// conv2d and of _convolution / convolution.
Node conv_node(Importer& im, tj::Node* n) {
  const at::Tensor& w = im.const_tensor(n, 1);
  if (w.dim() != 4) im.unsupported(n, "only 2-d convolutions (weight rank 4), got weight " + shape_of(w));
  Node node;
  node.kind = OpKind::Conv2d;
  node.inputs = {im.tensor_in(n, 0)};
  node.params.weight = to_tensor_f32(w);
  if (!im.is_none(n, 2)) node.params.bias = to_tensor_f32(im.const_tensor(n, 2));
  Attrs& at = node.attrs;
  at.kernel = {w.size(2), w.size(3)};
  at.stride = im.pair_arg(n, 3, {1, 1});
  at.dilation = im.pair_arg(n, 5, {1, 1});
  if (!im.iv(n->input(4)).isString()) {
    at.padding = im.pair_arg(n, 4, {0, 0});
  } else if (im.iv(n->input(4)).toStringRef() == "valid") {
    at.padding = {0, 0};
  } else {  // "same"
    for (int d = 0; d < 2; ++d) {
      const int64_t total = at.dilation[d] * (at.kernel[d] - 1);
      if (total % 2 != 0) im.unsupported(n, "padding='same' with an asymmetric padding");
      at.padding[d] = total / 2;
    }
  }
  return node;
}

}  // namespace

// conv2d(x, w, b, stride, padding, dilation, groups)
void lower_conv2d(Importer& im, tj::Node* n) {
  Node node = conv_node(im, n);
  node.attrs.groups = im.int_arg(n, 6);
  im.emit(n, std::move(node), im.param_owner(n->input(1)));
}

// _convolution / convolution(x, w, b, stride, padding, dilation, transposed, output_padding, groups, ...)
void lower_convolution(Importer& im, tj::Node* n) {
  Node node = conv_node(im, n);
  if (im.bool_arg(n, 6)) im.unsupported(n, "transposed convolution");
  node.attrs.groups = im.int_arg(n, 8);
  im.emit(n, std::move(node), im.param_owner(n->input(1)));
}

void lower_linear(Importer& im, tj::Node* n) {
  const at::Tensor& w = im.const_tensor(n, 1);
  if (w.dim() != 2) im.unsupported(n, "linear weight must be 2-d, got " + shape_of(w));
  Node node;
  node.kind = OpKind::Linear;
  node.inputs = {im.tensor_in(n, 0)};
  node.params.weight = to_tensor_f32(w);
  if (!im.is_none(n, 2)) node.params.bias = to_tensor_f32(im.const_tensor(n, 2));
  im.emit(n, std::move(node), im.param_owner(n->input(1)));
}

// y = x @ W (+ b), W an [I, O] parameter (often W = weight.t()): linear with weight W^T.
void lower_matmul(Importer& im, tj::Node* n) {
  const bool addmm = n->kind() == a::addmm;
  const size_t xi = addmm ? 1 : 0;
  const at::Tensor& w = im.const_tensor(n, xi + 1);
  if (w.dim() != 2) im.unsupported(n, "matmul with a parameter of rank != 2");
  Node node;
  node.kind = OpKind::Linear;
  node.inputs = {im.tensor_in(n, xi)};
  node.params.weight = to_tensor_f32(w.t());
  std::string owner = im.param_owner(n->input(xi + 1));
  if (addmm) {
    if (im.num_arg(n, 3) != 1.0 || im.num_arg(n, 4) != 1.0) im.unsupported(n, "addmm with beta or alpha != 1");
    node.params.bias = to_tensor_f32(im.const_tensor(n, 0));
  }
  if (owner.empty() && w.size(0) > 0) {
    const tj::Node* src = n->input(xi + 1)->node();
    if (src->kind() == a::t && !src->inputs().empty()) owner = im.param_owner(src->input(0));
  }
  im.emit(n, std::move(node), owner);
}

// batch_norm(x, weight, bias, running_mean, running_var, training, momentum, eps, cudnn_enabled)
void lower_batch_norm(Importer& im, tj::Node* n) {
  if (im.bool_arg(n, 5)) im.fail(n, "batch_norm in training mode (the model must be in eval mode)");
  if (im.is_none(n, 3) || im.is_none(n, 4)) im.unsupported(n, "batch_norm without running statistics");
  const at::Tensor& mean = im.const_tensor(n, 3);
  Node node;
  node.kind = OpKind::BatchNorm;
  node.inputs = {im.tensor_in(n, 0)};
  node.params.running_mean = to_tensor_f32(mean);
  node.params.running_var = to_tensor_f32(im.const_tensor(n, 4));
  // affine=False: gamma 1, beta 0, written out (the canonical form has all four parameters).
  node.params.weight = im.is_none(n, 1) ? TensorF32({mean.size(0)}, 1.0f) : to_tensor_f32(im.const_tensor(n, 1));
  node.params.bias = im.is_none(n, 2) ? TensorF32({mean.size(0)}, 0.0f) : to_tensor_f32(im.const_tensor(n, 2));
  node.attrs.eps = static_cast<float>(im.num_arg(n, 7));
  im.emit(n, std::move(node), im.param_owner(n->input(3)));
}

}  // namespace mqcalib::import_detail
