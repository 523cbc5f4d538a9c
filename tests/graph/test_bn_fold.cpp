// BN folding: folded conv/linear vs conv followed by BN applied by hand (double precision).
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>

#include "graph/bn_fold.h"
#include "graph_builder.h"

using namespace mqcalib;
using mqcalib::testing::GraphBuilder;

namespace {

// Relative tolerance of folded (float weights) vs unfolded (double BN by hand) outputs.
constexpr double kFoldRelTol = 1e-5;

// Plain direct conv2d in double: x [1, C, H, W], w [O, C/g, k, k], stride 1, padding from attrs.
std::vector<double> conv_ref(const std::vector<float>& x, int64_t C, int64_t H, int64_t W, const Node& n) {
  const TensorF32& w = n.params.weight;
  const int64_t O = w.dim(0), Cg = w.dim(1), K = w.dim(2), pad = n.attrs.padding[0], g = n.attrs.groups;
  std::vector<double> y(static_cast<size_t>(O * H * W), 0.0);
  for (int64_t o = 0; o < O; ++o) {
    const int64_t grp = o / (O / g);
    for (int64_t i = 0; i < H; ++i)
      for (int64_t j = 0; j < W; ++j) {
        double acc = n.params.bias.empty() ? 0.0 : static_cast<double>(n.params.bias[o]);
        for (int64_t c = 0; c < Cg; ++c)
          for (int64_t a = 0; a < K; ++a)
            for (int64_t b = 0; b < K; ++b) {
              const int64_t ii = i + a - pad, jj = j + b - pad;
              if (ii < 0 || jj < 0 || ii >= H || jj >= W) continue;
              acc += static_cast<double>(w[((o * Cg + c) * K + a) * K + b]) *
                     static_cast<double>(x[static_cast<size_t>(((grp * Cg + c) * H + ii) * W + jj)]);
            }
        y[static_cast<size_t>((o * H + i) * W + j)] = acc;
      }
  }
  (void)C;
  return y;
}

// BN by hand in double on [O, H*W]: (y - mean) / sqrt(var + eps) * gamma + beta.
void bn_ref(std::vector<double>& y, int64_t O, const Node& bn) {
  const int64_t hw = static_cast<int64_t>(y.size()) / O;
  for (int64_t o = 0; o < O; ++o) {
    const double inv = 1.0 / std::sqrt(static_cast<double>(bn.params.running_var[o]) + static_cast<double>(bn.attrs.eps));
    for (int64_t k = 0; k < hw; ++k) {
      double& v = y[static_cast<size_t>(o * hw + k)];
      v = (v - static_cast<double>(bn.params.running_mean[o])) * inv * static_cast<double>(bn.params.weight[o]) +
          static_cast<double>(bn.params.bias[o]);
    }
  }
}

double max_rel_diff(const std::vector<double>& a, const std::vector<double>& b) {
  double m = 0.0, d = 0.0;
  for (size_t i = 0; i < a.size(); ++i) {
    m = std::max(m, std::fabs(b[i]));
    d = std::max(d, std::fabs(a[i] - b[i]));
  }
  return d / m;
}

}  // namespace

TEST_CASE("bn_fold: conv->bn folded equals conv then BN by hand, including a tiny-var channel") {
  for (int64_t groups : {1, 4}) {
    for (bool bias : {false, true}) {
      CAPTURE(groups);
      CAPTURE(bias);
      GraphBuilder b;
      const int64_t C = 4, O = 8, H = 5, W = 6;
      ValueId x = b.input("input", {1, C, H, W});
      ValueId c = b.conv("conv1", x, O, C, 3, groups, bias);
      ValueId y = b.bn("bn1", c, O);
      ValueId r = b.unary(OpKind::Relu, "relu", y);
      b.output(r);
      b.g.nodes()[1].params.running_var[3] = 1e-9f;  // tiny var: channel 3 weights blow up by ~1/sqrt(eps)
      b.g.nodes()[1].attrs.eps = 1e-5f;
      const Node conv0 = b.g.nodes()[0];
      const Node bn0 = b.g.nodes()[1];
      const TensorF32 xin = b.randn({1, C, H, W});

      std::vector<double> expect = conv_ref(xin.to_vector(), C, H, W, conv0);
      bn_ref(expect, O, bn0);

      const FoldReport rep = fold_batchnorm(b.g);
      REQUIRE(rep.folded.size() == 1);
      CHECK(rep.folded[0].bn == "bn1");
      CHECK(rep.folded[0].into == "conv1");
      CHECK(rep.unfolded.empty());
      REQUIRE(b.g.nodes().size() == 2);
      const Node& conv = b.g.nodes()[0];
      CHECK(conv.kind == OpKind::Conv2d);
      CHECK(conv.folded == std::vector<std::string>{"bn1"});
      // The conv took over the BN's output value: downstream names are stable.
      CHECK(b.g.value(conv.outputs[0]).name == "bn1");
      CHECK(b.g.nodes()[1].inputs[0] == y);
      const std::vector<double> got = conv_ref(xin.to_vector(), C, H, W, conv);
      CHECK(max_rel_diff(got, expect) <= kFoldRelTol);
      // The tiny-var channel alone, relative to its own magnitude.
      std::vector<double> g3(got.begin() + 3 * H * W, got.begin() + 4 * H * W);
      std::vector<double> e3(expect.begin() + 3 * H * W, expect.begin() + 4 * H * W);
      CHECK(max_rel_diff(g3, e3) <= kFoldRelTol);
    }
  }
}

