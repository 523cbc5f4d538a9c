// The data-free synthesis (reconstruction/synthesis.h) on a small unfolded graph: its gradient with
// respect to the images against central differences of its own loss along random directions (every
// term on: BN statistics, the input prior, total variation, cross-entropy to the target classes), the
// BN layers it matches, the loss falling, determinism across thread counts, and the option errors.
// The zoo models against torch autograd: test_synthesis_zoo.cpp.
#include <doctest/doctest.h>

#include <cmath>
#include <random>

#include "core/parallel.h"
#include "graph/graph_builder.h"
#include "reconstruction/synthesis.h"
#include "reconstruction/synthesis_loss.h"
#include "reconstruction/unit_test_graphs.h"

using namespace mqcalib;
using namespace mqcalib::test;

namespace {

// float32 network and loss, central differences with step h on unit directions: truncation O(h^2),
// round-off ~ 1e-7 |L| / h; both far below this fraction of the directional derivative.
constexpr double kFdStep = 1e-3;
constexpr double kDirectionalRelTol = 2e-3;

// input [N, 2, 6, 6] -> conv + BN + relu -> conv (stride 2) + BN + relu -> pool -> flatten -> linear (5),
// and a BN1d-like batch norm on the [N, 5] logits (no spatial variance: not in the loss).
struct SmallNet {
  testing::GraphBuilder b;
  SmallNet() {
    const ValueId x = b.input("input", {1, 2, 6, 6});
    const ValueId r1 = b.unary(OpKind::Relu, "r1", b.bn("bn1", b.conv("c1", x, 4, 2, 3, 1, true), 4));
    Attrs a;
    a.kernel = {3, 3};
    a.stride = {2, 2};
    a.padding = {1, 1};
    Params p;
    p.weight = b.randn({6, 4, 3, 3}, 0.3f);
    const ValueId r2 = b.unary(OpKind::Relu, "r2", b.bn("bn2", b.op(OpKind::Conv2d, "c2", {r1}, a, p), 6));
    a = Attrs{};
    a.output_size = {1, 1};
    const ValueId pool = b.op(OpKind::AdaptiveAvgPool2d, "pool", {r2}, a);
    a = Attrs{};
    a.start_dim = 1;
    a.end_dim = 3;
    const ValueId fc = b.linear("fc", b.op(OpKind::Flatten, "flat", {pool}, a), 5, 6);
    b.output(b.bn("bn_out", fc, 5));
    infer_shapes(b.g, {1, 2, 6, 6});
  }
};

TensorF32 random_images(const Shape& s, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> n(0.0f, 1.0f);
  TensorF32 t(s);
  for (float& v : t.vec()) v = n(rng);
  return t;
}

SynthesisOptions all_terms() {
  SynthesisOptions o;
  o.samples = 3;
  o.smoothness = 0.05f;
  o.target_classes = true;
  o.target_weight = 0.5f;
  return o;
}

}  // namespace

TEST_CASE("synthesis: the BN layers of the loss are the spatial ones, with ZeroQ's targets") {
  SmallNet net;
  const std::vector<BnStatsTarget> t = bn_stats_targets(net.b.g);
  REQUIRE(t.size() == 2);  // bn_out reads [N, 5]: no spatial variance
  CHECK(t[0].bn == "bn1");
  CHECK(t[1].bn == "bn2");
  const Node* found = nullptr;
  for (const Node& n : net.b.g.nodes())
    if (n.name == "bn2") found = &n;
  REQUIRE(found);
  const Node& bn2 = *found;
  CHECK(bn2.inputs[0] == t[1].input);
  for (int64_t c = 0; c < 6; ++c) {
    CHECK(t[1].mean[c] == bn2.params.running_mean[c]);
    CHECK(t[1].std[c] == doctest::Approx(std::sqrt(bn2.params.running_var[c] + 1e-6)).epsilon(1e-6));
  }
}

TEST_CASE("synthesis: the gradient w.r.t. the images equals central differences of the loss (every term)") {
  SmallNet net;
  const SynthesisOptions o = all_terms();
  const TensorF32 x = random_images({3, 2, 6, 6}, 5);
  auto loss_at = [&](const TensorF32& xi) {
    SynthesisBatch b(net.b.g, xi, 1, o);
    std::vector<float> g;
    return b.loss_and_grad(g).total;
  };
  SynthesisBatch b(net.b.g, x, 1, o);
  std::vector<float> g;
  const SynthesisLoss l = b.loss_and_grad(g);
  CHECK(l.bn > 0.0);
  CHECK(l.prior > 0.0);
  CHECK(l.total > l.bn + l.prior);  // tv and cross-entropy on
  std::mt19937 rng(9);
  std::normal_distribution<double> n(0.0, 1.0);
  for (int k = 0; k < 4; ++k) {
    std::vector<double> d(static_cast<size_t>(x.size()));
    double norm = 0.0;
    for (double& v : d) {
      v = n(rng);
      norm += v * v;
    }
    for (double& v : d) v /= std::sqrt(norm);
    TensorF32 xp = x, xm = x;
    double analytic = 0.0;
    for (int64_t i = 0; i < x.size(); ++i) {
      xp.data()[i] += static_cast<float>(kFdStep * d[static_cast<size_t>(i)]);
      xm.data()[i] -= static_cast<float>(kFdStep * d[static_cast<size_t>(i)]);
      analytic += g[static_cast<size_t>(i)] * d[static_cast<size_t>(i)];
    }
    const double fd = (loss_at(xp) - loss_at(xm)) / (2.0 * kFdStep);
    CAPTURE(k);
    CHECK(std::fabs(fd - analytic) <= kDirectionalRelTol * std::max(std::fabs(analytic), 1.0));
  }
}

