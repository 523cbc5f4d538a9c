// The sensitivity stage (pipeline/sensitivity.h) on the small stage model, against a reference built
// from the other stages: a plan with every other layer skipped, observed and simulated as quantize does.
#include <doctest/doctest.h>

#include <cmath>

#include "backends/backend.h"
#include "exec/executor.h"
#include "pipeline/observe.h"
#include "pipeline/record_stage.h"
#include "pipeline/sensitivity.h"
#include "pipeline/simulation.h"
#include "stage_fixture.h"

using namespace mqcalib;
using namespace mqcalib::testing;

namespace {

constexpr double kMetricTol = 1e-9;  // relative: same logits, sums in a different order

const BackendProfile& academic() { return find_backend("academic"); }  // only conv/linear inputs quantized

struct Reference {
  double nsr = 0, kl = 0;
};

// Layer `layer` alone at W w A a through the ordinary stages: skip every other layer, observe, record,
// simulate, compare the logits on the first `n` samples.
Reference reference(const Graph& g, const SampleStore& store, const std::string& layer, int w, int a, int64_t n) {
  LayerPolicy pol;
  for (size_t idx : weighted_layers(g))
    if (g.nodes()[idx].name != layer) pol.skip.insert(g.nodes()[idx].name);
  pol.layer_bits[layer] = w;
  pol.layer_a_bits[layer] = a;
  const QuantPlan plan = plan_quantization(g, academic(), pol);
  QuantState st;
  st.weights = observe_weights(g, plan, ObserverChoice{"minmax", {}});
  st.activations = observe_activations(with_quantized_weights(g, st), plan, store, ObserverChoice{"minmax", {}});
  for (WeightQuant& q : st.weights) q.bias = QParams{};  // biases stay FP32, as in the sensitivity stage
  const Simulation sim = build_simulation(g, make_record(g, plan, st, Provenance{}));
  const Executor fp(g), q(sim.graph);
  const ValueHook hook = sim.activations.hook();
  const BatchSource first = store.first(n, store.batch());
  double sig = 0, noise = 0, kl = 0;
  int64_t count = 0;
  TensorF32 x;
  for (int64_t i = 0; first(i, x); ++i) {
    const TensorF32 z = fp.run({x}).at(0), zq = q.run({x}, hook).at(0);
    for (int64_t r = 0; r < z.dim(0); ++r, ++count) {
      double sz = 0, sq = 0;
      for (int64_t k = 0; k < z.dim(1); ++k) {
        const double d = static_cast<double>(z[r * z.dim(1) + k]) - static_cast<double>(zq[r * z.dim(1) + k]);
        sig += static_cast<double>(z[r * z.dim(1) + k]) * z[r * z.dim(1) + k];
        noise += d * d;
        sz += std::exp(static_cast<double>(z[r * z.dim(1) + k]));
        sq += std::exp(static_cast<double>(zq[r * z.dim(1) + k]));
      }
      for (int64_t k = 0; k < z.dim(1); ++k) {
        const double p = std::exp(static_cast<double>(z[r * z.dim(1) + k])) / sz;
        const double pq = std::exp(static_cast<double>(zq[r * z.dim(1) + k])) / sq;
        kl += p * std::log(p / pq);
      }
    }
  }
  return {noise / sig, kl / static_cast<double>(count)};
}

}  // namespace

TEST_CASE("sensitivity: each layer alone matches the stages' own simulation of that layer alone") {
  const Graph g = stage_model();
  const SampleStore store = stage_store(40, 16);
  const QuantPlan plan = plan_quantization(g, academic(), {});
  const ObserverChoice mm{"minmax", {}};
  const SensitivityInputs in{g, plan, store, mm, mm};
  SensitivityRequest req;
  req.units = sensitivity_units(g, plan, SensitivityUnit::Layer);
  req.options = {{2, 8}, {4, 4}, {8, 8}};
  req.samples = 24;
  const SensitivityResult r = measure_sensitivity(in, req);
  REQUIRE(req.units.size() == 3);
  REQUIRE(r.rows.size() == 9);
  CHECK(r.samples == 24);
  for (const SensitivityRow& row : r.rows) {
    CAPTURE(row.unit);
    CAPTURE(row.w_bits);
    const Reference ref = reference(g, store, row.unit, row.w_bits, row.a_bits, 24);
    CHECK(row.nsr == doctest::Approx(ref.nsr).epsilon(kMetricTol));
    CHECK(row.kl == doctest::Approx(ref.kl).epsilon(1e-6));
    CHECK(row.sqnr_db == doctest::Approx(-10.0 * std::log10(ref.nsr)).epsilon(kMetricTol));
    CHECK_FALSE(row.top1.has_value());
  }
  for (size_t u = 0; u < 3; ++u) {  // fewer bits, more noise
    CHECK(r.rows[3 * u].nsr > r.rows[3 * u + 2].nsr);
    CHECK(r.rows[3 * u + 1].nsr > r.rows[3 * u + 2].nsr);
  }
}