TEST_CASE("bn_fold: linear->bn1d folded equals linear then BN by hand") {
  GraphBuilder b;
  ValueId x = b.input("input", {1, 6});
  ValueId l = b.linear("fc", x, 5, 6);
  ValueId y = b.bn("bn", l, 5);
  b.output(y);
  const Node lin = b.g.nodes()[0], bn = b.g.nodes()[1];
  const TensorF32 xin = b.randn({1, 6});
  std::vector<double> expect(5), got(5);
  const FoldReport rep = fold_batchnorm(b.g);
  REQUIRE(rep.folded.size() == 1);
  const Node& f = b.g.nodes()[0];
  for (int64_t o = 0; o < 5; ++o) {
    double a = lin.params.bias[o], c = f.params.bias[o];
    for (int64_t i = 0; i < 6; ++i) {
      a += static_cast<double>(lin.params.weight[o * 6 + i]) * static_cast<double>(xin[i]);
      c += static_cast<double>(f.params.weight[o * 6 + i]) * static_cast<double>(xin[i]);
    }
    expect[static_cast<size_t>(o)] = a;
    got[static_cast<size_t>(o)] = c;
  }
  bn_ref(expect, 5, bn);
  CHECK(max_rel_diff(got, expect) <= kFoldRelTol);
  CHECK(b.g.outputs()[0] == y);
}

TEST_CASE("bn_fold: counts folds in a chain and reports BNs that cannot be folded") {
  GraphBuilder b;
  ValueId x = b.input("input", {1, 3, 8, 8});
  ValueId c1 = b.conv("conv1", x, 8, 3);
  ValueId n1 = b.bn("bn1", c1, 8);                        // folds
  ValueId r1 = b.unary(OpKind::Relu, "relu1", n1);
  ValueId c2 = b.conv("conv2", r1, 8, 8);
  ValueId n2 = b.bn("bn2", c2, 8);                        // folds
  ValueId s = b.binary(OpKind::Add, "add", n2, r1);
  ValueId n3 = b.bn("bn3", s, 8);                         // after an add: stays
  ValueId c3 = b.conv("conv3", n3, 8, 8);
  ValueId n4 = b.bn("bn4", c3, 8);                        // conv3 output read twice: stays
  ValueId r4 = b.unary(OpKind::Relu, "relu4", c3);
  ValueId m = b.binary(OpKind::Add, "add2", n4, r4);
  ValueId n5 = b.bn("bn5", x, 3);                         // on the graph input: stays
  b.output(m);
  b.output(n5);
  const size_t bn_before = 5;
  const FoldReport rep = fold_batchnorm(b.g);
  CHECK(rep.folded.size() == 2);
  CHECK(rep.unfolded.size() == bn_before - 2);
  size_t bn_left = 0;
  for (const Node& n : b.g.nodes()) bn_left += n.kind == OpKind::BatchNorm;
  CHECK(bn_left == rep.unfolded.size());
  REQUIRE(rep.unfolded.size() == 3);
  CHECK(rep.unfolded[0].bn == "bn3");
  CHECK(rep.unfolded[0].reason.find("add") != std::string::npos);
  CHECK(rep.unfolded[1].bn == "bn4");
  CHECK(rep.unfolded[1].reason.find("read by 2") != std::string::npos);
  CHECK(rep.unfolded[2].bn == "bn5");
  CHECK(rep.unfolded[2].reason.find("graph input") != std::string::npos);
  CHECK_NOTHROW(b.g.validate());
  CHECK(b.g.find_node("conv2").folded == std::vector<std::string>{"bn2"});
  CHECK(b.g.nodes()[static_cast<size_t>(b.g.producer(n2))].name == "conv2");
}

