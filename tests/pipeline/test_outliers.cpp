// The outlier findings (pipeline/outliers.h) on constructed layers, each criterion made to fire by the
// symptom it names and kept quiet on a well-behaved layer; --fix-outliers' actions (outlier_fix.h).
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "backends/backend.h"
#include "calibrators/observer.h"
#include "graph/bn_fold.h"
#include "graph/graph_builder.h"
#include "graph/weight_stats.h"
#include "pipeline/outlier_fix.h"
#include "pipeline/outliers.h"
#include "stage_fixture.h"

using namespace mqcalib;
using namespace mqcalib::testing;

namespace {

const BackendProfile& snpe() { return find_backend("snpe"); }     // per-tensor weights
const BackendProfile& trt() { return find_backend("tensorrt"); }  // per-channel weights
constexpr int64_t kOut = 16, kIn = 8;
constexpr size_t kBigChannel = 5;

bool names(const std::vector<OutlierFinding>& f, const std::string& layer, const std::string& kind) {
  return std::any_of(f.begin(), f.end(), [&](const OutlierFinding& x) { return x.layer == layer && x.kind == kind; });
}

// conv (Gaussian weights, std 0.3) -> BN with unit statistics except channel kBigChannel, whose running
// variance makes the folded scale 50x the others'. Folded, as the pipeline does.
Node folded_conv_with_scaled_channel() {
  GraphBuilder b;
  const ValueId in = b.input("input");
  const ValueId c = b.conv("conv", in, kOut, kIn, 3);
  Params p;
  p.weight = TensorF32({kOut}, std::vector<float>(kOut, 1.0f));
  p.bias = TensorF32({kOut}, std::vector<float>(kOut, 0.0f));
  p.running_mean = TensorF32({kOut}, std::vector<float>(kOut, 0.0f));
  p.running_var = TensorF32({kOut}, std::vector<float>(kOut, 1.0f));
  p.running_var[kBigChannel] = 1.0f / 2500.0f;  // s = 1 / sqrt(var + eps) ~ 50
  b.output(b.op(OpKind::BatchNorm, "bn", {c}, {}, p));
  fold_batchnorm(b.g);
  return b.g.find_node("conv");
}

Node gaussian_conv(const std::string& name, uint32_t seed) {
  GraphBuilder b;
  b.rng.seed(seed);
  const ValueId in = b.input("input");
  b.output(b.conv(name, in, kOut, kIn, 3));
  return b.g.find_node(name);
}

}  // namespace

TEST_CASE("outliers: one channel scaled 50x by BN folding is named by the gap and the channel spread") {
  const Node n = folded_conv_with_scaled_channel();
  const TensorF32& w = n.params.weight;
  const int64_t per = w.size() / kOut;
  // The fold did scale that channel: its range is ~50x the others' (each ~0.3 * 2 * 2.5).
  const auto big = std::minmax_element(w.data() + kBigChannel * per, w.data() + (kBigChannel + 1) * per);
  const auto other = std::minmax_element(w.data(), w.data() + per);
  CHECK((*big.second - *big.first) / (*other.second - *other.first) > 20.0);
  const WeightStats s = weight_stats_of(n);
  const std::vector<OutlierFinding> f = find_weight_outliers({s}, snpe());
  CHECK(names(f, "conv", "weight_per_tensor_gap"));
  CHECK(names(f, "conv", "channel_range_spread"));
  for (const OutlierFinding& x : f) {
    CHECK(x.tensor == "conv.weight");
    CHECK_FALSE(x.explanation.empty());
    CHECK(x.advice.find("per-tensor") != std::string::npos);  // the advice knows the backend's granularity
  }
  CHECK(outlier_channels(s.channel_min, s.channel_max) == std::vector<int64_t>{static_cast<int64_t>(kBigChannel)});
  // On a per-channel backend the finding stays, with the advice that 8 bits need nothing.
  const std::vector<OutlierFinding> pc = find_weight_outliers({s}, trt());
  REQUIRE(names(pc, "conv", "weight_per_tensor_gap"));
  CHECK(pc.front().advice.find("no action needed at 8 bits") != std::string::npos);
}

TEST_CASE("outliers: a per-tensor / per-channel gap is the SQNR difference the criterion names") {
  GraphBuilder b;
  const ValueId in = b.input("input");
  b.output(b.conv("gap", in, kOut, kIn, 3));
  Node n = b.g.find_node("gap");
  const int64_t per = n.params.weight.size() / kOut;
  for (int64_t c = 1; c < kOut; ++c)  // every channel but 0 twenty times narrower
    for (int64_t i = 0; i < per; ++i) n.params.weight[c * per + i] *= 0.05f;
  const double pt = weight_sqnr_db(n.params.weight, 8, Granularity::PerTensor, "w");
  const double pc = weight_sqnr_db(n.params.weight, 8, Granularity::PerChannel, "w");
  REQUIRE(pc - pt > kPerTensorGapDb);
  const std::vector<OutlierFinding> f = find_weight_outliers({weight_stats_of(n)}, snpe());
  REQUIRE(names(f, "gap", "weight_per_tensor_gap"));
  const auto it =
      std::find_if(f.begin(), f.end(), [](const OutlierFinding& x) { return x.kind == "weight_per_tensor_gap"; });
  CHECK(it->value == doctest::Approx(pc - pt));
}

