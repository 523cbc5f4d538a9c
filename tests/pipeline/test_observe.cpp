// The observe and choose-params stages alone, against references computed here: per-channel min/max of
// the weights, the executor's own activations over the store, concat groups, int32 biases.
#include <doctest/doctest.h>
#include <omp.h>

#include <algorithm>
#include <thread>

#include "backends/backend.h"
#include "core/bias_i32.h"
#include "exec/executor.h"
#include "pipeline/observe.h"
#include "pipeline/simulation.h"
#include "stage_fixture.h"

using namespace mqcalib;
using namespace mqcalib::testing;

namespace {

const BackendProfile& trt() { return find_backend("tensorrt"); }

// min/max of value `v` over every sample of the store, run through `g` (the reference for minmax).
std::pair<float, float> value_minmax(const Graph& g, ValueId v, const SampleStore& s) {
  float lo = 1e30f, hi = -1e30f;
  const Executor ex(g);
  const BatchSource b = s.batches(s.batch());
  TensorF32 x;
  for (int64_t i = 0; b(i, x); ++i)
    ex.run({x}, [&](ValueId id, TensorF32& t) {
      if (id != v) return;
      lo = std::min(lo, *std::min_element(t.vec().begin(), t.vec().end()));
      hi = std::max(hi, *std::max_element(t.vec().begin(), t.vec().end()));
    });
  return {lo, hi};
}

// `g` with its weights quantized from their min-max ranges: what observe_activations receives.
Graph minmax_weight_quantized(const Graph& g, const QuantPlan& plan) {
  QuantState st;
  st.weights = observe_weights(g, plan, ObserverChoice{"minmax", {}});
  return with_quantized_weights(g, st);
}

}  // namespace

TEST_CASE("observe_weights: one record per planned weight, minmax per channel, choose_qparams of it") {
  const Graph g = stage_model();
  const QuantPlan plan = plan_quantization(g, trt(), {});
  const std::vector<WeightQuant> w = observe_weights(g, plan, ObserverChoice{"minmax", {}});
  REQUIRE(w.size() == 3);
  for (size_t k = 0; k < w.size(); ++k) {
    CAPTURE(w[k].point.layer);
    CHECK(w[k].point.tensor == plan.weights[k].tensor);
    const TensorF32& wt = g.nodes().at(w[k].point.node).params.weight;
    const int64_t oc = wt.dim(0), per = wt.size() / oc;
    REQUIRE(w[k].range.size() == static_cast<size_t>(oc));
    for (int64_t c = 0; c < oc; ++c) {
      const auto mm = std::minmax_element(wt.data() + c * per, wt.data() + (c + 1) * per);
      CHECK(w[k].range.min[static_cast<size_t>(c)] == *mm.first);
      CHECK(w[k].range.max[static_cast<size_t>(c)] == *mm.second);
    }
    CHECK(w[k].params.scale == choose_qparams(w[k].point.scheme, w[k].range, w[k].point.tensor).scale);
    CHECK(w[k].codes.empty());
  }
  CHECK_THROWS_WITH(observe_weights(g, plan, ObserverChoice{"nosuch", {}}), doctest::Contains("nosuch"));
}

TEST_CASE("observe_activations: ranges over every stored sample of the weight-quantized model") {
  const Graph g = stage_model();
  const QuantPlan plan = plan_quantization(g, trt(), {});
  const Graph wq = minmax_weight_quantized(g, plan);
  const SampleStore store = stage_store(50, 16);
  const std::vector<ActQuant> acts = observe_activations(wq, plan, store, ObserverChoice{"minmax", {}});
  REQUIRE(acts.size() == plan.activations.size());
  for (size_t k = 0; k < acts.size(); ++k) {
    CAPTURE(acts[k].point.tensor);
    const auto [lo, hi] = value_minmax(wq, acts[k].point.value, store);
    CHECK(acts[k].range.min[0] == lo);
    CHECK(acts[k].range.max[0] == hi);
    CHECK(acts[k].params.scale == choose_qparams(acts[k].point.scheme, acts[k].range, "").scale);
  }
  // the graph input is observed with minmax whatever the activation observer
  const std::vector<ActQuant> kl = observe_activations(wq, plan, store, ObserverChoice{"kl", {}});
  const int in = plan.act_index(g.find_value("input"));
  REQUIRE(in >= 0);
  CHECK(kl[static_cast<size_t>(in)].observer == "minmax");
  CHECK(kl[static_cast<size_t>(in)].range.max[0] == acts[static_cast<size_t>(in)].range.max[0]);
}

