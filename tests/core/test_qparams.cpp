// Tests of QScheme grid bounds / validation and choose_qparams against hand-computed values
// (REFERENCE.md section 1).
#include <doctest/doctest.h>

#include <cmath>
#include <limits>

#include "core/qscheme.h"

using namespace mqcalib;

namespace {
QScheme make(int bits, Signedness sg, Symmetry sy, bool narrow = false, bool rr = false) {
  QScheme s;
  s.bits = bits;
  s.signedness = sg;
  s.symmetry = sy;
  s.narrow_range = narrow;
  s.reduce_range = rr;
  return s;
}
Range r1(float mn, float mx) { return Range{{mn}, {mx}}; }
// Relative tolerance for scales that the test writes as decimal literals (float32 rounding of the
// observed range and of the result: a few ulps).
constexpr double kScaleRelTol = 1e-6;
}  // namespace

TEST_CASE("qscheme: qmin/qmax for signed, unsigned, narrow, reduce_range") {
  using S = Signedness;
  using Y = Symmetry;
  CHECK(make(8, S::Unsigned, Y::Asymmetric).qmin() == 0);
  CHECK(make(8, S::Unsigned, Y::Asymmetric).qmax() == 255);
  CHECK(make(8, S::Signed, Y::Symmetric).qmin() == -128);
  CHECK(make(8, S::Signed, Y::Symmetric).qmax() == 127);
  CHECK(make(8, S::Signed, Y::Symmetric, true).qmin() == -127);
  CHECK(make(8, S::Signed, Y::Symmetric, true).qmax() == 127);
  // reduce_range halves the grid: uint8 -> [0,127] (FBGEMM), int8 -> [-64,63] (OpenVINO, MQBench).
  CHECK(make(8, S::Unsigned, Y::Asymmetric, false, true).qmin() == 0);
  CHECK(make(8, S::Unsigned, Y::Asymmetric, false, true).qmax() == 127);
  CHECK(make(8, S::Signed, Y::Symmetric, false, true).qmin() == -64);
  CHECK(make(8, S::Signed, Y::Symmetric, false, true).qmax() == 63);
  CHECK(make(4, S::Signed, Y::Symmetric).qmin() == -8);
  CHECK(make(4, S::Signed, Y::Symmetric).qmax() == 7);
  CHECK(make(2, S::Signed, Y::Symmetric, true).qmin() == -1);
  CHECK(make(2, S::Signed, Y::Symmetric, true).qmax() == 1);
  CHECK(make(16, S::Unsigned, Y::Asymmetric).qmax() == 65535);
  CHECK(make(16, S::Signed, Y::Symmetric).qmin() == -32768);
  for (int b = 2; b <= 16; ++b) {
    CHECK(make(b, S::Unsigned, Y::Asymmetric).qmax() == (1 << b) - 1);
    CHECK(make(b, S::Signed, Y::Symmetric).qmin() == -(1 << (b - 1)));
  }
}

TEST_CASE("qscheme: validate rejects illegal schemes with a message") {
  QScheme s;
  s.bits = 1;
  CHECK_THROWS_WITH_AS(s.validate(), doctest::Contains("outside 2..16"), Error);
  s.bits = 17;
  CHECK_THROWS_AS(s.validate(), Error);
  s = make(8, Signedness::Unsigned, Symmetry::Asymmetric, true);
  CHECK_THROWS_WITH_AS(s.validate(), doctest::Contains("narrow_range"), Error);
  s = make(2, Signedness::Signed, Symmetry::Symmetric, false, true);
  CHECK_THROWS_WITH_AS(s.validate(), doctest::Contains("reduce_range"), Error);
  s = make(8, Signedness::Signed, Symmetry::Symmetric);
  s.granularity = Granularity::PerChannel;
  s.axis = -1;
  CHECK_THROWS_WITH_AS(s.validate(), doctest::Contains("axis"), Error);
  s.axis = 0;
  CHECK_NOTHROW(s.validate());
}

TEST_CASE("qscheme: describe") {
  QScheme s = make(8, Signedness::Signed, Symmetry::Symmetric, true);
  s.granularity = Granularity::PerChannel;
  CHECK(s.describe() == "int8 sym narrow [-127,127] per-channel(axis 0) fp32-scale half-even");
  QScheme u = make(8, Signedness::Unsigned, Symmetry::Asymmetric, false, true);
  u.rounding = Rounding::HalfAwayFromZero;
  CHECK(u.describe() == "uint8 asym reduce-range [0,127] per-tensor fp32-scale half-away");
}

