// The analyse and evaluate stages alone on the small model.
#include <doctest/doctest.h>

#include <cmath>

#include "backends/backend.h"
#include "data/dataset.h"
#include "pipeline/analysis.h"
#include "pipeline/evaluate.h"
#include "pipeline/observe.h"
#include "pipeline/record_stage.h"
#include "stage_fixture.h"

using namespace mqcalib;
using namespace mqcalib::testing;

namespace {

struct Done {
  Graph g = stage_model();
  QuantPlan plan;
  QuantState st;
  SampleStore store = stage_store(40, 16);
  Simulation sim;
  explicit Done(int bits) {
    BackendOverrides ov;
    ov.w_bits = bits;
    ov.a_bits = bits;
    plan = plan_quantization(g, resolve_backend(find_backend("tensorrt"), ov).profile, {});
    st.weights = observe_weights(g, plan, ObserverChoice{"minmax", {}});
    st.activations = observe_activations(with_quantized_weights(g, st), plan, store, ObserverChoice{"minmax", {}});
    quantize_biases(st, g, plan, Rounding::HalfToEven);
    sim = build_simulation(g, make_record(g, plan, st, Provenance()));
  }
};

}  // namespace

TEST_CASE("analyse: per-layer weight SQNR against the FP weight, input SQNR per point, more bits more dB") {
  Done lo(4), hi(8);
  const Analysis a4 = analyse(lo.g, lo.plan, lo.st, lo.sim, lo.store, weight_stats(lo.g), find_backend("tensorrt"));
  const Analysis a8 = analyse(hi.g, hi.plan, hi.st, hi.sim, hi.store, weight_stats(hi.g), find_backend("tensorrt"));
  REQUIRE(a4.layers.size() == 3);
  REQUIRE(a4.activations.size() == lo.st.activations.size());
  for (size_t k = 0; k < 3; ++k) {
    CAPTURE(a4.layers[k].layer);
    const TensorF32& fw = lo.g.nodes().at(lo.st.weights[k].point.node).params.weight;
    const TensorF32& qw = lo.sim.graph.nodes().at(lo.st.weights[k].point.node).params.weight;
    CHECK(a4.layers[k].weight_sqnr_db == sqnr_db(fw.data(), qw.data(), fw.size()));
    CHECK(a8.layers[k].weight_sqnr_db > a4.layers[k].weight_sqnr_db + 12.0);  // ~6 dB per bit
    CHECK(a8.layers[k].input_sqnr_db >= a4.layers[k].input_sqnr_db);          // fc's input f = flatten(r2) re-quantizes
                                                                      // an already quantized tensor: exact (+inf)
    CHECK(a4.layers[k].w_bits == 4);
  }
  for (const ActivationReport& r : a8.activations) {
    CAPTURE(r.tensor);
    CHECK(r.sqnr_db > 25.0);  // 8-bit min-max on smooth data (+inf where the tensor was already quantized)
    CHECK(r.clip_max >= r.observed_max - 1e-6f);  // minmax keeps the whole range
  }
}

namespace {

// Labels for the stage model: the FP model's own predictions (so FP top-1 is 100%), one replaced.
struct Labelled : Dataset {
  TensorF32 x = stage_samples(24);
  int64_t size() const override { return 24; }
  Shape sample_shape() const override { return {1, 6, 6}; }
  void load(int64_t i, float* out) const override { std::copy(x.data() + i * 36, x.data() + (i + 1) * 36, out); }
  std::string description() const override { return "labelled"; }
};

}  // namespace

TEST_CASE(
    "evaluate: FP predictions as labels give 100% FP top-1; agreement counts; labels beyond the classes are errors") {
  Done d(8);
  const Labelled ds;
  std::vector<int64_t> labels = argmax_rows(Executor(d.g).run({ds.x}).at(0));
  const EvalResult r = evaluate_top1(d.g, d.sim, labeled_batches(ds, labels, 0, 10), "labels");
  CHECK(r.samples == 24);
  CHECK(r.fp_correct == 24);
  CHECK(r.agree == r.q_correct);  // labels are the FP predictions
  CHECK(evaluate_top1(d.g, d.sim, labeled_batches(ds, labels, 7, 4), "labels").samples == 7);
  // FP alone (no simulation): the same FP count, quantized = FP
  std::vector<int64_t> shifted = labels;
  for (size_t k = 0; k < shifted.size(); k += 3) shifted[k] = (shifted[k] + 1) % 5;
  const EvalResult both = evaluate_top1(d.g, d.sim, labeled_batches(ds, shifted, 0, 10), "labels");
  const EvalResult fp = evaluate_top1(d.g, nullptr, labeled_batches(ds, shifted, 0, 10), "labels");
  CHECK(fp.fp_correct == both.fp_correct);
  CHECK(fp.fp_correct == 16);  // 8 of the 24 labels moved off the FP prediction
  CHECK(fp.q_correct == fp.fp_correct);
  labels[13] = 5;  // the model has classes 0..4
  CHECK_THROWS_WITH(evaluate_top1(d.g, d.sim, labeled_batches(ds, labels, 0, 10), "labels.txt"),
                    doctest::Contains("sample 13 has label 5"));
}
