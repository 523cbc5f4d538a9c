// Analytic bias correction (graph/bias_correction.h): the shift by hand, and the whole rule against a
// Monte Carlo estimate of the quantized layer's mean output error under the BN normal model.
#include <doctest/doctest.h>

#include <cmath>
#include <random>

#include "graph/bias_correction.h"
#include "graph/bn_ranges.h"
#include "graph/graph_builder.h"

using namespace mqcalib;
using mqcalib::testing::GraphBuilder;

TEST_CASE("bias correction: e_o = sum (Wq - W)[o, i, t] E[x_i], by hand, grouped conv") {
  GraphBuilder b;
  const ValueId in = b.input("input", {1, 4, 3, 3});
  b.output(b.conv("g", in, 2, 4, 1, 2, false));  // weight [2, 2, 1, 1], groups 2
  const Node& n = b.g.nodes()[0];
  TensorF32 wq = n.params.weight;
  wq[0] += 0.1f;   // o 0, input channel 0
  wq[1] -= 0.2f;   // o 0, input channel 1
  wq[3] += 0.05f;  // o 1, input channel 3
  const std::vector<double> e = expected_output_shift(n, wq, {1.0, 2.0, 3.0, 4.0});
  REQUIRE(e.size() == 2);
  CHECK(e[0] == doctest::Approx(0.1 * 1.0 - 0.2 * 2.0).epsilon(1e-6));
  CHECK(e[1] == doctest::Approx(0.05 * 4.0).epsilon(1e-6));
}

TEST_CASE("bias correction: the corrected quantized layer's mean output matches the FP one (Monte Carlo)") {
  // z ~ N(mean, std^2) per channel (l1's BN statistics), x = relu(z), y = l2(x). After correction,
  // E[l2_q(x)] = E[l2(x)] per output channel; estimated over 400k samples of the normal model.
  constexpr int64_t kSamples = 400000;
  constexpr double kMcTol = 5e-3;  // > 5 standard errors of the mean difference here
  GraphBuilder b;
  const ValueId in = b.input("input", {1, 3});
  const ValueId l1 = b.linear("l1", in, 3, 3);
  const ValueId r = b.unary(OpKind::Relu, "r", l1);
  const ValueId l2 = b.linear("l2", r, 2, 3);
  b.output(l2);
  b.g.nodes()[0].bn_stats = BnStats{{0.5f, -1.0f, 2.0f}, {1.0f, 1.5f, 0.5f}};
  const Graph fp = b.g;
  TensorF32 wq = fp.nodes()[2].params.weight;
  for (float& w : wq.vec()) w = std::round(w * 8.0f) / 8.0f;  // a coarse grid: a visible mean error
  std::vector<const TensorF32*> q(fp.nodes().size(), nullptr);
  q[2] = &wq;
  const std::vector<ValueDist> d = bn_value_dists(b.g, {InputRange{in, {-1.0f}, {1.0f}}});
  const std::vector<BiasCorrection> rep = correct_bias_analytic(b.g, q, d);
  REQUIRE(rep.size() == 1);
  CHECK(rep[0].skipped.empty());
  std::mt19937_64 rng(7);
  std::normal_distribution<double> n01(0.0, 1.0);
  const Node& f2 = fp.nodes()[2];
  const Node& c2 = b.g.nodes()[2];
  std::vector<double> diff(2, 0.0), raw(2, 0.0);
  for (int64_t s = 0; s < kSamples; ++s) {
    double x[3];
    for (int i = 0; i < 3; ++i) {
      const double z = fp.nodes()[0].bn_stats.mean[i] + fp.nodes()[0].bn_stats.std[i] * n01(rng);
      x[i] = std::max(0.0, z);
    }
    for (int o = 0; o < 2; ++o) {
      double yf = f2.params.bias[o], yq = c2.params.bias[o], yq0 = f2.params.bias[o];
      for (int i = 0; i < 3; ++i) {
        yf += f2.params.weight[o * 3 + i] * x[i];
        yq += wq[o * 3 + i] * x[i];
        yq0 += wq[o * 3 + i] * x[i];
      }
      diff[static_cast<size_t>(o)] += (yq - yf) / kSamples;
      raw[static_cast<size_t>(o)] += (yq0 - yf) / kSamples;
    }
  }
  for (size_t o = 0; o < 2; ++o) {
    CAPTURE(o);
    CHECK(std::fabs(diff[o]) <= kMcTol);
    CHECK(raw[o] == doctest::Approx(rep[0].shift[o]).epsilon(0.02));  // the shift is the error removed
  }
}

TEST_CASE("bias correction: the first layer (input mean unknown) is skipped with the reason") {
  GraphBuilder b;
  const ValueId in = b.input("input", {1, 3});
  b.output(b.linear("l", in, 2, 3));
  const Graph g0 = b.g;
  TensorF32 wq = b.g.nodes()[0].params.weight;
  wq[0] += 1.0f;
  std::vector<const TensorF32*> q{&wq};
  const std::vector<BiasCorrection> rep =
      correct_bias_analytic(b.g, q, bn_value_dists(b.g, {InputRange{in, {0.0f}, {1.0f}}}));
  REQUIRE(rep.size() == 1);
  CHECK(rep[0].skipped.find("unknown") != std::string::npos);
  CHECK(b.g.nodes()[0].params.bias.vec() == g0.nodes()[0].params.bias.vec());
}