TEST_CASE("bn_fold: malformed BN parameters are an error naming the node") {
  GraphBuilder b;
  ValueId x = b.input("input", {1, 3, 4, 4});
  ValueId c = b.conv("conv", x, 4, 3);
  ValueId n = b.bn("bad_bn", c, 4);
  b.output(n);
  b.g.nodes()[1].params.running_var = TensorF32(Shape{3}, 1.0f);
  CHECK_THROWS_WITH_AS(fold_batchnorm(b.g), doctest::Contains("bad_bn"), Error);
}

TEST_CASE("bn_fold: the folded node keeps the BN's output statistics (beta, |gamma|)") {
  // The claim behind the data-free mode: with the BN's running statistics equal to its input's
  // statistics, the folded output channel c has mean beta[c] and std |gamma[c]|. Checked empirically on
  // a linear layer whose BN statistics are set to its output's sample mean and variance.
  constexpr double kMomentTol = 1e-3;  // relative to gamma (the eps of the fold shrinks the std by ~eps/var)
  GraphBuilder b;
  const int64_t N = 4096, I = 6, O = 5;
  ValueId x = b.input("input", {N, I});
  ValueId l = b.linear("fc", x, O, I);
  ValueId y = b.bn("bn", l, O);
  b.output(y);
  b.g.nodes()[1].params.weight[2] = -0.8f;  // a negative gamma: std is |gamma|
  const TensorF32 xin = b.randn({N, I});
  const Node lin = b.g.nodes()[0];
  std::vector<double> pre(static_cast<size_t>(N * O));
  for (int64_t n = 0; n < N; ++n)
    for (int64_t o = 0; o < O; ++o) {
      double a = lin.params.bias[o];
      for (int64_t i = 0; i < I; ++i) a += double(lin.params.weight[o * I + i]) * double(xin[n * I + i]);
      pre[static_cast<size_t>(n * O + o)] = a;
    }
  Node& bn = b.g.nodes()[1];
  for (int64_t o = 0; o < O; ++o) {
    double m = 0.0, v = 0.0;
    for (int64_t n = 0; n < N; ++n) m += pre[static_cast<size_t>(n * O + o)] / N;
    for (int64_t n = 0; n < N; ++n)
      v += (pre[static_cast<size_t>(n * O + o)] - m) * (pre[static_cast<size_t>(n * O + o)] - m) / N;
    bn.params.running_mean[o] = static_cast<float>(m);
    bn.params.running_var[o] = static_cast<float>(v);
  }
  const Node bn0 = bn;
  fold_batchnorm(b.g);
  const Node& f = b.g.nodes()[0];
  REQUIRE(f.bn_stats.mean.size() == static_cast<size_t>(O));
  REQUIRE(f.bn_stats.std.size() == static_cast<size_t>(O));
  for (int64_t o = 0; o < O; ++o) {
    CAPTURE(o);
    CHECK(f.bn_stats.mean[static_cast<size_t>(o)] == bn0.params.bias[o]);
    CHECK(f.bn_stats.std[static_cast<size_t>(o)] == std::fabs(bn0.params.weight[o]));
    double m = 0.0, v = 0.0;
    std::vector<double> out(static_cast<size_t>(N));
    for (int64_t n = 0; n < N; ++n) {
      double a = f.params.bias[o];
      for (int64_t i = 0; i < I; ++i) a += double(f.params.weight[o * I + i]) * double(xin[n * I + i]);
      out[static_cast<size_t>(n)] = a;
      m += a / N;
    }
    for (double a : out) v += (a - m) * (a - m) / N;
    const double g = std::fabs(bn0.params.weight[o]);
    CHECK(std::fabs(m - f.bn_stats.mean[static_cast<size_t>(o)]) <= kMomentTol * g);
    CHECK(std::fabs(std::sqrt(v) - f.bn_stats.std[static_cast<size_t>(o)]) <= kMomentTol * g);
  }
}
