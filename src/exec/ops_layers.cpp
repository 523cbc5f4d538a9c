// mqcalib/src/exec/ops_layers.cpp: the executor's runners of the parameterised layers (conv2d,
// linear, batch_norm) over canonical nodes (graph/ir.h).
#include <algorithm>
#include <string>

#include "exec/executor.h"
#include "exec/kernels.h"
#include "exec/op_runners.h"

namespace mqcalib::exec_detail {

std::vector<TensorF32> run_conv2d(const OpArgs& a) {
  const Params& p = a.node.params;
  const Conv2dParams cp = conv2d_params(a.node.attrs);
  std::vector<TensorF32> out;
  out.push_back(a.alloc(conv2d_output_shape(a.x().shape(), p.weight.shape(), cp)));
  conv2d_nchw_f32(a.x(), p.weight, p.bias.empty() ? nullptr : p.bias.data(), cp, out[0].mut_view());
  return out;
}

std::vector<TensorF32> run_linear(const OpArgs& a) {
  const Params& p = a.node.params;
  const TensorF32& x = a.x();
  const int64_t I = p.weight.dim(1), O = p.weight.dim(0);
  if (x.rank() < 1 || x.dim(-1) != I)
    throw Error("input " + shape_to_string(x.shape()) + " does not end with the weight's " + std::to_string(I) +
                " input features");
  const int64_t M = x.size() / std::max<int64_t>(1, I);
  Shape os = x.shape();
  os.back() = O;
  std::vector<TensorF32> out;
  out.push_back(a.alloc(os));
  linear_f32(ViewF32{x.data(), {M, I}}, p.weight, p.bias.empty() ? nullptr : p.bias.data(),
             MutViewF32{out[0].data(), {M, O}});
  return out;
}

std::vector<TensorF32> run_batch_norm(const OpArgs& a) {
  const Params& p = a.node.params;
  const TensorF32& x = a.x();
  if (x.rank() < 2 || x.dim(1) != p.running_mean.size())
    throw Error("input " + shape_to_string(x.shape()) + " does not have the " + std::to_string(p.running_mean.size()) +
                " channels of the running statistics in dim 1");
  const ViewF32 xv = x.view();
  bool in_place;
  std::vector<TensorF32> out;
  out.push_back(a.take_or_alloc(0, in_place));
  batch_norm_f32(in_place ? out[0].view() : xv, p.running_mean.data(), p.running_var.data(), p.weight.data(),
                 p.bias.data(), a.node.attrs.eps, out[0].mut_view());
  return out;
}

}  // namespace mqcalib::exec_detail
