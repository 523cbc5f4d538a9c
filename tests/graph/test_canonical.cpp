// validate_canonical (graph/canonical.h): each op's canonical form passes, and the non-canonical
// forms the executor used to repair at run time (two swapped dims for a transpose, one section size
// for a split, stride 0 for a max pool, a None adaptive size, gelu strings, ...) are rejected with an
// error naming the node and the op.
#include <doctest/doctest.h>

#include <functional>
#include <string>

#include "core/error.h"
#include "graph/canonical.h"

using namespace mqcalib;

namespace {

// input [2, 4, 8, 8] (shape known, as in an imported graph) -> one node of `kind` named "n" with
// `outs` outputs, built by `edit`.
Graph one_node(OpKind kind, const std::function<void(Node&)>& edit, size_t outs = 1, Shape in_shape = {2, 4, 8, 8}) {
  Graph g;
  const ValueId in = g.add_value("input", in_shape);
  g.inputs().push_back(in);
  Node n;
  n.kind = kind;
  n.name = "n";
  n.inputs = {in};
  for (size_t i = 0; i < outs; ++i) n.outputs.push_back(g.add_value(i == 0 ? "n" : "n:" + std::to_string(i)));
  edit(n);
  g.add_node(std::move(n));
  g.outputs() = g.nodes().back().outputs;
  return g;
}

void check_rejected(const Graph& g, const std::string& fragment) {
  CAPTURE(fragment);
  const std::string label = "node 'n' (" + std::string(op_name(g.nodes().at(0).kind)) + ")";
  CHECK_THROWS_WITH_AS(validate_canonical(g), doctest::Contains(label.c_str()), Error);
  CHECK_THROWS_WITH_AS(validate_canonical(g), doctest::Contains(fragment.c_str()), Error);
}

TensorF32 filled(Shape s) { return TensorF32(std::move(s), 0.5f); }

void conv_3x3(Node& n) {
  n.params.weight = filled({6, 4, 3, 3});
  n.attrs.kernel = {3, 3};
  n.attrs.padding = {1, 1};
}

void bn_4(Node& n) {
  n.params.weight = filled({4});
  n.params.bias = filled({4});
  n.params.running_mean = filled({4});
  n.params.running_var = filled({4});
}

}  // namespace

TEST_CASE("canonical: the canonical form of each op passes") {
  CHECK_NOTHROW(validate_canonical(one_node(OpKind::Conv2d, conv_3x3)));
  CHECK_NOTHROW(validate_canonical(one_node(OpKind::BatchNorm, bn_4)));
  CHECK_NOTHROW(validate_canonical(one_node(OpKind::Relu, [](Node&) {})));
  CHECK_NOTHROW(validate_canonical(one_node(OpKind::Transpose, [](Node& n) { n.attrs.dims = {0, 2, 1, 3}; })));
  CHECK_NOTHROW(validate_canonical(one_node(OpKind::Reshape, [](Node& n) { n.attrs.dims = {-1, 4, 64}; })));
  CHECK_NOTHROW(validate_canonical(one_node(
      OpKind::Split,
      [](Node& n) {
        n.attrs.axis = 1;
        n.attrs.dims = {3, 1};
      },
      2)));
  CHECK_NOTHROW(validate_canonical(one_node(OpKind::MaxPool2d, [](Node& n) {
    n.attrs.kernel = {2, 2};
    n.attrs.stride = {2, 2};
  })));
  CHECK_NOTHROW(validate_canonical(one_node(OpKind::Mean, [](Node& n) { n.attrs.dims = {2, 3}; })));
  CHECK_NOTHROW(validate_canonical(one_node(OpKind::Flatten, [](Node& n) { n.attrs.end_dim = 3; })));
  CHECK_NOTHROW(validate_canonical(one_node(OpKind::Add, [](Node& n) {
    n.attrs.has_scalar = true;
    n.attrs.scalar = 2.0f;
  })));
}

TEST_CASE("canonical: transpose given as the two swapped dims is rejected") {
  check_rejected(one_node(OpKind::Transpose, [](Node& n) { n.attrs.dims = {1, 2}; }), "not a permutation of 0..1");
  check_rejected(one_node(OpKind::Transpose, [](Node& n) { n.attrs.dims = {1, 0}; }), "entries for an input of rank 4");
  check_rejected(one_node(OpKind::Transpose, [](Node& n) { n.attrs.dims = {0, 1, 1, 3}; }), "not a permutation");
}

