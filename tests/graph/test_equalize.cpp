// Cross-layer equalization and the layer-pair search on hand-built graphs: the float output of the
// equalized graph against the original (executor forward), scales against hand-computed values.
#include <doctest/doctest.h>

#include <cmath>

#include "exec/executor.h"
#include "graph/bn_fold.h"
#include "graph/equalize.h"
#include "graph/graph_builder.h"
#include "graph/layer_pairs.h"

using namespace mqcalib;
using mqcalib::testing::GraphBuilder;

namespace {

// Equalization only reorders float roundings: outputs agree to this fraction of their max |y|.
constexpr double kEqualizedRelTol = 2e-5;
// After the sweeps settle, a pair's two ranges agree to this relative difference.
constexpr double kRangeTol = 1e-3;

TensorF32 forward(const Graph& g, const TensorF32& x) { return Executor(g).run({x})[0]; }

double max_rel_diff(const TensorF32& a, const TensorF32& b) {
  double d = 0.0, m = 0.0;
  for (int64_t i = 0; i < a.size(); ++i) {
    d = std::max(d, std::fabs(double(a[i]) - double(b[i])));
    m = std::max(m, std::fabs(double(b[i])));
  }
  return d / m;
}

// input -> c1 (3x3) -> bn -> relu -> dw (3x3 depthwise) -> bn -> relu -> pw (1x1) -> bn -> gc (1x1,
// 2 groups, identity join) -> flatten -> l1 -> relu -> l2 -> l3 (identity join). One channel of c1's BN
// has a tiny variance (a 300x wider row after folding).
Graph separable_chain(GraphBuilder& b) {
  const ValueId in = b.input("input", {2, 3, 5, 5});
  ValueId v = b.conv("c1", in, 8, 3, 3, 1, true);
  v = b.bn("c1_bn", v, 8);
  v = b.unary(OpKind::Relu, "c1_relu", v);
  v = b.conv("dw", v, 8, 8, 3, 8, false);
  v = b.bn("dw_bn", v, 8);
  v = b.unary(OpKind::Relu, "dw_relu", v);
  v = b.conv("pw", v, 6, 8, 1, 1, true);
  v = b.bn("pw_bn", v, 6);
  v = b.conv("gc", v, 4, 6, 1, 2, true);
  Attrs fa;
  fa.start_dim = 1;
  fa.end_dim = 3;  // canonical form (graph/ir.h): dims normalized, non-negative
  v = b.op(OpKind::Flatten, "flat", {v}, fa);
  v = b.linear("l1", v, 7, 4 * 25);
  v = b.unary(OpKind::Relu, "l1_relu", v);
  v = b.linear("l2", v, 5, 7);
  v = b.linear("l3", v, 3, 5);
  b.output(v);
  b.g.nodes()[1].params.running_var[2] = 1e-5f;
  fold_batchnorm(b.g);
  return b.g;
}

}  // namespace

TEST_CASE("layer pairs: the chains found, joins named; residual, graph-output and flatten joins refused") {
  GraphBuilder b;
  Graph g = separable_chain(b);
  const std::vector<LayerPair> pairs = find_layer_pairs(g);
  std::vector<std::string> got;
  for (const LayerPair& p : pairs)
    got.push_back(g.nodes()[p.first].name + ">" + g.nodes()[p.second].name + ":" + std::string(to_string(p.join)));
  CHECK(got == std::vector<std::string>{"c1>dw:relu", "dw>pw:relu", "pw>gc:none", "l1>l2:relu", "l2>l3:none"});

  GraphBuilder r;
  const ValueId in = r.input("input", {1, 4, 4, 4});
  const ValueId a = r.conv("a", in, 4, 4, 3, 1, true);
  const ValueId ra = r.unary(OpKind::Relu, "ra", a);
  const ValueId c = r.conv("c", ra, 4, 4, 3, 1, true);
  const ValueId s = r.binary(OpKind::Add, "add", c, ra);  // ra read twice: a -> c is no pair
  const ValueId d = r.conv("d", s, 4, 4, 1, 1, true);     // c's output goes to the add: c -> d neither
  const ValueId rd = r.unary(OpKind::Relu, "rd", d);
  const ValueId e = r.conv("e", rd, 4, 4, 1, 1, true);  // rd is also a graph output: no pair
  r.output(e);
  r.output(rd);
  CHECK(find_layer_pairs(r.g).empty());
}

TEST_CASE("equalize: a linear pair by hand (s = sqrt(r1 / r2))") {
  GraphBuilder b;
  const ValueId in = b.input("input", {1, 2});
  Params p1, p2;
  p1.weight = TensorF32({2, 2}, std::vector<float>{2.0f, 0.0f, 0.0f, 8.0f});
  p1.bias = TensorF32({2}, std::vector<float>{1.0f, 4.0f});
  p2.weight = TensorF32({2, 2}, std::vector<float>{1.0f, 0.5f, 2.0f, 0.5f});
  const ValueId l1 = b.op(OpKind::Linear, "l1", {in}, {}, p1);
  const ValueId r = b.unary(OpKind::Relu, "r", l1);
  b.output(b.op(OpKind::Linear, "l2", {r}, {}, p2));
  b.g.nodes()[0].bn_stats = BnStats{{1.0f, 4.0f}, {0.5f, 2.0f}};
  const EqualizeReport rep = equalize_cross_layer(b.g);
  REQUIRE(rep.pairs.size() == 1);
  // Channel 0: r1 = 2, r2 = max(1, 2) = 2 -> s = 1. Channel 1: r1 = 8, r2 = 0.5 -> s = 4.
  CHECK(rep.pairs[0].scales[0] == doctest::Approx(1.0));
  CHECK(rep.pairs[0].scales[1] == doctest::Approx(4.0));
  CHECK(rep.sweeps == 2);  // the second sweep finds every s = 1
  const Node& n1 = b.g.nodes()[0];
  const Node& n2 = b.g.nodes()[2];
  CHECK(n1.params.weight[3] == doctest::Approx(2.0f));
  CHECK(n1.params.bias[1] == doctest::Approx(1.0f));
  CHECK(n2.params.weight[1] == doctest::Approx(2.0f));
  CHECK(n2.params.weight[3] == doctest::Approx(2.0f));
  CHECK(n1.bn_stats.mean[1] == doctest::Approx(1.0f));
  CHECK(n1.bn_stats.std[1] == doctest::Approx(0.5f));
}