TEST_CASE("observe_activations: batches and finalizes on several threads give the ranges of one thread") {
  // The batches are observed in contiguous runs on several threads (observers whose in-order merge
  // is exact; aciq's is not, and runs serially) and the points finalized side by side: ranges and
  // report statistics must equal those of one thread, at two and three threads. The progress ends
  // at the store's size, called on this thread only.
  const Graph g = stage_model();
  const QuantPlan plan = plan_quantization(g, trt(), {});
  const Graph wq = minmax_weight_quantized(g, plan);
  const SampleStore store = stage_store(50, 16);
  for (const char* name : {"kl", "percentile", "mse", "minmax", "ema", "aciq"}) {
    CAPTURE(name);
    omp_set_num_threads(1);
    const std::vector<ActQuant> one = observe_activations(wq, plan, store, ObserverChoice{name, {}});
    for (int threads : {2, 3}) {
      CAPTURE(threads);
      omp_set_num_threads(threads);
      int64_t last = 0;
      const std::thread::id caller = std::this_thread::get_id();
      bool same_thread = true;
      const ProgressFn progress = [&](const std::string&, int64_t done, int64_t) {
        CHECK(done > last);
        last = done;
        same_thread = same_thread && std::this_thread::get_id() == caller;
      };
      const std::vector<ActQuant> many = observe_activations(wq, plan, store, ObserverChoice{name, {}}, progress);
      CHECK(last == store.size());
      CHECK(same_thread);
      REQUIRE(many.size() == one.size());
      for (size_t k = 0; k < one.size(); ++k) {
        CAPTURE(one[k].point.tensor);
        CHECK(many[k].range.min == one[k].range.min);
        CHECK(many[k].range.max == one[k].range.max);
        CHECK(many[k].params.scale == one[k].params.scale);
        CHECK(many[k].stats.rms == one[k].stats.rms);
      }
    }
  }
  omp_set_num_threads(2);
}

TEST_CASE("choose_activation_params: a shared-scale group takes the union of its members, learned steps stay") {
  std::vector<ActQuant> acts(3);
  for (ActQuant& a : acts) a.point.scheme = trt().activation;
  acts[0].range = Range{{-1.0f}, {2.0f}};
  acts[1].range = Range{{-4.0f}, {1.0f}};
  acts[2].range = Range{{-0.5f}, {0.5f}};
  acts[0].point.group = acts[1].point.group = 7;
  acts[2].learned = true;
  acts[2].params = choose_qparams(trt().activation, Range{{-8.0f}, {8.0f}}, "x");
  choose_activation_params(acts);
  const QParams u = choose_qparams(trt().activation, Range{{-4.0f}, {2.0f}}, "u");
  CHECK(acts[0].params.scale == u.scale);
  CHECK(acts[1].params.scale == u.scale);
  CHECK(acts[2].params.scale[0] == 8.0f / 127.0f);
}

TEST_CASE("quantize_biases: int32 grid of s_in * s_w with the backend's tie rule, skipped layers get none") {
  const Graph g = stage_model();
  for (const char* be : {"tensorrt", "ncnn"}) {
    CAPTURE(be);
    const BackendProfile& b = find_backend(be);
    LayerPolicy skip_fc;
    skip_fc.skip = {"fc"};
    const QuantPlan plan = plan_quantization(g, b, skip_fc);
    QuantState st;
    st.weights = observe_weights(g, plan, ObserverChoice{"minmax", {}});
    st.activations =
        observe_activations(with_quantized_weights(g, st), plan, stage_store(20), ObserverChoice{"minmax", {}});
    quantize_biases(st, g, plan, b.weight.rounding);
    REQUIRE(st.weights.size() == 2);  // fc skipped: no weight point at all
    for (const WeightQuant& w : st.weights) {
      const float s_in = st.activations.at(static_cast<size_t>(plan.act_index(w.point.input))).params.scale[0];
      const QParams ref =
          bias_qparams_i32(s_in, w.params, g.nodes().at(w.point.node).params.bias.size(), b.weight.rounding);
      CHECK(w.bias.scale == ref.scale);
      CHECK(w.bias.rounding == b.weight.rounding);
    }
  }
}