TEST_CASE("outliers: one far weight is named by max/std, a Gaussian layer by nothing") {
  Node n = gaussian_conv("tail", 3);
  const std::vector<OutlierFinding> clean = find_weight_outliers({weight_stats_of(n)}, snpe());
  CHECK(clean.empty());  // the criterion that must not fire: 1152 Gaussian weights
  CHECK(find_weight_outliers({weight_stats_of(n)}, trt()).empty());
  n.params.weight[17] = 0.3f * 40.0f;  // 40 standard deviations
  const std::vector<OutlierFinding> f = find_weight_outliers({weight_stats_of(n)}, trt());
  CHECK(names(f, "tail", "weight_max_over_std"));
}

TEST_CASE("outliers: a heavy-tailed activation is named, clipped by kl or not; a Gaussian one is not") {
  std::mt19937 rng(5);
  std::normal_distribution<float> g(0.0f, 1.0f);
  std::vector<float> gauss(100000), heavy;
  for (float& x : gauss) x = g(rng);
  heavy = gauss;
  for (int k = 0; k < 5; ++k) heavy[static_cast<size_t>(k * 9973)] = (k % 2 ? -150.0f : 150.0f);
  auto stats = [](const std::vector<float>& v, const std::string& obs) {
    ObserverOptions o;
    std::unique_ptr<Observer> ob = ObserverRegistry::instance().create(obs, o);
    ob->observe(ViewF32{v.data(), {static_cast<int64_t>(v.size())}});
    QScheme s;
    const Range r = ob->finalize(s);
    double ss = 0;
    for (float x : v) ss += static_cast<double>(x) * x;
    const auto mm = std::minmax_element(v.begin(), v.end());
    return ActivationStats{"t",      "layer",  *mm.first, *mm.second, std::sqrt(ss / static_cast<double>(v.size())),
                           r.min[0], r.max[0], obs};
  };
  CHECK(find_activation_outliers({stats(gauss, "minmax")}).empty());
  CHECK(find_activation_outliers({stats(gauss, "kl")}).empty());
  for (const char* obs : {"minmax", "kl"}) {
    CAPTURE(obs);
    const std::vector<OutlierFinding> f = find_activation_outliers({stats(heavy, obs)});
    REQUIRE(f.size() == 1);
    CHECK(f[0].kind == "activation_heavy_tail");
    CHECK(f[0].tensor == "t");
    CHECK(f[0].advice.find(std::string(obs) == "minmax" ? "--a-observer" : "minmax") != std::string::npos);
  }
}

TEST_CASE("fix-outliers: FP32 for per-tensor 8-bit weights, 8 bits below 8, nothing per-channel at 8") {
  const Graph g = stage_model();
  const std::vector<OutlierFinding> f = {{"c2", "c2.weight", "channel_range_spread", 12, "", ""},
                                         {"fc", "fc.weight", "weight_max_over_std", 25, "", ""},
                                         {"add", "r1", "activation_heavy_tail", 40, "", ""}};
  const QuantPlan pt = plan_quantization(g, snpe(), {});
  const OutlierFix a = plan_outlier_fix(f, pt, {});
  REQUIRE(a.actions.size() == 2);  // c2 (its weight, and as r1's reader: one action per layer) and fc
  CHECK(a.changed);
  CHECK(a.policy.skip == std::set<std::string>{"c2", "fc"});
  CHECK(a.actions[0].layer == "c2");
  CHECK(a.actions[0].action == "fp32");
  CHECK(a.actions[0].kinds == std::vector<std::string>{"channel_range_spread", "activation_heavy_tail"});
  CHECK(a.actions[1].layer == "fc");
  CHECK(a.actions[1].action == "fp32");
  const OutlierFix c = plan_outlier_fix(f, plan_quantization(g, trt(), {}), {});
  CHECK_FALSE(c.changed);
  for (const OutlierAction& x : c.actions) CHECK(x.action.rfind("none", 0) == 0);
  BackendOverrides ov;
  ov.w_bits = 4;
  ov.a_bits = 4;
  const OutlierFix low = plan_outlier_fix(f, plan_quantization(g, resolve_backend(trt(), ov).profile, {}), {});
  CHECK(low.changed);
  CHECK(low.policy.skip.empty());
  CHECK(low.policy.layer_bits == std::map<std::string, int>{{"c2", 8}, {"fc", 8}});
  // Only the named layers: c1 keeps the backend's bits.
  CHECK(low.policy.layer_bits.count("c1") == 0);
}
