// mqcalib/src/import/ts_lower_shape.cpp: lowering of cat, pooling, mean, flatten, the reshapes,
// transposes, chunk/split and softmax to canonical IR nodes (graph/ir.h): dims normalized against
// the input rank, full permutations, every split section size, a batch-dependent size as -1.
#include <algorithm>

#include "import/ts_lowering.h"

namespace mqcalib::import_detail {

namespace {

namespace a = c10::aten;

Node unary_node(Importer& im, tj::Node* n, OpKind kind) {
  Node node;
  node.kind = kind;
  node.inputs = {im.tensor_in(n, 0)};
  return node;
}

// max_pool2d(x, kernel, stride, padding, dilation, ceil_mode) / avg_pool2d(x, kernel, stride,
// padding, ceil_mode, ...): kernel, stride (= kernel when the model gave []), padding.
Node pool_node(Importer& im, tj::Node* n, OpKind kind) {
  Node node = unary_node(im, n, kind);
  node.attrs.kernel = im.pair_arg(n, 1, {0, 0});
  node.attrs.stride = im.pair_arg(n, 2, node.attrs.kernel);
  node.attrs.padding = im.pair_arg(n, 3, {0, 0});
  return node;
}

// The shadow output's shape with the batch dim as -1 when the op keeps it (the example's batch).
std::vector<int64_t> shadow_target(const Importer& im, const tj::Node* n, ValueId in) {
  Shape out = im.out_shape(n);
  const Shape& ins = im.shape_of_value(in);
  if (!out.empty() && !ins.empty() && out[0] == ins[0] && ins[0] == im.example_batch()) out[0] = -1;
  return out;
}

void emit_permutation(Importer& im, tj::Node* n, std::vector<int64_t> perm) {
  Node node = unary_node(im, n, OpKind::Transpose);
  node.attrs.dims = std::move(perm);
  im.emit(n, std::move(node));
}

std::vector<int64_t> identity_permutation(int rank) {
  std::vector<int64_t> perm(static_cast<size_t>(rank));
  for (int d = 0; d < rank; ++d) perm[static_cast<size_t>(d)] = d;
  return perm;
}

}  // namespace

void lower_cat(Importer& im, tj::Node* n) {
  Node node;
  node.kind = OpKind::Cat;
  for (ValueId v : im.dyn_list(n, n->input(0))) {
    if (v == kNoValue) im.fail(n, "cat of a constant tensor with input-dependent tensors is not supported");
    node.inputs.push_back(v);
  }
  if (node.inputs.empty()) im.fail(n, "cat of an empty list");
  node.attrs.axis = im.norm_dim(n, im.int_arg(n, 1), im.rank_of(node.inputs[0]));
  im.emit(n, std::move(node));
}

void lower_max_pool2d(Importer& im, tj::Node* n) {
  Node node = pool_node(im, n, OpKind::MaxPool2d);
  node.attrs.dilation = im.pair_arg(n, 4, {1, 1});
  node.attrs.ceil_mode = im.bool_arg(n, 5);
  im.emit(n, std::move(node));
}

void lower_avg_pool2d(Importer& im, tj::Node* n) {
  Node node = pool_node(im, n, OpKind::AvgPool2d);
  node.attrs.ceil_mode = im.bool_arg(n, 4);
  node.attrs.count_include_pad = im.bool_arg(n, 5);
  if (n->inputs().size() > 6 && !im.is_none(n, 6)) im.unsupported(n, "avg_pool2d with divisor_override");
  im.emit(n, std::move(node));
}

// The output size from the shadow run: a None entry (keep the input size) resolved.
void lower_adaptive_avg_pool2d(Importer& im, tj::Node* n) {
  Node node = unary_node(im, n, OpKind::AdaptiveAvgPool2d);
  const Shape o = im.out_shape(n);
  if (o.size() != 4) im.unsupported(n, "adaptive_avg_pool2d of a tensor that is not [N,C,H,W]");
  node.attrs.output_size = {o[2], o[3]};
  im.emit(n, std::move(node));
}

// mean(x, dims | None, keepdim, dtype=None) or mean(x, dtype=None) over every dim; dims ascending.
void lower_mean(Importer& im, tj::Node* n) {
  Node node = unary_node(im, n, OpKind::Mean);
  const int rank = im.rank_of(node.inputs[0]);
  std::vector<int64_t>& dims = node.attrs.dims;
  if (n->inputs().size() >= 3 && (im.iv(n->input(1)).isIntList() || im.iv(n->input(1)).isNone())) {
    if (im.iv(n->input(1)).isNone()) {
      dims = identity_permutation(rank);
    } else {
      for (int64_t d : im.ints_arg(n, 1)) dims.push_back(im.norm_dim(n, d, rank));
    }
    node.attrs.keepdim = im.bool_arg(n, 2);
    if (n->inputs().size() > 3 && !im.is_none(n, 3)) im.unsupported(n, "mean with a dtype");
  } else if (n->inputs().size() <= 2) {
    dims = identity_permutation(rank);
  } else {
    im.unsupported(n, "mean overload");
  }
  std::sort(dims.begin(), dims.end());
  dims.erase(std::unique(dims.begin(), dims.end()), dims.end());
  if (dims.empty()) im.unsupported(n, "mean over an empty dim list");
  im.emit(n, std::move(node));
}

void lower_flatten(Importer& im, tj::Node* n) {
  Node node = unary_node(im, n, OpKind::Flatten);
  const int rank = im.rank_of(node.inputs[0]);
  if (rank == 0) im.unsupported(n, "flatten of a scalar");
  node.attrs.start_dim = im.norm_dim(n, im.int_arg(n, 1), rank);
  node.attrs.end_dim = im.norm_dim(n, im.int_arg(n, 2), rank);
  if (node.attrs.start_dim > node.attrs.end_dim) im.unsupported(n, "flatten with start_dim > end_dim");
  im.emit(n, std::move(node));
}

// view / reshape(x, dims): the literal list when the model wrote one, else the shadow output's shape.
// A literal without -1 whose first size is the example's batch size (a traced x.view(1, 512)) has
// the batch baked in: that size is written as -1, so the node reshapes any batch.
void lower_view(Importer& im, tj::Node* n) {
  if (n->kind() == a::view && !im.iv(n->input(1)).isIntList()) im.unsupported(n, "view as a dtype");
  Node node = unary_node(im, n, OpKind::Reshape);
  const ValueId in = node.inputs[0];
  if (n->input(1)->node()->kind() != c10::prim::Constant) {
    node.attrs.dims = shadow_target(im, n, in);
  } else {
    std::vector<int64_t> dims = im.ints_arg(n, 1);
    const Shape& ins = im.shape_of_value(in);
    const bool has_infer = std::find(dims.begin(), dims.end(), -1) != dims.end();
    if (!has_infer && !dims.empty() && !ins.empty() && dims[0] == im.example_batch() && ins[0] == im.example_batch())
      dims[0] = -1;
    node.attrs.dims = std::move(dims);
  }
  im.emit(n, std::move(node));
}

// squeeze / unsqueeze: a reshape to the shadow output's shape.
void lower_squeeze(Importer& im, tj::Node* n) {
  Node node = unary_node(im, n, OpKind::Reshape);
  node.attrs.dims = shadow_target(im, n, node.inputs[0]);
  im.emit(n, std::move(node));
}

// transpose(x, d0, d1): the full permutation swapping d0 and d1.
void lower_transpose(Importer& im, tj::Node* n) {
  const int rank = im.rank_of(im.tensor_in(n, 0));
  std::vector<int64_t> perm = identity_permutation(rank);
  std::swap(perm[static_cast<size_t>(im.norm_dim(n, im.int_arg(n, 1), rank))],
            perm[static_cast<size_t>(im.norm_dim(n, im.int_arg(n, 2), rank))]);
  emit_permutation(im, n, std::move(perm));
}

void lower_permute(Importer& im, tj::Node* n) {
  const int rank = im.rank_of(im.tensor_in(n, 0));
  std::vector<int64_t> perm;
  for (int64_t d : im.ints_arg(n, 1)) perm.push_back(im.norm_dim(n, d, rank));
  emit_permutation(im, n, std::move(perm));
}

// t(x): swaps the two dims of a matrix, the identity below rank 2.
void lower_t(Importer& im, tj::Node* n) {
  const int rank = im.rank_of(im.tensor_in(n, 0));
  std::vector<int64_t> perm = identity_permutation(rank);
  if (rank == 2) std::swap(perm[0], perm[1]);
  emit_permutation(im, n, std::move(perm));
}

// chunk(x, chunks, dim) when its sections are equal and as many as asked; otherwise (split,
// split_with_sizes, uneven chunks) a split with every section size from the shadow run.
void lower_chunk_split(Importer& im, tj::Node* n) {
  Node node = unary_node(im, n, OpKind::Split);
  node.attrs.axis = im.norm_dim(n, im.int_arg(n, 2), im.rank_of(node.inputs[0]));
  std::vector<int64_t> sizes;
  for (const at::Tensor& p : im.iv(n->output()).toTensorVector()) sizes.push_back(p.size(node.attrs.axis));
  const bool equal = std::all_of(sizes.begin(), sizes.end(), [&](int64_t s) { return s == sizes[0]; });
  const bool is_chunk = n->kind() == a::chunk || n->kind() == a::unsafe_chunk;
  if (is_chunk && equal && static_cast<int64_t>(sizes.size()) == im.int_arg(n, 1)) {
    node.kind = OpKind::Chunk;
    node.attrs.chunks = im.int_arg(n, 1);
  } else {
    node.attrs.dims = std::move(sizes);
  }
  im.emit_list(n, std::move(node));
}

void lower_softmax(Importer& im, tj::Node* n) {
  Node node = unary_node(im, n, OpKind::Softmax);
  node.attrs.axis = im.norm_dim(n, im.int_arg(n, 1), im.rank_of(node.inputs[0]));
  if (n->inputs().size() > 2 && !im.is_none(n, 2)) im.unsupported(n, "softmax with a dtype");
  im.emit(n, std::move(node));
}

}  // namespace mqcalib::import_detail