TEST_CASE("sensitivity: per-unit options, blocks, ranking and top-1 on labelled data") {
  const Graph g = stage_model();
  const SampleStore store = stage_store(40, 16);
  const QuantPlan plan = plan_quantization(g, find_backend("tensorrt"), {});
  const ObserverChoice mm{"minmax", {}};
  const SensitivityInputs in{g, plan, store, mm, mm};
  const std::vector<SensitivityUnitDef> blocks = sensitivity_units(g, plan, SensitivityUnit::Block);
  size_t layers = 0;
  for (const SensitivityUnitDef& b : blocks) layers += b.weights.size();
  CHECK(layers == plan.weights.size());  // every planned layer in exactly one block
  SensitivityRequest req;
  req.units = sensitivity_units(g, plan, SensitivityUnit::Layer);
  req.units[1].options = {{2, 2}};
  req.options = {{8, 8}};
  req.samples = 16;
  // Labels: the FP model's own predictions on the stored samples, so FP top-1 is 100%.
  const TensorF32 x = store.read(0, 32);
  const std::vector<int64_t> labels = argmax_rows(Executor(g).run({x}).at(0));
  const LabeledBatchSource eval = [&](int64_t i, TensorF32& xb, std::vector<int64_t>& y) {
    if (i > 1) return false;
    xb = store.read(16 * i, 16);
    y.assign(labels.begin() + 16 * i, labels.begin() + 16 * (i + 1));
    return true;
  };
  req.eval = &eval;
  req.eval_labels_name = "own";
  const SensitivityResult r = measure_sensitivity(in, req);
  REQUIRE(r.rows.size() == 3);
  CHECK(r.rows[1].w_bits == 2);
  CHECK(r.rows[1].a_bits == 2);
  REQUIRE(r.fp_top1.has_value());
  CHECK(*r.fp_top1 == 100.0);
  CHECK(r.eval_samples == 32);
  for (const SensitivityRow& row : r.rows) CHECK(row.top1.has_value());
  const SensitivityReport rep = sensitivity_report(r, SensitivityUnit::Layer, SensitivityMetric::Nsr);
  REQUIRE(rep.rows.size() == 3);
  CHECK(rep.rows[0].unit == r.rows[1].unit);  // the W2A2 layer is the most sensitive
  for (size_t i = 1; i < rep.rows.size(); ++i) CHECK(rep.rows[i - 1].nsr >= rep.rows[i].nsr);
  CHECK(rep.spearman.has_value());
}

TEST_CASE("spearman_rank_correlation: hand-computed cases") {
  CHECK(spearman_rank_correlation({1, 2, 3, 4}, {1, 3, 2, 4}) == doctest::Approx(0.8));  // 1 - 6*2/(4*15)
  CHECK(spearman_rank_correlation({1, 2, 3}, {30, 20, 10}) == doctest::Approx(-1.0));
  // Ties take average ranks: x ranks (1.5, 1.5, 3), y (1, 2, 3): 1.5 / sqrt(1.5 * 2).
  CHECK(spearman_rank_correlation({1, 1, 2}, {1, 2, 3}) == doctest::Approx(1.5 / std::sqrt(3.0)));
  CHECK(spearman_rank_correlation({5, 5, 5}, {1, 2, 3}) == 0.0);
  CHECK_THROWS(spearman_rank_correlation({1}, {1}));
}

TEST_CASE("sensitivity: options and units are checked") {
  CHECK_THROWS_WITH(parse_sensitivity_unit("row"), doctest::Contains("--unit 'row'"));
  CHECK_THROWS_WITH(parse_sensitivity_metric("mse"), doctest::Contains("--metric 'mse'"));
  const Graph g = stage_model();
  const SampleStore store = stage_store(16, 16);
  const QuantPlan plan = plan_quantization(g, academic(), {});
  const ObserverChoice mm{"minmax", {}};
  SensitivityRequest req;
  req.units = {{"bad", {7}, {}}};
  req.options = {{8, 8}};
  CHECK_THROWS_WITH(measure_sensitivity({g, plan, store, mm, mm}, req), doctest::Contains("'bad'"));
}
