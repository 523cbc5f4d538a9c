// BN-statistics ranges and moments (graph/bn_ranges.h) on hand-built graphs, against hand-computed
// values and brute-force scans.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>

#include "core/normal.h"
#include "graph/bn_range_rules.h"
#include "graph/bn_ranges.h"
#include "graph/graph_builder.h"

using namespace mqcalib;
using mqcalib::testing::GraphBuilder;

namespace {

constexpr double kTol = 1e-5;  // float storage of O(10) ranges
constexpr double kInf = std::numeric_limits<double>::infinity();

const ValueDist& at(const std::vector<ValueDist>& d, ValueId v) { return d.at(static_cast<size_t>(v)); }

}  // namespace

TEST_CASE("bn ranges: every op kind has a rule") {
#define MQCALIB_X(e, s) CHECK_NOTHROW(detail::dist_rule(OpKind::e));
  MQCALIB_OP_KINDS(MQCALIB_X)
#undef MQCALIB_X
}

TEST_CASE("bn ranges: input pixel range, BN normal, relu clip, add tightened, pooling, flatten, linear") {
  GraphBuilder b;
  const ValueId in = b.input("input", {1, 2, 4, 4});
  ValueId c1 = b.conv("c1", in, 2, 2, 3, 1, true);
  b.g.value(c1).shape = {1, 2, 4, 4};
  const ValueId r1 = b.op(OpKind::Relu, "r1", {c1}, {}, {}, {1, 2, 4, 4});
  const ValueId c2 = b.op(OpKind::Conv2d, "c2", {r1}, b.g.nodes()[0].attrs, b.g.nodes()[0].params, {1, 2, 4, 4});
  const ValueId s = b.op(OpKind::Add, "add", {c2, r1}, {}, {}, {1, 2, 4, 4});
  const ValueId r2 = b.op(OpKind::Relu6, "r2", {s}, {}, {}, {1, 2, 4, 4});
  const ValueId mp = b.op(OpKind::MaxPool2d, "mp", {r2}, {}, {}, {1, 2, 4, 4});
  Attrs pa;
  pa.output_size = {2, 2};
  const ValueId ap = b.op(OpKind::AdaptiveAvgPool2d, "ap", {r2}, pa, {}, {1, 2, 2, 2});
  Attrs fa;
  fa.start_dim = 1;
  const ValueId fl = b.op(OpKind::Flatten, "fl", {ap}, fa, {}, {1, 8});
  const ValueId cat = b.op(OpKind::Cat, "cat", {mp, r2}, {}, {}, {1, 4, 4, 4});
  b.output(fl);
  b.output(cat);
  b.g.nodes()[0].bn_stats = BnStats{{1.0f, -2.0f}, {0.5f, 1.0f}};
  b.g.nodes()[2].bn_stats = BnStats{{0.0f, 3.0f}, {2.0f, 0.25f}};
  const InputRange ir = preprocessed_pixel_range(in, {0.5f, 0.25f}, {0.25f, 0.5f});
  CHECK(ir.lo == std::vector<float>{-2.0f, -0.5f});
  CHECK(ir.hi == std::vector<float>{2.0f, 1.5f});
  const std::vector<ValueDist> d = bn_value_dists(b.g, {ir});

  CHECK(at(d, c1).lo == std::vector<float>{-2.0f, -8.0f});  // mean -+ 6 std
  CHECK(at(d, c1).hi == std::vector<float>{4.0f, 4.0f});
  CHECK(at(d, r1).lo == std::vector<float>{0.0f, 0.0f});
  CHECK(at(d, r1).hi == std::vector<float>{4.0f, 4.0f});
  const Moments m0 = clipped_normal_moments(1.0, 0.5, 0.0, kInf), m1 = clipped_normal_moments(-2.0, 1.0, 0.0, kInf);
  CHECK(at(d, r1).mean[0] == doctest::Approx(m0.mean));
  CHECK(at(d, r1).var[1] == doctest::Approx(m1.var));
  // add: interval [lo_a + lo_b, hi_a + hi_b] narrowed to mean +- 6 sd of N(mu_a + mu_b, var_a + var_b).
  for (int64_t c = 0; c < 2; ++c) {
    const double ma = c == 0 ? 0.0 : 3.0, sa = c == 0 ? 2.0 : 0.25;
    const Moments r = c == 0 ? m0 : m1;
    const double mean = ma + r.mean, sd = std::sqrt(sa * sa + r.var);
    const double lo = std::max(ma - 6 * sa + 0.0, mean - 6 * sd), hi = std::min(ma + 6 * sa + 4.0, mean + 6 * sd);
    CHECK(at(d, s).lo[c] == doctest::Approx(lo).epsilon(kTol));
    CHECK(at(d, s).hi[c] == doctest::Approx(hi).epsilon(kTol));
    CHECK(at(d, r2).hi[c] == doctest::Approx(std::min(hi, 6.0)).epsilon(kTol));
  }
  CHECK(at(d, mp).hi == at(d, r2).hi);
  CHECK_FALSE(at(d, mp).has_moments());
  CHECK(at(d, ap).mean == at(d, r2).mean);
  REQUIRE(at(d, fl).channels() == 8);  // channel c -> its 4 features
  CHECK(at(d, fl).hi[5] == at(d, r2).hi[1]);
  REQUIRE(at(d, cat).channels() == 4);
  CHECK(at(d, cat).hi[3] == at(d, r2).hi[1]);
}

