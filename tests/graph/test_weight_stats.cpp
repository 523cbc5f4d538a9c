// Weight statistics vs values computed by hand (codes worked out on paper / numpy, no tie cases).
#include <doctest/doctest.h>

#include <cmath>

#include "graph/weight_stats.h"
#include "graph_builder.h"

using namespace mqcalib;

namespace {

constexpr double kStatTol = 1e-6;   // float inputs, double sums
constexpr double kSqnrTolDb = 1e-3; // dequantization in float vs the hand value in double

const std::vector<float> kW = {0.9f, -2.0f, 0.45f, 0.3f, 0.11f, 0.2f, -0.15f, 0.06f};  // [2, 4]

// SQNR from hand-chosen integer codes and per-row scales (amax / qmax, in float as the scheme says).
double sqnr_from_codes(const std::vector<int>& q, float s0, float s1) {
  double sig = 0.0, noi = 0.0;
  for (size_t i = 0; i < kW.size(); ++i) {
    const double s = static_cast<double>(i < 4 ? s0 : s1);
    const double w = static_cast<double>(kW[i]);
    const double e = w - s * q[i];
    sig += w * w;
    noi += e * e;
  }
  return 10.0 * std::log10(sig / noi);
}

}  // namespace

TEST_CASE("weight_stats: a 2x4 linear weight against hand-computed statistics and SQNR") {
  Node n;
  n.kind = OpKind::Linear;
  n.name = "fc";
  n.params.weight = TensorF32(Shape{2, 4}, kW);
  const WeightStats st = weight_stats_of(n);
  CHECK(st.node == "fc");
  CHECK(st.min == -2.0f);
  CHECK(st.max == 0.9f);
  CHECK(st.absmax == 2.0f);
  // mean = -0.13 / 8; sum w^2 = 5.1807; var = 5.1807/8 - mean^2
  const double mean = -0.13 / 8.0;
  const double std_hand = std::sqrt(5.1807 / 8.0 - mean * mean);
  CHECK(st.std == doctest::Approx(std_hand).epsilon(kStatTol));
  CHECK(st.absmax_over_std == doctest::Approx(2.0 / std_hand).epsilon(kStatTol));
  REQUIRE(st.channel_min.size() == 2);
  CHECK(st.channel_min[0] == -2.0f);
  CHECK(st.channel_max[0] == 0.9f);
  CHECK(st.channel_min[1] == -0.15f);
  CHECK(st.channel_max[1] == 0.2f);
  // ranges 2.9 and 0.35: median 1.625, spread 2.9 / 1.625
  CHECK(st.channel_range_spread == doctest::Approx(2.9 / 1.625).epsilon(kStatTol));

  // int8 per-tensor: scale 2/127; w/s = 57.15 -127 28.57 19.05 | 6.98 12.7 -9.53 3.81
  const float s8 = 2.0f / 127.0f;
  CHECK(st.sqnr_per_tensor_8 == doctest::Approx(sqnr_from_codes({57, -127, 29, 19, 7, 13, -10, 4}, s8, s8)).epsilon(kSqnrTolDb));
  // int8 per-channel: row 1 scale 0.2/127; w/s = 69.85 127 -95.25 38.1
  const float s8b = 0.2f / 127.0f;
  CHECK(st.sqnr_per_channel_8 ==
        doctest::Approx(sqnr_from_codes({57, -127, 29, 19, 70, 127, -95, 38}, s8, s8b)).epsilon(kSqnrTolDb));
  // int4 per-tensor: scale 2/7; w/s = 3.15 -7 1.575 1.05 | 0.385 0.7 -0.525 0.21
  const float s4 = 2.0f / 7.0f;
  CHECK(st.sqnr_per_tensor_4 == doctest::Approx(sqnr_from_codes({3, -7, 2, 1, 0, 1, -1, 0}, s4, s4)).epsilon(kSqnrTolDb));
  // int4 per-channel: row 1 scale 0.2/7; w/s = 3.85 7 -5.25 2.1
  const float s4b = 0.2f / 7.0f;
  CHECK(st.sqnr_per_channel_4 ==
        doctest::Approx(sqnr_from_codes({3, -7, 2, 1, 4, 7, -5, 2}, s4, s4b)).epsilon(kSqnrTolDb));
  CHECK(st.sqnr_per_channel_8 > st.sqnr_per_tensor_8);
}

TEST_CASE("weight_stats: one entry per conv/linear in node order; a weightless layer is an error") {
  mqcalib::testing::GraphBuilder b;
  ValueId x = b.input("input", {1, 3, 8, 8});
  ValueId c = b.conv("conv", x, 4, 3);
  ValueId r = b.unary(OpKind::Relu, "relu", c);
  ValueId f = b.op(OpKind::Flatten, "flatten", {r});
  ValueId l = b.linear("fc", f, 10, 256);
  b.output(l);
  const std::vector<WeightStats> all = weight_stats(b.g);
  REQUIRE(all.size() == 2);
  CHECK(all[0].node == "conv");
  CHECK(all[0].channel_min.size() == 4);
  CHECK(all[1].node == "fc");
  Node bad;
  bad.kind = OpKind::Conv2d;
  bad.name = "empty_conv";
  CHECK_THROWS_WITH_AS(weight_stats_of(bad), doctest::Contains("empty_conv"), Error);
}