TEST_CASE("synthesis: the BN loss falls; synthesize_inputs is deterministic at 1, 2 and 3 threads") {
  SmallNet net;
  SynthesisOptions o;
  o.samples = 5;
  o.batch = 3;  // two batches, the second partial
  o.iterations = 40;
  o.seed = 17;
  set_num_threads(1);
  const SynthesisResult one = synthesize_inputs(net.b.g, {2, 6, 6}, o);
  set_num_threads(2);
  int64_t calls = 0;
  const SynthesisResult two =
      synthesize_inputs(net.b.g, {2, 6, 6}, o, [&](int64_t, int64_t n, int, const SynthesisLoss&) {
        CHECK(n == 2);
        ++calls;
      });
  set_num_threads(3);
  const SynthesisResult three = synthesize_inputs(net.b.g, {2, 6, 6}, o);
  set_num_threads(2);
  CHECK(calls == 2 * o.iterations);
  REQUIRE(one.images.shape() == Shape{5, 2, 6, 6});
  CHECK(std::equal(one.images.vec().begin(), one.images.vec().end(), two.images.vec().begin()));
  CHECK(std::equal(one.images.vec().begin(), one.images.vec().end(), three.images.vec().begin()));
  CHECK(one.bn_layers == 2);
  REQUIRE(one.initial_loss.size() == 2);
  for (size_t b = 0; b < 2; ++b) CHECK(one.final_loss[b] < 0.5 * one.initial_loss[b]);
  // another seed, other images
  o.seed = 18;
  const SynthesisResult other = synthesize_inputs(net.b.g, {2, 6, 6}, o);
  CHECK(!std::equal(one.images.vec().begin(), one.images.vec().end(), other.images.vec().begin()));
}

// The runner recycles its tensors (reconstruction/tensor_recycler.h): a batch whose buffers hold the
// last iteration's values must give the same bits as a fresh one at the same images.
TEST_CASE("synthesis: a batch after steps (recycled buffers) equals a fresh batch at its images") {
  SmallNet net;
  const SynthesisOptions o = all_terms();
  SynthesisBatch used(net.b.g, random_images({3, 2, 6, 6}, 5), 0, o);
  for (int i = 0; i < 3; ++i) used.step();
  SynthesisBatch fresh(net.b.g, TensorF32(used.images().shape(), used.images().to_vector()), 0, o);
  std::vector<float> g_used, g_fresh;
  const SynthesisLoss l_used = used.loss_and_grad(g_used), l_fresh = fresh.loss_and_grad(g_fresh);
  CHECK(l_used.total == l_fresh.total);
  CHECK(g_used == g_fresh);
}

TEST_CASE("synthesis: initial images are N(0, 1), a stream per batch") {
  const TensorF32 a = synthesis_initial_images({64, 1, 28, 28}, 3, 0),
                  b = synthesis_initial_images({64, 1, 28, 28}, 3, 1);
  double m = 0.0, v = 0.0;
  for (float x : a.vec()) m += x;
  m /= static_cast<double>(a.size());
  for (float x : a.vec()) v += (x - m) * (x - m);
  v /= static_cast<double>(a.size() - 1);
  CHECK(std::fabs(m) < 0.01);  // 50176 samples: sd of the mean 0.0045
  CHECK(std::fabs(v - 1.0) < 0.03);
  CHECK(!std::equal(a.vec().begin(), a.vec().end(), b.vec().begin()));
}

TEST_CASE("synthesis: options and graphs it cannot run are errors naming them") {
  SmallNet net;
  SynthesisOptions o;
  CHECK_THROWS_WITH(synthesize_inputs(net.b.g, {2, 6, 6}, o), doctest::Contains("--synthesize"));
  o.samples = 4;
  o.iterations = 0;
  CHECK_THROWS_WITH(synthesize_inputs(net.b.g, {2, 6, 6}, o), doctest::Contains("--synth-iters"));
  o.iterations = 1;
  o.batch = 0;
  CHECK_THROWS_WITH(synthesize_inputs(net.b.g, {2, 6, 6}, o), doctest::Contains("--synth-batch"));
  o.batch = 2;
  o.smoothness = -1.0f;
  CHECK_THROWS_WITH(synthesize_inputs(net.b.g, {2, 6, 6}, o), doctest::Contains("--synth-smoothness"));
  o.smoothness = 0.0f;
  CHECK_THROWS_WITH(synthesize_inputs(net.b.g, {2, 6}, o), doctest::Contains("[C, H, W]"));
  testing::GraphBuilder nb;  // no batch norm
  const ValueId x = nb.input("input", {1, 2, 6, 6});
  nb.output(nb.unary(OpKind::Relu, "r", nb.conv("c", x, 3, 2, 3, 1, true)));
  infer_shapes(nb.g, {1, 2, 6, 6});
  CHECK_THROWS_WITH(synthesize_inputs(nb.g, {2, 6, 6}, o), doctest::Contains("no batch-norm layer"));
}
