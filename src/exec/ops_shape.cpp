// mqcalib/src/exec/ops_shape.cpp: the executor's runners of pooling, reductions and layout ops
// (cat, transpose, chunk, split, softmax) over canonical nodes (graph/ir.h).
#include <string>

#include "exec/kernels.h"
#include "exec/op_runners.h"

namespace mqcalib::exec_detail {

namespace {

Pool2dParams pool_params(const Attrs& a) {
  Pool2dParams p;
  p.kernel_h = a.kernel[0];
  p.kernel_w = a.kernel[1];
  p.stride_h = a.stride[0];
  p.stride_w = a.stride[1];
  p.pad_h = a.padding[0];
  p.pad_w = a.padding[1];
  p.dil_h = a.dilation[0];
  p.dil_w = a.dilation[1];
  p.ceil_mode = a.ceil_mode;
  p.count_include_pad = a.count_include_pad;
  return p;
}

// One output per section of `sizes` along attrs.axis.
std::vector<TensorF32> split_sections(const OpArgs& a, const std::vector<int64_t>& sizes) {
  const TensorF32& x = a.x();
  const int64_t axis = normalize_axis(a.node.attrs.axis, x.rank(), op_name(a.node.kind).data());
  if (sizes.size() != a.node.outputs.size())
    throw Error("splitting dim " + std::to_string(axis) + " of size " + std::to_string(x.dim(static_cast<int>(axis))) +
                " gives " + std::to_string(sizes.size()) + " sections but the node has " +
                std::to_string(a.node.outputs.size()) + " outputs");
  std::vector<TensorF32> out;
  std::vector<MutViewF32> views;
  for (int64_t s : sizes) {
    Shape sh = x.shape();
    sh[axis] = s;
    out.push_back(a.alloc(sh));
  }
  for (TensorF32& t : out) views.push_back(t.mut_view());
  split_f32(x, axis, sizes, views);
  return out;
}

}  // namespace

std::vector<TensorF32> run_cat(const OpArgs& a) {
  std::vector<ViewF32> xs;
  std::vector<Shape> shapes;
  for (const TensorF32* t : a.in) {
    xs.push_back(t->view());
    shapes.push_back(t->shape());
  }
  std::vector<TensorF32> out;
  out.push_back(a.alloc(cat_output_shape(shapes, a.node.attrs.axis)));
  cat_f32(xs, a.node.attrs.axis, out[0].mut_view());
  return out;
}

std::vector<TensorF32> run_max_pool2d(const OpArgs& a) {
  const Pool2dParams p = pool_params(a.node.attrs);
  std::vector<TensorF32> out;
  out.push_back(a.alloc(pool2d_output_shape(a.x().shape(), p)));
  max_pool2d_nchw_f32(a.x(), p, out[0].mut_view());
  return out;
}

std::vector<TensorF32> run_avg_pool2d(const OpArgs& a) {
  const Pool2dParams p = pool_params(a.node.attrs);
  std::vector<TensorF32> out;
  out.push_back(a.alloc(pool2d_output_shape(a.x().shape(), p)));
  avg_pool2d_nchw_f32(a.x(), p, out[0].mut_view());
  return out;
}

std::vector<TensorF32> run_adaptive_avg_pool2d(const OpArgs& a) {
  const TensorF32& x = a.x();
  if (x.rank() != 4) throw Error("input must be [N,C,H,W], got " + shape_to_string(x.shape()));
  const int64_t oh = a.node.attrs.output_size[0], ow = a.node.attrs.output_size[1];
  std::vector<TensorF32> out;
  out.push_back(a.alloc(Shape{x.dim(0), x.dim(1), oh, ow}));
  adaptive_avg_pool2d_nchw_f32(x, oh, ow, out[0].mut_view());
  return out;
}

std::vector<TensorF32> run_mean(const OpArgs& a) {
  const Attrs& at = a.node.attrs;
  std::vector<TensorF32> out;
  out.push_back(a.alloc(mean_output_shape(a.x().shape(), at.dims, at.keepdim)));
  mean_f32(a.x(), at.dims, at.keepdim, out[0].mut_view());
  return out;
}

std::vector<TensorF32> run_transpose(const OpArgs& a) {
  std::vector<TensorF32> out;
  out.push_back(a.alloc(transpose_output_shape(a.x().shape(), a.node.attrs.dims)));
  transpose_f32(a.x(), a.node.attrs.dims, out[0].mut_view());
  return out;
}

std::vector<TensorF32> run_chunk(const OpArgs& a) {
  const TensorF32& x = a.x();
  const int64_t axis = normalize_axis(a.node.attrs.axis, x.rank(), "chunk");
  return split_sections(a, chunk_sizes(x.dim(static_cast<int>(axis)), a.node.attrs.chunks));
}

std::vector<TensorF32> run_split(const OpArgs& a) { return split_sections(a, a.node.attrs.dims); }

std::vector<TensorF32> run_softmax(const OpArgs& a) {
  std::vector<TensorF32> out;
  out.push_back(a.alloc(a.x().shape()));
  softmax_f32(a.x(), a.node.attrs.axis, out[0].mut_view());
  return out;
}

}  // namespace mqcalib::exec_detail