TEST_CASE("bn ranges: a conv without BN statistics: interval arithmetic through the weights (brute force)") {
  GraphBuilder b;
  const ValueId in = b.input("input", {1, 2});
  Params p;
  p.weight = TensorF32({2, 2}, std::vector<float>{1.0f, -2.0f, 0.5f, 0.5f});
  p.bias = TensorF32({2}, std::vector<float>{0.25f, -1.0f});
  const ValueId l = b.op(OpKind::Linear, "l", {in}, {}, p);
  b.output(l);
  InputRange ir{in, {-1.0f, 0.0f}, {1.0f, 3.0f}};
  const std::vector<ValueDist> d = bn_value_dists(b.g, {ir});
  // Brute force over the corners of the input box (the extremes of a linear map).
  for (int64_t o = 0; o < 2; ++o) {
    double lo = 1e30, hi = -1e30;
    for (float x0 : {-1.0f, 1.0f})
      for (float x1 : {0.0f, 3.0f}) {
        const double y = p.bias[o] + p.weight[o * 2] * x0 + p.weight[o * 2 + 1] * x1;
        lo = std::min(lo, y), hi = std::max(hi, y);
      }
    CHECK(at(d, l).lo[o] == doctest::Approx(lo));
    CHECK(at(d, l).hi[o] == doctest::Approx(hi));
  }
  CHECK_FALSE(at(d, l).has_moments());  // the input's moments are unknown
}

TEST_CASE("bn ranges: silu / hardswish / gelu images against a brute-force scan") {
  for (OpKind k : {OpKind::Silu, OpKind::Hardswish, OpKind::Gelu, OpKind::Sigmoid}) {
    GraphBuilder b;
    const ValueId in = b.input("input", {1, 1});
    const ValueId y = b.op(k, "f", {in});
    b.output(y);
    const std::vector<ValueDist> d = bn_value_dists(b.g, {InputRange{in, {-5.0f}, {2.0f}}});
    double lo = 1e30, hi = -1e30;
    for (int i = 0; i <= 700000; ++i) {
      const double x = -5.0 + i * 1e-5;
      double f = 0;
      if (k == OpKind::Silu) f = x / (1 + std::exp(-x));
      if (k == OpKind::Hardswish) f = x * std::min(std::max(x + 3, 0.0), 6.0) / 6;
      if (k == OpKind::Gelu) f = 0.5 * x * (1 + std::erf(x / std::sqrt(2.0)));
      if (k == OpKind::Sigmoid) f = 1 / (1 + std::exp(-x));
      lo = std::min(lo, f), hi = std::max(hi, f);
    }
    CAPTURE(op_name(k));
    CHECK(at(d, y).lo[0] == doctest::Approx(lo).epsilon(1e-6));
    CHECK(at(d, y).hi[0] == doctest::Approx(hi).epsilon(1e-6));
  }
}

TEST_CASE("bn ranges: a value no rule reaches has no model; bad inputs are errors") {
  GraphBuilder b;
  const ValueId in = b.input("input", {1, 2});
  const ValueId other = b.input("other", {1, 2});
  const ValueId s = b.binary(OpKind::Add, "add", in, other);
  b.output(s);
  const std::vector<ValueDist> d = bn_value_dists(b.g, {InputRange{in, {0.0f}, {1.0f}}});
  CHECK(at(d, in).known());
  CHECK_FALSE(at(d, other).known());
  CHECK_FALSE(at(d, s).known());
  CHECK_THROWS_AS(bn_value_dists(b.g, {InputRange{s, {0.0f}, {1.0f}}}), Error);
  CHECK_THROWS_AS(bn_value_dists(b.g, {InputRange{in, {2.0f}, {1.0f}}}), Error);
  BnRangeOptions bad;
  bad.sigmas = 0.0;
  CHECK_THROWS_AS(bn_value_dists(b.g, {}, bad), Error);
}
