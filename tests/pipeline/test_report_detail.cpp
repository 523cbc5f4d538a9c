// The report's detail data (pipeline/report_detail.h) on the small stage model: histograms against
// counts made here, every observer's range, the minmax one equal to the scanned range, channel ranges.
#include <doctest/doctest.h>

#include <algorithm>

#include "backends/backend.h"
#include "exec/executor.h"
#include "pipeline/observe.h"
#include "pipeline/record_stage.h"
#include "pipeline/report_detail.h"
#include "stage_fixture.h"

using namespace mqcalib;
using namespace mqcalib::testing;

TEST_CASE("histogram_f32: hand-counted bins, ends and a constant tensor") {
  const std::vector<float> x = {0.0f, 0.1f, 0.25f, 0.5f, 0.74f, 0.99f, 1.0f, -3.0f, 7.0f};
  std::vector<int64_t> c(4, 0);
  histogram_f32(x.data(), static_cast<int64_t>(x.size()), 0.0f, 1.0f, c);
  // [0, .25): 0, .1, -3 (clamped); [.25, .5): .25; [.5, .75): .5, .74; [.75, 1]: .99, 1.0, 7 (clamped)
  CHECK(c == std::vector<int64_t>{3, 1, 2, 3});
  std::vector<int64_t> d(3, 0);
  histogram_f32(x.data(), 4, 2.0f, 2.0f, d);
  CHECK(d == std::vector<int64_t>{4, 0, 0});
}

TEST_CASE("report_detail: histograms of what the observer saw, every observer's range, channel ranges") {
  const Graph g = stage_model();
  const SampleStore store = stage_store(40, 16);
  const QuantPlan plan = plan_quantization(g, find_backend("tensorrt"), {});
  QuantState st;
  st.weights = observe_weights(g, plan, ObserverChoice{"minmax", {}});
  st.activations = observe_activations(with_quantized_weights(g, st), plan, store, ObserverChoice{"kl", {}});
  quantize_biases(st, g, plan, Rounding::HalfToEven);
  const Simulation sim = build_simulation(g, make_record(g, plan, st, Provenance{}));
  const ReportDetail d = report_detail(sim, plan, st, store, weight_stats(g), ObserverChoice{"kl", {}});
  REQUIRE(d.histograms.size() == plan.activations.size());
  // Reference: the values of each point over the (40 < kDetailSamples) samples, run here.
  std::vector<std::vector<float>> seen(plan.activations.size());
  const Executor ex(sim.graph);
  for (int64_t b = 0; b < 40; b += 16)
    ex.run({store.read(b, std::min<int64_t>(16, 40 - b))}, [&](ValueId v, TensorF32& t) {
      const int k = plan.act_index(v);
      if (k >= 0)
        seen[static_cast<size_t>(k)].insert(seen[static_cast<size_t>(k)].end(), t.vec().begin(), t.vec().end());
    });
  const std::vector<std::string> names = ObserverRegistry::instance().names();
  for (size_t k = 0; k < d.histograms.size(); ++k) {
    const ActivationHistogram& h = d.histograms[k];
    CAPTURE(h.tensor);
    CHECK(h.tensor == plan.activations[k].tensor);
    CHECK(h.samples == 40);
    const auto mm = std::minmax_element(seen[k].begin(), seen[k].end());
    CHECK(h.lo == *mm.first);
    CHECK(h.hi == *mm.second);
    std::vector<int64_t> ref(kHistogramBins, 0);
    histogram_f32(seen[k].data(), static_cast<int64_t>(seen[k].size()), h.lo, h.hi, ref);
    CHECK(h.counts == ref);
    CHECK(h.observer == st.activations[k].observer);
    CHECK(h.clip_max == st.activations[k].range.max[0]);
    REQUIRE(h.alternatives.size() == names.size());
    for (size_t o = 0; o < names.size(); ++o) CHECK(h.alternatives[o].observer == names[o]);
    const auto minmax = std::find_if(h.alternatives.begin(), h.alternatives.end(),
                                     [](const ObserverRange& r) { return r.observer == "minmax"; });
    REQUIRE(minmax != h.alternatives.end());
    CHECK(minmax->max == h.hi);  // min-max keeps the observed range (min clamped to <= 0 by nothing here)
  }
  REQUIRE(d.channel_ranges.size() == plan.weights.size());
  for (size_t k = 0; k < plan.weights.size(); ++k) {
    const TensorF32& w = g.nodes().at(plan.weights[k].node).params.weight;
    const int64_t per = w.size() / w.dim(0);
    REQUIRE(d.channel_ranges[k].min.size() == static_cast<size_t>(w.dim(0)));
    for (int64_t c = 0; c < w.dim(0); ++c)
      CHECK(d.channel_ranges[k].max[static_cast<size_t>(c)] ==
            *std::max_element(w.data() + c * per, w.data() + (c + 1) * per));
    CHECK(d.channel_ranges[k].per_channel);  // tensorrt
  }
}

TEST_CASE("logits_sqnr_db: more bits, more dB") {
  const Graph g = stage_model();
  const SampleStore store = stage_store(32, 16);
  auto sqnr = [&](int bits) {
    BackendOverrides ov;
    ov.w_bits = bits;
    ov.a_bits = bits;
    const QuantPlan plan = plan_quantization(g, resolve_backend(find_backend("tensorrt"), ov).profile, {});
    QuantState st;
    st.weights = observe_weights(g, plan, ObserverChoice{"minmax", {}});
    st.activations = observe_activations(with_quantized_weights(g, st), plan, store, ObserverChoice{"minmax", {}});
    quantize_biases(st, g, plan, Rounding::HalfToEven);
    return logits_sqnr_db(g, build_simulation(g, make_record(g, plan, st, Provenance{})), store, 32);
  };
  const double s4 = sqnr(4), s8 = sqnr(8);
  CHECK(s8 > s4 + 12.0);
  CHECK(s4 > 0.0);
}