TEST_CASE("equalize: the separable chain's float output is unchanged; ranges equal; BN stats follow") {
  GraphBuilder b;
  Graph g = separable_chain(b);
  const Graph before = g;
  const TensorF32 x = b.randn({2, 3, 5, 5});
  const TensorF32 y0 = forward(before, x);
  const EqualizeReport rep = equalize_cross_layer(g);
  CHECK(rep.pairs.size() == 5);
  CHECK(rep.relu6_replaced.empty());
  CHECK(rep.last_change <= EqualizeOptions{}.tolerance);
  CHECK(max_rel_diff(forward(g, x), y0) <= kEqualizedRelTol);
  for (const LayerPair& p : find_layer_pairs(g)) {
    const Node& first = g.nodes()[p.first];
    for (int64_t i = 0; i < first.params.weight.dim(0); ++i) {
      const double r1 = row_absmax(first, i), r2 = column_absmax(g.nodes()[p.second], i);
      CHECK(std::fabs(r1 - r2) <= kRangeTol * std::max(r1, r2));
    }
  }
  // The tiny-variance channel of c1 was 300x wider than its neighbours: equalization shrank it.
  CHECK(row_absmax(g.find_node("c1"), 2) < 0.5 * row_absmax(before.find_node("c1"), 2));
  // c1's BN statistics divided by the cumulative scales.
  const Node& c1 = g.find_node("c1");
  const Node& c1_0 = before.find_node("c1");
  for (size_t i = 0; i < 8; ++i) {
    const double s = rep.pairs[0].scales[i];
    CHECK(double(c1.bn_stats.mean[i]) * s == doctest::Approx(double(c1_0.bn_stats.mean[i])).epsilon(1e-5));
    CHECK(double(c1.bn_stats.std[i]) * s == doctest::Approx(double(c1_0.bn_stats.std[i])).epsilon(1e-5));
  }
}

TEST_CASE("equalize: relu6 joins are replaced by relu (DFQ) or skipped") {
  auto make = [](GraphBuilder& b) {
    const ValueId in = b.input("input", {2, 2, 4, 4});
    ValueId v = b.conv("a", in, 4, 2, 3, 1, true);
    v = b.bn("a_bn", v, 4);
    v = b.unary(OpKind::Relu6, "a_relu6", v);
    v = b.conv("b", v, 3, 4, 3, 1, true);
    b.output(v);
    b.g.nodes()[1].params.running_var[1] = 1e-4f;
    fold_batchnorm(b.g);
  };
  GraphBuilder b1;
  make(b1);
  const TensorF32 x = b1.randn({2, 2, 4, 4}, 3.0f);
  Graph relu_ref = b1.g;
  relu_ref.nodes()[1].kind = OpKind::Relu;  // what the replacement means for the float network
  const EqualizeReport rep = equalize_cross_layer(b1.g);
  CHECK(rep.relu6_replaced == std::vector<std::string>{"a_relu6"});
  CHECK(b1.g.find_node("a_relu6").kind == OpKind::Relu);
  CHECK(rep.pairs.at(0).join == JoinKind::Relu6);
  CHECK(max_rel_diff(forward(b1.g, x), forward(relu_ref, x)) <= kEqualizedRelTol);

  GraphBuilder b2;
  make(b2);
  const Graph before = b2.g;
  EqualizeOptions o;
  o.relu6 = Relu6Policy::Skip;
  const EqualizeReport skip = equalize_cross_layer(b2.g, o);
  CHECK(skip.pairs.empty());
  CHECK(skip.relu6_skipped == std::vector<std::string>{"a -> b"});
  CHECK(b2.g.find_node("a_relu6").kind == OpKind::Relu6);
  CHECK(b2.g.find_node("a").params.weight.vec() == before.find_node("a").params.weight.vec());
}

TEST_CASE("equalize: a dead channel (zero row) keeps scale 1; bad options are errors") {
  GraphBuilder b;
  const ValueId in = b.input("input", {1, 3});
  const ValueId l1 = b.linear("l1", in, 3, 3);
  b.output(b.linear("l2", b.unary(OpKind::Relu, "r", l1), 2, 3));
  for (int64_t k = 0; k < 3; ++k) b.g.nodes()[0].params.weight[3 + k] = 0.0f;
  const EqualizeReport rep = equalize_cross_layer(b.g);
  CHECK(rep.pairs.at(0).scales[1] == 1.0);
  EqualizeOptions bad;
  bad.max_sweeps = 0;
  CHECK_THROWS_AS(equalize_cross_layer(b.g, bad), Error);
}
