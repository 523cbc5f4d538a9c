// Per-op executor tests over the canonical forms whose lowering changed (graph/ir.h): each node
// alone, run by the executor, vs the reference kernel; and the executor refusing a non-canonical
// node at construction (it no longer repairs forms at run time).
#include <doctest/doctest.h>

#include <string>

#include "exec/executor.h"
#include "exec/kernels.h"
#include "exec/test_util.h"

using namespace mqcalib;
using namespace mqcalib::test;

namespace {

// input -> one node of `kind` with attributes `a` and `outs` outputs; the graph's outputs are the
// node's.
Graph one_node(OpKind kind, const Attrs& a, size_t outs = 1) {
  Graph g;
  const ValueId in = g.add_value("input");
  g.inputs().push_back(in);
  Node n;
  n.kind = kind;
  n.name = "op";
  n.inputs = {in};
  n.attrs = a;
  for (size_t i = 0; i < outs; ++i) n.outputs.push_back(g.add_value("op:" + std::to_string(i)));
  g.add_node(n);
  g.outputs() = n.outputs;
  return g;
}

}  // namespace

TEST_CASE("executor op: gelu by its attrs.gelu formula, erf and tanh") {
  const TensorF32 x = random_tensor({2, 3, 5}, 11, -5.0f, 5.0f);
  for (GeluApproximation g : {GeluApproximation::Erf, GeluApproximation::Tanh}) {
    Attrs a;
    a.gelu = g;
    const TensorF32 got = Executor(one_node(OpKind::Gelu, a)).run({x})[0];
    TensorF32 ref(x.shape());
    activation_f32_ref(g == GeluApproximation::Tanh ? Activation::GeluTanh : Activation::GeluErf, x, ref.mut_view());
    CHECK(bit_identical(got, ref));  // the same scalar formula
  }
}

TEST_CASE("executor op: reshape with the batch as -1 (a traced constant batch, canonicalised) at any batch") {
  Attrs a;
  a.dims = {-1, 12};
  Graph g = one_node(OpKind::Reshape, a);
  for (int64_t batch : {1, 3}) {
    const TensorF32 x = random_tensor({batch, 3, 2, 2}, 12);
    const TensorF32 got = Executor(g).run({x})[0];
    CHECK(got.shape() == Shape{batch, 12});
    CHECK(got.vec() == x.vec());
  }
}

TEST_CASE("executor op: transpose by its full permutation vs transpose_f32_ref") {
  Attrs a;
  a.dims = {0, 3, 2, 1};  // transpose(1, 3) as the importer writes it
  const TensorF32 x = random_tensor({2, 3, 4, 5}, 13);
  const TensorF32 got = Executor(one_node(OpKind::Transpose, a)).run({x})[0];
  TensorF32 ref(Shape{2, 5, 4, 3});
  transpose_f32_ref(x, a.dims, ref.mut_view());
  CHECK(bit_identical(got, ref));
}

TEST_CASE("executor op: split by every section size vs split_f32_ref") {
  Attrs a;
  a.axis = 2;
  a.dims = {2, 2, 1};  // torch.split(x, 2, dim=2) on a dim of 5, as the importer writes it
  const TensorF32 x = random_tensor({2, 3, 5, 4}, 14);
  const std::vector<TensorF32> got = Executor(one_node(OpKind::Split, a, 3)).run({x});
  REQUIRE(got.size() == 3);
  TensorF32 r0({2, 3, 2, 4}), r1({2, 3, 2, 4}), r2({2, 3, 1, 4});
  split_f32_ref(x, 2, a.dims, {r0.mut_view(), r1.mut_view(), r2.mut_view()});
  CHECK(bit_identical(got[0], r0));
  CHECK(bit_identical(got[1], r1));
  CHECK(bit_identical(got[2], r2));
}

TEST_CASE("executor op: max_pool2d with stride = kernel written out vs max_pool2d_nchw_f32_ref") {
  Attrs a;
  a.kernel = {3, 3};
  a.stride = {3, 3};
  a.ceil_mode = true;
  const TensorF32 x = random_tensor({2, 2, 8, 7}, 15);
  const TensorF32 got = Executor(one_node(OpKind::MaxPool2d, a)).run({x})[0];
  Pool2dParams p;
  p.kernel_h = p.kernel_w = p.stride_h = p.stride_w = 3;
  p.ceil_mode = true;
  TensorF32 ref(pool2d_output_shape(x.shape(), p));
  max_pool2d_nchw_f32_ref(x, p, ref.mut_view());
  CHECK(got.shape() == Shape{2, 2, 3, 3});
  CHECK(bit_identical(got, ref));
}

TEST_CASE("executor op: adaptive_avg_pool2d with the resolved output size vs the reference") {
  Attrs a;
  a.output_size = {3, 5};
  const TensorF32 x = random_tensor({1, 2, 7, 5}, 16);
  const TensorF32 got = Executor(one_node(OpKind::AdaptiveAvgPool2d, a)).run({x})[0];
  TensorF32 ref({1, 2, 3, 5});
  adaptive_avg_pool2d_nchw_f32_ref(x, 3, 5, ref.mut_view());
  CHECK(bit_identical(got, ref));
}

TEST_CASE("executor: a non-canonical node is refused at construction, naming the node") {
  Attrs swapped;
  swapped.dims = {1, 2};  // transpose(1, 2) as two dims: fine for a rank-2 input only
  Graph g = one_node(OpKind::Transpose, swapped);
  g.value(g.inputs()[0]).shape = {2, 3, 4};
  CHECK_THROWS_WITH_AS(Executor{g}, doctest::Contains("node 'op' (transpose)"), Error);
  Attrs pool;
  pool.kernel = {2, 2};
  pool.stride = {0, 0};
  CHECK_THROWS_WITH_AS(Executor{one_node(OpKind::MaxPool2d, pool)}, doctest::Contains("node 'op' (max_pool2d)"), Error);
  Attrs split;
  split.dims = {2};
  CHECK_THROWS_WITH_AS(Executor{one_node(OpKind::Split, split, 2)}, doctest::Contains("one section size per output"),
                       Error);
}
