// The DFQ weight-transform stages alone (pipeline/transform_stage.h) on the BN stage model: the
// equalized model's FP output, and the empirical bias correction's result measured here, layer by
// layer, over the samples.
#include <doctest/doctest.h>

#include <cmath>

#include "backends/backend.h"
#include "exec/executor.h"
#include "pipeline/observe.h"
#include "pipeline/simulation.h"
#include "pipeline/transform_stage.h"
#include "stage_fixture.h"

using namespace mqcalib;
using namespace mqcalib::testing;

namespace {

constexpr double kFpRelTol = 2e-5;         // equalization only reorders float roundings
constexpr double kMeanErrorAbsTol = 2e-5;  // a corrected layer's mean output error (float sums of O(1))

FoldedModel folded_bn_model() {
  FoldedModel m;
  m.graph = bn_stage_model();
  m.weight_stats = weight_stats(m.graph);
  return m;
}

QuantState three_bit_weights(const Graph& g, QuantPlan& plan) {
  BackendOverrides ov;
  ov.w_bits = 3;
  plan = plan_quantization(g, resolve_backend(find_backend("tensorrt"), ov).profile, {});
  QuantState st;
  st.weights = observe_weights(g, plan, ObserverChoice{"minmax", {}});
  return st;
}

// Per-channel mean of every layer output of `g` over the store, indexed by value id.
std::vector<std::vector<double>> layer_means(const Graph& g, const SampleStore& store) {
  std::vector<std::vector<double>> sums(g.values().size());
  std::vector<double> count(g.values().size(), 0.0);
  std::vector<bool> layer_out(g.values().size(), false);
  for (const Node& n : g.nodes())
    if (n.kind == OpKind::Conv2d || n.kind == OpKind::Linear) layer_out[static_cast<size_t>(n.outputs[0])] = true;
  const Executor ex(g);
  const BatchSource b = store.batches(store.batch());
  TensorF32 x;
  for (int64_t i = 0; b(i, x); ++i)
    ex.run({x}, [&](ValueId v, TensorF32& t) {
      const size_t k = static_cast<size_t>(v);
      if (!layer_out[k]) return;
      const int64_t n = t.dim(0), c = t.dim(1), inner = t.size() / (n * c);
      sums[k].resize(static_cast<size_t>(c), 0.0);
      for (int64_t s = 0; s < n; ++s)
        for (int64_t ch = 0; ch < c; ++ch)
          for (int64_t j = 0; j < inner; ++j) sums[k][static_cast<size_t>(ch)] += t[(s * c + ch) * inner + j];
      count[k] += static_cast<double>(n * inner);
    });
  for (size_t k = 0; k < sums.size(); ++k)
    for (double& s : sums[k]) s /= count[k];
  return sums;
}

double max_mean_error(const Graph& fp, const Graph& q, const SampleStore& store) {
  const auto a = layer_means(fp, store), b = layer_means(q, store);
  double m = 0.0;
  for (size_t k = 0; k < a.size(); ++k)
    for (size_t c = 0; c < a[k].size(); ++c) m = std::max(m, std::fabs(a[k][c] - b[k][c]));
  return m;
}

}  // namespace

TEST_CASE("equalize_model: FP output unchanged (relu6 read as relu), weight statistics recomputed") {
  const FoldedModel folded = folded_bn_model();
  TransformOptions o;
  o.equalize = true;
  TransformReport rep;
  const FoldedModel eq = equalize_model(folded, o, rep);
  CHECK(rep.equalization.pairs.size() == 2);  // c1 -> dw (relu), dw -> pw (relu6, replaced)
  CHECK(rep.equalization.relu6_replaced == std::vector<std::string>{"r2"});
  Graph relu_ref = folded.graph;
  for (Node& n : relu_ref.nodes())
    if (n.name == "r2") n.kind = OpKind::Relu;
  const TensorF32 x = stage_samples(8);
  const TensorF32 y0 = Executor(relu_ref).run({x})[0], y1 = Executor(eq.graph).run({x})[0];
  double d = 0.0, m = 0.0;
  for (int64_t i = 0; i < y0.size(); ++i)
    d = std::max(d, double(std::fabs(y0[i] - y1[i]))), m = std::max(m, double(std::fabs(y0[i])));
  CHECK(d <= kFpRelTol * m);
  const std::vector<WeightStats> ws = weight_stats(eq.graph);
  REQUIRE(ws.size() == eq.weight_stats.size());
  CHECK(ws[0].channel_range_spread == eq.weight_stats[0].channel_range_spread);
  CHECK(eq.weight_stats[0].channel_range_spread < folded.weight_stats[0].channel_range_spread);
  TransformReport none;
  const FoldedModel same = equalize_model(folded, TransformOptions{}, none);
  CHECK(same.graph.nodes()[0].params.weight.vec() == folded.graph.nodes()[0].params.weight.vec());
  CHECK(none.equalization.pairs.empty());
}

TEST_CASE("empirical bias correction: every layer's mean output error on the samples is removed") {
  const SampleStore store = stage_store(40, 16);
  Graph g = bn_stage_model();
  const Graph fp = g;
  QuantPlan plan;
  const QuantState st = three_bit_weights(g, plan);
  const double before = max_mean_error(fp, with_quantized_weights(fp, st), store);
  CHECK(before > 1e-3);  // 3-bit weights: a visible mean shift to remove
  const std::vector<BiasCorrection> rep = correct_biases_empirical(g, st, store);
  REQUIRE(rep.size() == st.weights.size());
  for (const BiasCorrection& b : rep) CHECK(b.skipped.empty());
  CHECK(max_mean_error(fp, with_quantized_weights(g, st), store) <= kMeanErrorAbsTol);
  // The corrected biases are the FP biases minus the reported shifts.
  for (size_t k = 0; k < rep.size(); ++k) {
    const Node& n0 = fp.find_node(rep[k].layer);
    const Node& n1 = g.find_node(rep[k].layer);
    for (size_t c = 0; c < rep[k].shift.size(); ++c)
      CHECK(double(n1.params.bias[static_cast<int64_t>(c)]) ==
            doctest::Approx(double(n0.params.bias[static_cast<int64_t>(c)]) - rep[k].shift[c]).epsilon(1e-6));
  }
}

TEST_CASE("analytic bias correction: every layer but the first (its input mean is unknown)") {
  Graph g = bn_stage_model();
  const Graph fp = g;
  QuantPlan plan;
  const QuantState st = three_bit_weights(g, plan);
  const std::vector<BiasCorrection> rep =
      correct_biases_analytic(g, st, {InputRange{g.inputs()[0], {-2.0f}, {2.0f}}}, 6.0);
  REQUIRE(rep.size() == 4);
  CHECK(rep[0].layer == "c1");
  CHECK(rep[0].skipped.find("unknown") != std::string::npos);
  CHECK(g.find_node("c1").params.bias.vec() == fp.find_node("c1").params.bias.vec());
  for (size_t k = 1; k < rep.size(); ++k) {
    CAPTURE(rep[k].layer);
    CHECK(rep[k].skipped.empty());
    CHECK(g.find_node(rep[k].layer).params.bias.vec() != fp.find_node(rep[k].layer).params.bias.vec());
  }
}
