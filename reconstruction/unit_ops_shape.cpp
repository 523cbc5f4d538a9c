// mqcalib/reconstruction/unit_ops_shape.cpp: the unit runner's cat, chunk / split, transpose, pooling
// and mean entries (reconstruction/unit_ops.h).
#include <algorithm>
#include <string>

#include "reconstruction/broadcast_backward.h"
#include "reconstruction/pool_backward.h"
#include "reconstruction/unit_ops.h"

namespace mqcalib::recon_detail {

namespace {

// Section sizes of a chunk / split node on x (the executor's reading of the attributes).
std::vector<int64_t> split_sizes(const Node& n, const Shape& x) {
  const int64_t a = normalize_axis(n.attrs.axis, static_cast<int>(x.size()), "split");
  const int64_t dim = x[static_cast<size_t>(a)];
  if (n.kind == OpKind::Chunk) return chunk_sizes(dim, n.attrs.chunks);
  std::vector<int64_t> sizes = n.attrs.dims;
  if (sizes.size() == 1 && n.outputs.size() > 1) {  // torch.split(x, split_size): equal sections
    if (sizes[0] <= 0) throw Error("split size must be positive");
    sizes.clear();
    for (int64_t done = 0; done < dim; done += n.attrs.dims[0]) sizes.push_back(std::min(n.attrs.dims[0], dim - done));
  }
  if (sizes.size() != n.outputs.size())
    throw Error("splitting dim of size " + std::to_string(dim) + " gives " + std::to_string(sizes.size()) +
                " sections but the node has " + std::to_string(n.outputs.size()) + " outputs");
  return sizes;
}

std::vector<int64_t> full_permutation(const Node& n, int rank) {
  std::vector<int64_t> perm = n.attrs.dims;
  if (perm.size() == 2 && rank != 2) {  // transpose(d0, d1) given as the two swapped dims
    std::vector<int64_t> full(static_cast<size_t>(rank));
    for (int d = 0; d < rank; ++d) full[static_cast<size_t>(d)] = d;
    std::swap(full[static_cast<size_t>(normalize_axis(perm[0], rank, "transpose"))],
              full[static_cast<size_t>(normalize_axis(perm[1], rank, "transpose"))]);
    perm = full;
  }
  return perm;
}

}  // namespace

Pool2dParams pool2d_params_of(const Node& n) {
  const Attrs& a = n.attrs;
  Pool2dParams p;
  p.kernel_h = a.kernel[0];
  p.kernel_w = a.kernel[1];
  p.stride_h = a.stride[0] > 0 ? a.stride[0] : a.kernel[0];  // stride 0 (absent) means stride = kernel
  p.stride_w = a.stride[1] > 0 ? a.stride[1] : a.kernel[1];
  p.pad_h = a.padding[0];
  p.pad_w = a.padding[1];
  p.dil_h = a.dilation[0];
  p.dil_w = a.dilation[1];
  p.ceil_mode = a.ceil_mode;
  p.count_include_pad = a.count_include_pad;
  if (n.kind == OpKind::AvgPool2d) p.dil_h = p.dil_w = 1;
  return p;
}

void cat_forward(const OpForward& f) {
  if (f.in.empty()) throw Error("no inputs");
  std::vector<Shape> shapes;
  for (const ViewF32& v : f.in) shapes.push_back(v.shape);
  f.new_output(cat_output_shape(shapes, f.node.attrs.axis));
  cat_f32(f.in, f.node.attrs.axis, f.out[0].mut_view());
}

// y = cat(x_k): gx_k is gy's section k (sections not needed go to scratch).
void cat_backward(const OpBackward& b) {
  const int64_t a = normalize_axis(b.node.attrs.axis, b.gy[0].rank(), "cat");
  std::vector<int64_t> sizes;
  std::vector<TensorF32> scratch;
  std::vector<MutViewF32> views;
  scratch.reserve(b.in.size());
  for (size_t k = 0; k < b.in.size(); ++k) {
    sizes.push_back(b.in[k].shape[static_cast<size_t>(a)]);
    if (b.gx[k]) {
      views.push_back(*b.gx[k]);
    } else {
      scratch.emplace_back(b.in[k].shape);
      views.push_back(scratch.back().mut_view());
    }
  }
  split_f32(b.gy[0], a, sizes, views);
}

void split_forward(const OpForward& f) {
  const ViewF32& x = f.in.at(0);
  const std::vector<int64_t> sizes = split_sizes(f.node, x.shape);
  const int64_t a = normalize_axis(f.node.attrs.axis, x.rank(), "split");
  std::vector<MutViewF32> views;
  for (int64_t s : sizes) {
    Shape sh = x.shape;
    sh[static_cast<size_t>(a)] = s;
    f.new_output(sh);
  }
  for (TensorF32& t : f.out) views.push_back(t.mut_view());
  split_f32(x, a, sizes, views);
}

// y_k = sections of x: gx = cat(gy_k) (gy_k zero where no gradient reached section k).
void split_backward(const OpBackward& b) {
  if (b.gx[0]) cat_f32(b.gy, normalize_axis(b.node.attrs.axis, b.in[0].rank(), "split"), *b.gx[0]);
}

void transpose_forward(const OpForward& f) {
  const ViewF32& x = f.in.at(0);
  const std::vector<int64_t> perm = full_permutation(f.node, x.rank());
  f.new_output(transpose_output_shape(x.shape, perm));
  transpose_f32(x, perm, f.out[0].mut_view());
}

void transpose_backward(const OpBackward& b) {
  if (!b.gx[0]) return;
  const std::vector<int64_t> perm = full_permutation(b.node, b.in[0].rank());
  std::vector<int64_t> inv(perm.size());
  for (size_t d = 0; d < perm.size(); ++d)
    inv[static_cast<size_t>(normalize_axis(perm[d], static_cast<int>(perm.size()), "transpose"))] =
        static_cast<int64_t>(d);
  transpose_f32(b.gy[0], inv, *b.gx[0]);
}

void max_pool_forward(const OpForward& f) {
  const Pool2dParams p = pool2d_params_of(f.node);
  f.new_output(pool2d_output_shape(f.in.at(0).shape, p));
  max_pool2d_nchw_f32(f.in[0], p, f.out[0].mut_view());
}

void max_pool_backward(const OpBackward& b) {
  if (b.gx[0]) max_pool2d_backward_nchw_f32(b.in[0], b.gy[0], pool2d_params_of(b.node), *b.gx[0]);
}

void avg_pool_forward(const OpForward& f) {
  const Pool2dParams p = pool2d_params_of(f.node);
  f.new_output(pool2d_output_shape(f.in.at(0).shape, p));
  avg_pool2d_nchw_f32(f.in[0], p, f.out[0].mut_view());
}

void avg_pool_backward(const OpBackward& b) {
  if (b.gx[0]) avg_pool2d_backward_nchw_f32(b.gy[0], pool2d_params_of(b.node), *b.gx[0]);
}

// A non-positive output size (None in PyTorch) keeps the input size.
void adaptive_pool_forward(const OpForward& f) {
  const ViewF32& x = f.in.at(0);
  if (x.rank() != 4) throw Error("input must be [N,C,H,W], got " + shape_to_string(x.shape));
  const Attrs& at = f.node.attrs;
  const int64_t oh = at.output_size[0] > 0 ? at.output_size[0] : x.shape[2];
  const int64_t ow = at.output_size[1] > 0 ? at.output_size[1] : x.shape[3];
  f.new_output(Shape{x.shape[0], x.shape[1], oh, ow});
  adaptive_avg_pool2d_nchw_f32(x, oh, ow, f.out[0].mut_view());
}

void adaptive_pool_backward(const OpBackward& b) {
  if (b.gx[0]) adaptive_avg_pool2d_backward_nchw_f32(b.gy[0], *b.gx[0]);
}

void mean_forward(const OpForward& f) {
  f.new_output(mean_output_shape(f.in.at(0).shape, f.node.attrs.dims, f.node.attrs.keepdim));
  mean_f32(f.in[0], f.node.attrs.dims, f.node.attrs.keepdim, f.out[0].mut_view());
}

void mean_backward(const OpBackward& b) {
  if (b.gx[0]) mean_backward_f32(b.gy[0], b.node.attrs.dims, b.node.attrs.keepdim, *b.gx[0]);
}

}  // namespace mqcalib::recon_detail