TEST_CASE("choose_qparams: asymmetric uint8 [-1, 3] -> scale 4/255, zp 64") {
  const QParams p = choose_qparams(make(8, Signedness::Unsigned, Symmetry::Asymmetric), r1(-1.0f, 3.0f), "t");
  REQUIRE(p.channels() == 1);
  CHECK(p.scale[0] == static_cast<float>(4.0 / 255.0));
  CHECK(p.zero_point[0] == 64);  // round(0 + 1 / (4/255)) = round(63.75)
  CHECK(p.qmin == 0);
  CHECK(p.qmax == 255);
  CHECK(p.axis == -1);
}

TEST_CASE("choose_qparams: symmetric int8 amax 2.54 -> 0.02 (amax/qmax) and amax/127.5 (PPQ)") {
  QScheme s = make(8, Signedness::Signed, Symmetry::Symmetric);
  QParams p = choose_qparams(s, r1(-2.54f, 1.0f), "t");
  CHECK(std::fabs(p.scale[0] - 0.02) < 0.02 * kScaleRelTol);
  CHECK(p.zero_point[0] == 0);
  s.symmetric_scale = SymmetricScale::TwoAmaxOverRange;
  p = choose_qparams(s, r1(-1.0f, 2.55f), "t");
  CHECK(std::fabs(p.scale[0] - 0.02) < 0.02 * kScaleRelTol);  // 2 * 2.55 / 255
  // narrow: 2 amax / 254 == amax / 127
  s.narrow_range = true;
  p = choose_qparams(s, r1(-2.54f, 0.0f), "t");
  CHECK(std::fabs(p.scale[0] - 0.02) < 0.02 * kScaleRelTol);
}

TEST_CASE("choose_qparams: unsigned symmetric (after ReLU) -> zp 0, scale max/qmax") {
  const QParams p = choose_qparams(make(8, Signedness::Unsigned, Symmetry::Symmetric), r1(0.5f, 5.1f), "t");
  CHECK(std::fabs(p.scale[0] - 0.02) < 0.02 * kScaleRelTol);  // 5.1 / 255
  CHECK(p.zero_point[0] == 0);
}

TEST_CASE("choose_qparams: widening to include 0") {
  // [2, 4] uint8 asym -> [0, 4]: scale 4/255, zp 0.
  QParams p = choose_qparams(make(8, Signedness::Unsigned, Symmetry::Asymmetric), r1(2.0f, 4.0f), "t");
  CHECK(p.scale[0] == static_cast<float>(4.0 / 255.0));
  CHECK(p.zero_point[0] == 0);
  // [-4, -2] int8 asym -> [-4, 0]: scale 4/255, zp = round(-128 + 255) = 127.
  p = choose_qparams(make(8, Signedness::Signed, Symmetry::Asymmetric), r1(-4.0f, -2.0f), "t");
  CHECK(p.scale[0] == static_cast<float>(4.0 / 255.0));
  CHECK(p.zero_point[0] == 127);
}

TEST_CASE("choose_qparams: power-of-two scales round up") {
  QScheme s = make(8, Signedness::Signed, Symmetry::Symmetric);
  s.scale_kind = ScaleKind::PowerOfTwo;
  // amax 1.0 -> 1/127 = 0.00787 -> 2^-6 = 0.015625 (2^-7 = 0.0078125 would clip 1.0).
  QParams p = choose_qparams(s, r1(-1.0f, 0.5f), "t");
  CHECK(p.scale[0] == 0.015625f);
  // exactly a power of two stays: amax 127 * 2^-5 -> 2^-5.
  p = choose_qparams(s, r1(-127.0f / 32.0f, 0.0f), "t");
  CHECK(p.scale[0] == 0.03125f);
  // asymmetric: [-1, 3] uint8 -> 4/255 = 0.015686 > 2^-6 -> 2^-5; zp recomputed = round(1 / 2^-5) = 32.
  s = make(8, Signedness::Unsigned, Symmetry::Asymmetric);
  s.scale_kind = ScaleKind::PowerOfTwo;
  p = choose_qparams(s, r1(-1.0f, 3.0f), "t");
  CHECK(p.scale[0] == 0.03125f);
  CHECK(p.zero_point[0] == 32);
  // [-0.5, 3]: 3.5/255 = 0.013725 -> 2^-6, zp = round(0.5 * 64) = 32.
  p = choose_qparams(s, r1(-0.5f, 3.0f), "t");
  CHECK(p.scale[0] == 0.015625f);
  CHECK(p.zero_point[0] == 32);
}

