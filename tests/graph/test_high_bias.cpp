// High-bias absorption on hand-built pairs: absorbed amounts by hand, the float output against the
// original (exact for linear / 1x1 layers when every pre-activation is >= c; a padded conv's border
// differs by exactly the padded taps' share, computed here by brute force).
#include <doctest/doctest.h>

#include <cmath>

#include "exec/executor.h"
#include "graph/graph_builder.h"
#include "graph/high_bias.h"

using namespace mqcalib;
using mqcalib::testing::GraphBuilder;

namespace {

constexpr double kAbsTol = 2e-5;     // float rounding of O(10) values
constexpr double kBorderTol = 1e-4;  // float rounding of O(10) conv outputs

TensorF32 forward(const Graph& g, const TensorF32& x) { return Executor(g).run({x})[0]; }

}  // namespace

TEST_CASE("high bias: c = max(0, mean - 3 std) moved from a linear into the next; output unchanged") {
  GraphBuilder b;
  const ValueId in = b.input("input", {4, 3});
  const ValueId l1 = b.linear("l1", in, 3, 3);
  b.output(b.linear("l2", b.unary(OpKind::Relu, "r", l1), 2, 3));
  Node& n1 = b.g.nodes()[0];
  n1.params.weight = b.uniform({3, 3}, -0.4f, 0.4f);  // |W x| <= 1.2 for x in [-1, 1]: every z_i >= c_i
  n1.params.bias = TensorF32({3}, std::vector<float>{10.0f, 0.5f, 6.0f});
  n1.bn_stats = BnStats{{10.0f, 0.5f, 6.0f}, {1.0f, 1.0f, 0.5f}};
  const Graph before = b.g;
  const TensorF32 x = b.uniform({4, 3}, -1.0f, 1.0f);
  const std::vector<AbsorbedBias> rep = absorb_high_biases(b.g);
  REQUIRE(rep.size() == 1);
  CHECK(rep[0].absorbed == std::vector<double>{7.0, 0.0, 4.5});
  CHECK(b.g.nodes()[0].params.bias[0] == doctest::Approx(3.0f));
  CHECK(b.g.nodes()[0].bn_stats.mean[2] == doctest::Approx(1.5f));
  const Node& l2 = before.nodes()[2];
  for (int64_t o = 0; o < 2; ++o)
    CHECK(b.g.nodes()[2].params.bias[o] ==
          doctest::Approx(l2.params.bias[o] + 7.0f * l2.params.weight[o * 3] + 4.5f * l2.params.weight[o * 3 + 2]));
  const TensorF32 y0 = forward(before, x), y1 = forward(b.g, x);
  for (int64_t i = 0; i < y0.size(); ++i) CHECK(std::fabs(y0[i] - y1[i]) <= kAbsTol);
}

TEST_CASE("high bias: a padded 3x3 conv's border gains the padded taps' share, the interior is exact") {
  GraphBuilder b;
  const int64_t C = 2, O = 3, H = 4, W = 4;
  const ValueId in = b.input("input", {1, C, H, W});
  const ValueId a = b.conv("a", in, C, C, 1, 1, true);
  b.output(b.conv("c", b.unary(OpKind::Relu, "r", a), O, C, 3, 1, false));
  Node& n1 = b.g.nodes()[0];
  n1.params.bias = TensorF32({C}, std::vector<float>{5.0f, 8.0f});
  n1.bn_stats = BnStats{{5.0f, 8.0f}, {1.0f, 2.0f}};  // c = 2, 2
  const Graph before = b.g;
  const TensorF32 x = b.uniform({1, C, H, W}, -1.0f, 1.0f);
  absorb_high_biases(b.g);
  const TensorF32 y0 = forward(before, x), y1 = forward(b.g, x);
  const TensorF32& w = before.nodes()[2].params.weight;
  const double c[] = {2.0, 2.0};
  for (int64_t o = 0; o < O; ++o)
    for (int64_t i = 0; i < H; ++i)
      for (int64_t j = 0; j < W; ++j) {
        double padded = 0.0;  // sum over taps reading the zero padding of w * c
        for (int64_t ch = 0; ch < C; ++ch)
          for (int64_t p = 0; p < 3; ++p)
            for (int64_t q = 0; q < 3; ++q) {
              const int64_t ii = i + p - 1, jj = j + q - 1;
              if (ii < 0 || jj < 0 || ii >= H || jj >= W) padded += double(w[((o * C + ch) * 3 + p) * 3 + q]) * c[ch];
            }
        const int64_t k = (o * H + i) * W + j;
        CHECK(std::fabs(double(y1[k]) - double(y0[k]) - padded) <= kBorderTol);
      }
}

TEST_CASE("high bias: relu6, identity joins and layers without BN statistics are left alone") {
  GraphBuilder b;
  const ValueId in = b.input("input", {1, 3});
  const ValueId l1 = b.linear("l1", in, 3, 3);
  const ValueId l2 = b.linear("l2", b.unary(OpKind::Relu6, "r6", l1), 3, 3);
  const ValueId l3 = b.linear("l3", l2, 3, 3);
  const ValueId l4 = b.linear("l4", b.unary(OpKind::Relu, "r", l3), 2, 3);
  b.output(l4);
  for (size_t k : {0, 2, 3}) b.g.nodes()[k].bn_stats = BnStats{{9.0f, 9.0f, 9.0f}, {1.0f, 1.0f, 1.0f}};
  b.g.nodes()[3].bn_stats = BnStats{};  // l3 -> relu -> l4: no statistics
  CHECK(absorb_high_biases(b.g).empty());
}
