// mqcalib/reconstruction/unit_ops_layers.cpp: the unit runner's conv2d, linear and batch-norm entries
// (reconstruction/unit_ops.h).
#include <string>

#include "exec/executor.h"
#include "reconstruction/batch_norm_backward.h"
#include "reconstruction/conv_backward.h"
#include "reconstruction/linear_backward.h"
#include "reconstruction/unit_ops.h"

namespace mqcalib::recon_detail {

namespace {

const float* bias_of(const Node& n) { return n.params.bias.empty() ? nullptr : n.params.bias.data(); }

void need_weight(const Node& n, int rank) {
  if (n.params.weight.rank() != rank)
    throw Error("weight must have rank " + std::to_string(rank) + ", got " + shape_to_string(n.params.weight.shape()));
  if (!n.params.bias.empty() && n.params.bias.size() != n.params.weight.dim(0))
    throw Error("bias has " + std::to_string(n.params.bias.size()) + " elements for " +
                std::to_string(n.params.weight.dim(0)) + " output channels");
}

// A linear layer reads [..., I]: rows of I features.
ViewF32 rows_of(const ViewF32& x, int64_t I) { return ViewF32{x.data, {I ? x.size() / I : 0, I}}; }

}  // namespace

void conv2d_forward(const OpForward& f) {
  need_weight(f.node, 4);
  const ViewF32 w{f.weight, f.node.params.weight.shape()};
  const Conv2dParams p = conv2d_params(f.node.attrs);
  f.new_output(conv2d_output_shape(f.in.at(0).shape, w.shape, p));
  conv2d_nchw_f32(f.in[0], w, bias_of(f.node), p, f.out[0].mut_view());
}

void conv2d_backward(const OpBackward& b) {
  const ViewF32 w{b.weight, b.node.params.weight.shape()};
  const Conv2dParams p = conv2d_params(b.node.attrs);
  if (b.gx[0]) conv2d_backward_input_nchw_f32(b.gy[0], w, p, *b.gx[0]);
  if (b.gw) conv2d_backward_weight_nchw_f32(b.in[0], b.gy[0], p, MutViewF32{b.gw, w.shape}, nullptr);
}

void linear_forward(const OpForward& f) {
  need_weight(f.node, 2);
  const ViewF32& x = f.in.at(0);
  const int64_t O = f.node.params.weight.dim(0), I = f.node.params.weight.dim(1);
  if (x.rank() < 1 || x.shape.back() != I)
    throw Error("input " + shape_to_string(x.shape) + " does not end with the weight's " + std::to_string(I) +
                " input features");
  Shape os = x.shape;
  os.back() = O;
  f.new_output(os);
  linear_f32(rows_of(x, I), ViewF32{f.weight, {O, I}}, bias_of(f.node), MutViewF32{f.out[0].data(), {x.size() / I, O}});
}

void linear_backward(const OpBackward& b) {
  const int64_t O = b.node.params.weight.dim(0), I = b.node.params.weight.dim(1);
  const ViewF32 gy = rows_of(b.gy[0], O);
  if (b.gx[0]) linear_backward_input_f32(gy, ViewF32{b.weight, {O, I}}, MutViewF32{b.gx[0]->data, {gy.shape[0], I}});
  if (b.gw) linear_backward_weight_f32(rows_of(b.in[0], I), gy, MutViewF32{b.gw, {O, I}}, nullptr);
}

void batch_norm_forward(const OpForward& f) {
  const Params& pr = f.node.params;
  const ViewF32& x = f.in.at(0);
  if (x.rank() < 2) throw Error("input must have a channel dim, got " + shape_to_string(x.shape));
  const int64_t C = x.shape[1];
  if (pr.running_mean.size() != C || pr.running_var.size() != C || (!pr.weight.empty() && pr.weight.size() != C) ||
      (!pr.bias.empty() && pr.bias.size() != C))
    throw Error("running statistics / affine parameters do not have " + std::to_string(C) + " channels");
  f.new_output(x.shape);
  batch_norm_f32(x, pr.running_mean.data(), pr.running_var.data(), pr.weight.empty() ? nullptr : pr.weight.data(),
                 pr.bias.empty() ? nullptr : pr.bias.data(), f.node.attrs.eps, f.out[0].mut_view());
}

void batch_norm_backward(const OpBackward& b) {
  const Params& pr = b.node.params;
  if (b.gx[0])
    batch_norm_backward_f32(b.gy[0], pr.running_var.data(), pr.weight.empty() ? nullptr : pr.weight.data(),
                            b.node.attrs.eps, *b.gx[0]);
}

}  // namespace mqcalib::recon_detail
