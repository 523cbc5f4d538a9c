// The data-free activation stage (pipeline/bn_range_stage.h): each planned point's range against the BN
// statistics by hand (the input's pixel range, relu after a BN-normal conv), params from the range.
#include <doctest/doctest.h>

#include <algorithm>

#include "backends/backend.h"
#include "core/qscheme.h"
#include "pipeline/bn_range_stage.h"
#include "stage_fixture.h"

using namespace mqcalib;
using namespace mqcalib::testing;

TEST_CASE("bn_range_activations: input pixel range, relu of a BN-normal conv, params from the range") {
  const Graph g = bn_stage_model();
  const QuantPlan plan = plan_quantization(g, find_backend("tensorrt"), {});
  Preprocess pp;
  pp.mean = {0.2860f};
  pp.std = {0.3530f};
  const std::vector<ActQuant> acts = bn_range_activations(g, plan, input_ranges(g, pp), 6.0);
  REQUIRE(acts.size() == plan.activations.size());
  bool saw_input = false, saw_r1 = false;
  for (const ActQuant& a : acts) {
    CAPTURE(a.point.tensor);
    CHECK(a.observer == kBnRangeObserver);
    CHECK(a.params.scale == choose_qparams(a.point.scheme, a.range, a.point.tensor).scale);
    if (a.point.tensor == "input") {
      saw_input = true;
      CHECK(a.range.min[0] == doctest::Approx((0.0f - 0.2860f) / 0.3530f));
      CHECK(a.range.max[0] == doctest::Approx((1.0f - 0.2860f) / 0.3530f));
    }
    if (a.point.tensor == "r1") {  // relu(N(beta, gamma^2)) per channel, union: [0, max(beta + 6|gamma|)]
      saw_r1 = true;
      const BnStats& s = g.find_node("c1").bn_stats;
      float hi = 0.0f;
      for (size_t c = 0; c < s.mean.size(); ++c) hi = std::max(hi, s.mean[c] + 6.0f * s.std[c]);
      CHECK(a.range.min[0] == 0.0f);
      CHECK(a.range.max[0] == doctest::Approx(hi));
    }
  }
  CHECK(saw_input);
  CHECK(saw_r1);
}

TEST_CASE("bn_range_activations: a tensor no rule reaches is an error naming it; preprocessing checks") {
  GraphBuilder b;
  const ValueId in = b.input("input", {1, 2});
  const ValueId other = b.input("other", {1, 2});
  b.output(b.linear("fc", b.binary(OpKind::Add, "add", in, other), 3, 2));
  const QuantPlan plan = plan_quantization(b.g, find_backend("tensorrt"), {});
  std::vector<InputRange> only_input = {InputRange{in, {0.0f}, {1.0f}}};
  CHECK_THROWS_WITH_AS(bn_range_activations(b.g, plan, only_input, 6.0), doctest::Contains("'other'"), Error);
  Preprocess pp;
  pp.mean = {0.1f, 0.2f};
  pp.std = {0.3f, 0.4f, 0.5f};
  CHECK_THROWS_AS(input_ranges(b.g, pp), Error);
  pp.std = {0.5f};
  const std::vector<InputRange> r = input_ranges(b.g, pp);
  REQUIRE(r.size() == 2);
  CHECK(r[0].hi == std::vector<float>{(1.0f - 0.1f) / 0.5f, (1.0f - 0.2f) / 0.5f});
}
