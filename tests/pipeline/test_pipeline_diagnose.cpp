// Issue 16's pipeline stages on the zoo models (torch suite): the bit allocation becomes the plan and
// the record's provenance, within the budget and never worse (in summed sensitivity) than uniform bits;
// --fix-outliers applies the findings' advice to the layers they name and no other.
#include <doctest/doctest.h>

#include <cstdlib>
#include <map>

#include "backends/backend.h"
#include "pipeline/pipeline.h"

using namespace mqcalib;

namespace {

std::string root() {
  const char* r = std::getenv("MQCALIB_SOURCE_ROOT");
  return r ? r : ".";
}
const std::string kData = "/usr/share/datasets/fashion-mnist/";

PipelineConfig config(const std::string& model, const std::string& backend) {
  PipelineConfig c;
  c.model = root() + "/examples/zoo/" + model + ".pt";
  c.backend = find_backend(backend);
  c.w_observer.name = "minmax";
  c.a_observer.name = "kl";
  c.calib.path = kData + "train-images-idx3-ubyte.gz";
  c.calib.preprocess.mean = {0.2860f};
  c.calib.preprocess.std = {0.3530f};
  c.calib_size = 64;
  c.batch_size = 32;
  return c;
}

}  // namespace

TEST_CASE("pipeline: --bits-budget 3.5 sets every layer's bits in the plan and the record, within the budget") {
  PipelineConfig c = config("resnet20", "tensorrt");
  c.mixed.budget = "3.5";  // uniform W3 with conv1 and fc at 8 bits fits (their 784 weights)
  c.mixed.samples = 32;
  c.policy.first_last_8bit = true;
  QuantizationPipeline p(c);
  p.load();
  p.read_samples();
  p.allocate_bits();
  p.plan();
  p.calibrate();
  REQUIRE(p.report().bit_allocation.has_value());
  const BitAllocationReport& a = *p.report().bit_allocation;
  REQUIRE(a.layers.size() == 22);
  CHECK(a.used_bits <= a.budget_bits);
  int64_t elements = 0, used = 0;
  for (const LayerBits& l : a.layers) {
    elements += l.params;
    used += l.params * l.w_bits;
  }
  CHECK(a.budget_bits == static_cast<int64_t>(3.5 * static_cast<double>(elements)));
  CHECK(used == a.used_bits);
  CHECK(a.average_w_bits <= 3.5);
  CHECK(a.layers.front().fixed);  // --first-last-8bit: conv1 and fc stay at 8 bits
  CHECK(a.layers.front().w_bits == 8);
  CHECK(a.layers.back().w_bits == 8);
  const QuantPlan& plan = p.quant_plan();
  std::map<std::string, int> w_bits;
  for (const WeightQuantPoint& w : plan.weights) w_bits[w.layer] = w.scheme.bits;
  for (const LayerBits& l : a.layers) {
    CAPTURE(l.layer);
    CHECK(w_bits.at(l.layer) == l.w_bits);
    if (!l.fixed) {
      CHECK(p.record().provenance.layer_bits.at(l.layer) == l.w_bits);
      CHECK(p.record().provenance.layer_a_bits.at(l.layer) == l.a_bits);
    }
  }
  // The optimum sums no more sensitivity than uniform W3 on the free layers (a feasible choice).
  REQUIRE(p.report().sensitivity.has_value());
  double uniform = 0, chosen = 0;
  for (const LayerBits& l : a.layers) {
    for (const SensitivityRow& r : p.report().sensitivity->rows)
      if (r.unit == l.layer && r.w_bits == (l.fixed ? 8 : 3)) uniform += r.nsr;
    chosen += l.sensitivity;
  }
  CHECK(chosen == doctest::Approx(a.objective));
  CHECK(a.objective <= uniform * (1 + 1e-12));
}

TEST_CASE("pipeline: a budget below the smallest choice is an error naming --bits-budget") {
  PipelineConfig c = config("resnet20", "tensorrt");
  c.mixed.budget = "1.5";
  c.mixed.samples = 16;
  QuantizationPipeline p(c);
  p.load();
  p.read_samples();
  CHECK_THROWS_WITH(p.allocate_bits(), doctest::Contains("--bits-budget '1.5'"));
  c.mixed.budget = "3 bits";
  CHECK_THROWS_WITH(QuantizationPipeline{c}, doctest::Contains("unknown unit"));
}

TEST_CASE("pipeline: --fix-outliers keeps the layers whose weights the findings name in FP32 (snpe, MobileNetV2)") {
  QuantizationPipeline p(config("mobilenetv2", "snpe"));
  p.load();
  p.read_samples();
  p.plan();
  p.calibrate();
  p.analyse();
  const std::vector<OutlierFinding> before = p.report().outliers;
  p.fix_outliers();
  REQUIRE(p.report().outlier_fix.has_value());
  const OutlierFixReport& f = *p.report().outlier_fix;
  size_t fp32 = 0;
  for (const OutlierAction& a : f.actions) {
    CAPTURE(a.layer);
    bool weight_finding = false;
    for (const OutlierFinding& x : before)
      weight_finding = weight_finding || (x.layer == a.layer && x.kind != "activation_heavy_tail");
    CHECK((a.action == "fp32") == weight_finding);  // snpe: per-tensor 8-bit weights
    if (a.action != "fp32") continue;
    ++fp32;
    for (const WeightQuantPoint& w : p.quant_plan().weights) CHECK(w.layer != a.layer);
  }
  CHECK(fp32 >= 1);  // README: features.1.conv.0 is named on snpe
  CHECK(p.quant_plan().weights.size() + fp32 == p.model().weight_stats.size());
  CHECK(f.logits_sqnr_after_db > f.logits_sqnr_before_db);
}