TEST_CASE("canonical: split given as one section size is rejected") {
  check_rejected(one_node(
                     OpKind::Split,
                     [](Node& n) {
                       n.attrs.axis = 1;
                       n.attrs.dims = {2};
                     },
                     2),
                 "one section size per output");
}

TEST_CASE("canonical: max_pool2d with stride 0 (TorchScript's stride=[]) is rejected") {
  check_rejected(one_node(OpKind::MaxPool2d,
                          [](Node& n) {
                            n.attrs.kernel = {3, 3};
                            n.attrs.stride = {0, 0};
                          }),
                 "stride must be >= 1");
  check_rejected(one_node(OpKind::AvgPool2d,
                          [](Node& n) {
                            n.attrs.kernel = {3, 3};
                            n.attrs.stride = {1, 1};
                            n.attrs.dilation = {2, 2};
                          }),
                 "no dilation");
}

TEST_CASE("canonical: a None adaptive pool size, negative axes, unsorted mean dims are rejected") {
  check_rejected(one_node(OpKind::AdaptiveAvgPool2d, [](Node& n) { n.attrs.output_size = {0, 1}; }), "output_size");
  check_rejected(one_node(OpKind::Flatten, [](Node&) {}), "attrs.end_dim = -1 must be non-negative");
  check_rejected(one_node(OpKind::Softmax, [](Node& n) { n.attrs.axis = -1; }), "attrs.axis");
  check_rejected(one_node(OpKind::Cat, [](Node& n) { n.attrs.axis = 4; }), "out of range for rank 4");
  check_rejected(one_node(OpKind::Mean, [](Node& n) { n.attrs.dims = {3, 2}; }), "strictly ascending");
  check_rejected(one_node(OpKind::Mean, [](Node& n) { n.attrs.dims = {}; }), "attrs.dims is empty");
}

TEST_CASE("canonical: reshape with two -1 or another negative size is rejected") {
  check_rejected(one_node(OpKind::Reshape, [](Node& n) { n.attrs.dims = {-1, -1}; }), "more than one -1");
  check_rejected(one_node(OpKind::Reshape, [](Node& n) { n.attrs.dims = {-2, 64}; }), "holds -2");
}

TEST_CASE("canonical: conv, batch_norm, hardtanh, binary and chunk forms") {
  check_rejected(one_node(OpKind::Conv2d,
                          [](Node& n) {
                            conv_3x3(n);
                            n.attrs.kernel = {0, 0};
                          }),
                 "attrs.kernel");
  check_rejected(one_node(OpKind::Conv2d,
                          [](Node& n) {
                            conv_3x3(n);
                            n.params.weight = filled({6, 3, 3, 3});
                          }),
                 "channels");
  check_rejected(one_node(OpKind::Conv2d,
                          [](Node& n) {
                            conv_3x3(n);
                            n.attrs.groups = 4;
                          }),
                 "groups 4 must divide");
  check_rejected(one_node(OpKind::BatchNorm,
                          [](Node& n) {
                            bn_4(n);
                            n.params.weight = TensorF32();  // affine=False not written out
                          }),
                 "must all be [C]");
  check_rejected(one_node(OpKind::Hardtanh,
                          [](Node& n) {
                            n.attrs.min_val = 0.0f;
                            n.attrs.max_val = 6.0f;
                          }),
                 "is relu6");
  Graph two = one_node(OpKind::Add, [](Node& n) { n.attrs.has_scalar = true; });
  two.nodes()[0].inputs.push_back(two.inputs()[0]);
  check_rejected(two, "takes 1 inputs, has 2");
  check_rejected(one_node(OpKind::Mul, [](Node&) {}), "takes 2 inputs, has 1");
  check_rejected(one_node(
                     OpKind::Chunk,
                     [](Node& n) {
                       n.attrs.axis = 1;
                       n.attrs.chunks = 0;
                     },
                     2),
                 "chunks must be >= 1");
  check_rejected(one_node(
                     OpKind::Relu, [](Node&) {}, 2),
                 "has 2 outputs");
}