TEST_CASE("choose_qparams: degenerate ranges") {
  // all-zero: scale 1, zp for 0.
  QParams p = choose_qparams(make(8, Signedness::Signed, Symmetry::Symmetric), r1(0.0f, 0.0f), "t");
  CHECK(p.scale[0] == 1.0f);
  CHECK(p.zero_point[0] == 0);
  p = choose_qparams(make(8, Signedness::Unsigned, Symmetry::Asymmetric), r1(0.0f, 0.0f), "t");
  CHECK(p.scale[0] == 1.0f);
  CHECK(p.zero_point[0] == 0);
  p = choose_qparams(make(8, Signedness::Signed, Symmetry::Asymmetric), r1(0.0f, 0.0f), "t");
  CHECK(p.scale[0] == 1.0f);
  CHECK(p.zero_point[0] == -128);
  // constant tensor 3.0: widened to [0, 3].
  p = choose_qparams(make(8, Signedness::Unsigned, Symmetry::Asymmetric), r1(3.0f, 3.0f), "t");
  CHECK(p.scale[0] == static_cast<float>(3.0 / 255.0));
  CHECK(p.zero_point[0] == 0);
  // tiny constant: clamped to the minimum scale 1e-8, never denormal.
  p = choose_qparams(make(8, Signedness::Signed, Symmetry::Symmetric), r1(1e-30f, 1e-30f), "t");
  CHECK(p.scale[0] == static_cast<float>(1e-8));
  CHECK(std::isnormal(1.0f / p.scale[0]));
}

TEST_CASE("choose_qparams: NaN/Inf and malformed ranges are errors naming the tensor") {
  const QScheme s = make(8, Signedness::Signed, Symmetry::Symmetric);
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  CHECK_THROWS_WITH_AS(choose_qparams(s, r1(nan, 1.0f), "conv1.weight"), doctest::Contains("conv1.weight"), Error);
  CHECK_THROWS_WITH_AS(choose_qparams(s, r1(0.0f, inf), "relu3.out"), doctest::Contains("NaN or Inf"), Error);
  CHECK_THROWS_WITH_AS(choose_qparams(s, r1(2.0f, 1.0f), "x"), doctest::Contains("'x'"), Error);
  CHECK_THROWS_WITH_AS(choose_qparams(s, Range{{0.f, 1.f}, {1.f, 2.f}}, "pt"), doctest::Contains("per-tensor"), Error);
  CHECK_THROWS_AS(choose_qparams(s, Range{}, "empty"), Error);
  QScheme pc = s;
  pc.granularity = Granularity::PerChannel;
  pc.axis = 0;
  Range r{{-1.f, 0.f, -3.f}, {1.f, nan, 1.f}};
  CHECK_THROWS_WITH_AS(choose_qparams(pc, r, "fc.weight"), doctest::Contains("channel 1"), Error);
}

TEST_CASE("choose_qparams: per-channel") {
  QScheme s = make(8, Signedness::Signed, Symmetry::Symmetric, true);
  s.granularity = Granularity::PerChannel;
  s.axis = 1;
  const QParams p = choose_qparams(s, Range{{-1.27f, 0.0f, -0.5f}, {0.0f, 2.54f, 0.0f}}, "w");
  REQUIRE(p.channels() == 3);
  CHECK(p.axis == 1);
  CHECK(p.qmin == -127);
  CHECK(std::fabs(p.scale[0] - 0.01) < 0.01 * kScaleRelTol);
  CHECK(std::fabs(p.scale[1] - 0.02) < 0.02 * kScaleRelTol);
  CHECK(p.scale[2] == static_cast<float>(static_cast<double>(0.5f) / 127.0));
  for (int z : p.zero_point) CHECK(z == 0);
}

TEST_CASE("QParams::validate") {
  QParams p;
  p.scale = {0.1f};
  p.zero_point = {0};
  CHECK_NOTHROW(p.validate("t"));
  p.zero_point = {200};
  CHECK_THROWS_WITH_AS(p.validate("tensorA"), doctest::Contains("tensorA"), Error);
  p.zero_point = {0};
  p.scale = {0.0f};
  CHECK_THROWS_WITH_AS(p.validate("t"), doctest::Contains("scale"), Error);
  p.scale = {0.1f, 0.2f};
  p.zero_point = {0, 0};
  CHECK_THROWS_WITH_AS(p.validate("t"), doctest::Contains("per-tensor"), Error);
  p.axis = 0;
  CHECK_NOTHROW(p.validate("t"));
  p.zero_point = {0};
  CHECK_THROWS_AS(p.validate("t"), Error);
}
