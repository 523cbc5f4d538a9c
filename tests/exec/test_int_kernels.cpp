// Tests of the integer kernels: hand-computed cases (ONNX Runtime's and gemmlowp's arithmetic
// worked by hand) and every fast kernel against its `_ref` twin, bit for bit.
#include <doctest/doctest.h>

#include <random>

#include "exec/int_kernels.h"
#include "test_util.h"

using namespace mqcalib;

namespace {

std::vector<int32_t> random_codes(int64_t n, int32_t lo, int32_t hi, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int32_t> u(lo, hi);
  std::vector<int32_t> v(static_cast<size_t>(n));
  for (int32_t& x : v) x = u(rng);
  return v;
}

ActQ u8(float s, int32_t zp) { return ActQ{s, zp, 0, 255}; }
ActQ s8(float s, int32_t zp) { return ActQ{s, zp, -128, 127}; }

constexpr RequantMode kOrt{IntegerRequant::FloatMultiplier, Rounding::HalfToEven};
constexpr RequantMode kQ31{IntegerRequant::FixedPointQ31, Rounding::HalfToEven};

}  // namespace

TEST_CASE("conv2d_nchw_i32: hand-computed 1x1 case with zero points and bias") {
  // x = [[3, 5]] (one pixel, two channels), zp_x = 1; w = [[2, -1]] zp_w = 0; bias 10.
  // acc = 10 + (3-1)*2 + (5-1)*(-1) = 10 + 4 - 4 = 10.
  const std::vector<int32_t> x{3, 5}, w{2, -1}, bias{10};
  int32_t acc = 0, acc_ref = 0;
  conv2d_nchw_i32(x.data(), {1, 2, 1, 1}, 1, w.data(), {1, 2, 1, 1}, {0}, bias.data(), test::conv_params(1, 0), &acc);
  conv2d_nchw_i32_ref(x.data(), {1, 2, 1, 1}, 1, w.data(), {1, 2, 1, 1}, {0}, bias.data(), test::conv_params(1, 0),
                      &acc_ref);
  CHECK(acc == 10);
  CHECK(acc_ref == 10);
}

TEST_CASE("conv2d_nchw_i32: padding contributes (x - zp) = 0") {
  // 1x1 input 7 with zp 7 (real 0) and padding 1, 3x3 kernel of ones: every output is 0 + bias.
  const std::vector<int32_t> x{7}, w(9, 1), bias{-3};
  std::vector<int32_t> acc(9);
  conv2d_nchw_i32(x.data(), {1, 1, 1, 1}, 7, w.data(), {1, 1, 3, 3}, {0}, bias.data(), test::conv_params(1, 1),
                  acc.data());
  CHECK(acc[0] == -3);
}

TEST_CASE("conv2d_nchw_i32 equals its reference: float path, float64 path, grouped, depthwise, strided") {
  struct Case {
    Shape xs, ws;
    Conv2dParams p;
    int32_t zp_x;
    bool big;  // large codes: partial sums beyond 2^24 take the float64 path
  };
  const std::vector<Case> cases = {
      {{2, 3, 7, 6}, {4, 3, 3, 3}, test::conv_params(1, 1), 128, false},
      {{1, 4, 9, 9}, {6, 2, 3, 3}, test::conv_params(2, 1, 1, 2), 3, false},
      {{2, 5, 8, 8}, {5, 1, 3, 3}, test::conv_params(1, 1, 2, 5), 0, false},
      {{1, 64, 6, 6}, {8, 64, 3, 3}, test::conv_params(1, 1), 0, true},
  };
  uint32_t seed = 1;
  for (const Case& c : cases) {
    const auto x = c.big ? random_codes(numel(c.xs), 0, 255, seed++) : random_codes(numel(c.xs), -128, 127, seed++);
    const auto w = random_codes(numel(c.ws), -127, 127, seed++);
    const std::vector<int32_t> zp_w = random_codes(c.ws[0], -3, 3, seed++);
    const auto bias = random_codes(c.ws[0], -5000, 5000, seed++);
    const Shape ys = conv2d_output_shape(c.xs, c.ws, c.p);
    std::vector<int32_t> a(static_cast<size_t>(numel(ys))), r(a.size());
    conv2d_nchw_i32(x.data(), c.xs, c.zp_x, w.data(), c.ws, zp_w, bias.data(), c.p, a.data());
    conv2d_nchw_i32_ref(x.data(), c.xs, c.zp_x, w.data(), c.ws, zp_w, bias.data(), c.p, r.data());
    CHECK(a == r);
  }
}

TEST_CASE("linear_i32 equals its reference on both paths") {
  for (int big = 0; big < 2; ++big) {
    const int64_t M = 5, I = big ? 600 : 37, O = 7;
    const auto x = random_codes(M * I, 0, 255, 11 + big);
    const auto w = random_codes(O * I, -127, 127, 12 + big);
    const auto bias = random_codes(O, -100, 100, 13);
    std::vector<int32_t> a(static_cast<size_t>(M * O)), r(a.size());
    linear_i32(x.data(), M, I, 128, w.data(), O, {0}, bias.data(), a.data());
    linear_i32_ref(x.data(), M, I, 128, w.data(), O, {0}, bias.data(), r.data());
    CHECK(a == r);
  }
}

TEST_CASE("requantize_acc_i32: ONNX Runtime's float multiplier, half-even ties") {
  // M = 0.5: acc 5 -> 2.5 -> 2 (even), acc 7 -> 3.5 -> 4, acc -5 -> -2.5 -> -2; zp 10; clamp at 255.
  const std::vector<int32_t> acc{5, 7, -5, 1000};
  std::vector<int32_t> q(4), r(4);
  requantize_acc_i32(acc.data(), 4, 1, 1, {0.5}, u8(1.0f, 10), kOrt, q.data());
  requantize_acc_i32_ref(acc.data(), 4, 1, 1, {0.5}, u8(1.0f, 10), kOrt, r.data());
  CHECK(q == std::vector<int32_t>{12, 14, 8, 255});
  CHECK(r == q);
  // Half-away (ncnn's rule): 2.5 -> 3.
  requantize_acc_i32(acc.data(), 1, 1, 1, {0.5}, u8(1.0f, 10),
                     {IntegerRequant::FloatMultiplier, Rounding::HalfAwayFromZero}, q.data());
  CHECK(q[0] == 13);
}

TEST_CASE("requantize_acc_i32: gemmlowp Q31, per channel, equals its reference") {
  // Random accumulators and multipliers (some >= 1: a left shift) against the twin; then M = 0.5, exact in
  // Q31 (M0 = 2^30, shift 0): 5 * 0.5 = 2.5 and SRDHM rounds the tie toward +inf, to 3.
  const auto acc = random_codes(6 * 10, -100000, 100000, 21);
  const std::vector<double> m{0.0031, 0.5, 0.00071, 1.7, 0.25, 0.013};
  std::vector<int32_t> q(acc.size()), r(acc.size());
  requantize_acc_i32(acc.data(), 60, 6, 10, m, s8(1.0f, -3), kQ31, q.data());
  requantize_acc_i32_ref(acc.data(), 60, 6, 10, m, s8(1.0f, -3), kQ31, r.data());
  CHECK(q == r);
  const std::vector<int32_t> five{5};
  int32_t h = 0;
  requantize_acc_i32(five.data(), 1, 1, 1, {0.5}, s8(1.0f, 0), kQ31, &h);
  CHECK(h == 3);  // 2.5: SRDHM's nudge rounds the tie toward +inf
}

TEST_CASE("output_multipliers: (s_x * s_w) / s_y in float32 for ONNX Runtime") {
  const float sx = 0.0123f, sw = 0.0047f, sy = 0.031f;
  const std::vector<double> m = output_multipliers(sx, {sw}, sy, kOrt);
  CHECK(m[0] == static_cast<double>((sx * sw) / sy));
}

TEST_CASE("add_i32: QLinearAdd's formula by hand") {
  // a: s 0.5 zp 0, b: s 0.25 zp 4, c: s 1 zp 1: ra 0.5, rb 0.25, k = 1 - (0 + 0.25 * 4) = 0.
  // a=3, b=10: 1.5 + 2.5 = 4. a=1, b=4: 0.5 + 1 = 1.5 -> 2 (even; zc is inside the rounding, so not
  // 0.5 -> 0, + 1 = 1). a=255, b=255: 127.5 + 63.75 = 191.25 -> 191.
  const std::vector<int32_t> a{3, 1, 255}, b{10, 4, 255};
  std::vector<int32_t> c(3), r(3);
  add_i32(a.data(), u8(0.5f, 0), b.data(), u8(0.25f, 4), 3, u8(1.0f, 1), kOrt, c.data());
  add_i32_ref(a.data(), u8(0.5f, 0), b.data(), u8(0.25f, 4), 3, u8(1.0f, 1), kOrt, r.data());
  CHECK(c == std::vector<int32_t>{4, 2, 191});
  CHECK(r == c);
}

TEST_CASE("add_i32, rescale_i32, global_avg_pool_i32 equal their references (both schemes)") {
  const auto a = random_codes(1000, 0, 255, 31), b = random_codes(1000, 0, 255, 32);
  const ActQ pa = u8(0.0213f, 17), pb = u8(0.0097f, 130), pc = u8(0.0301f, 64);
  for (const RequantMode mode : {kOrt, kQ31}) {
    std::vector<int32_t> x(1000), y(1000);
    add_i32(a.data(), pa, b.data(), pb, 1000, pc, mode, x.data());
    add_i32_ref(a.data(), pa, b.data(), pb, 1000, pc, mode, y.data());
    CHECK(x == y);
    rescale_i32(a.data(), 1000, pa, s8(0.013f, 2), mode, x.data());
    rescale_i32_ref(a.data(), 1000, pa, s8(0.013f, 2), mode, y.data());
    CHECK(x == y);
    global_avg_pool_i32(a.data(), 10, 100, pa, pc, mode, x.data());
    global_avg_pool_i32_ref(a.data(), 10, 100, pa, pc, mode, y.data());
    CHECK(std::vector<int32_t>(x.begin(), x.begin() + 10) == std::vector<int32_t>(y.begin(), y.begin() + 10));
  }
}

TEST_CASE("global_avg_pool_i32: MLAS's formula by hand") {
  // 4 codes 10, 11, 12, 14 with zp 2: acc = 47 - 8 = 39; scale = 0.5 / (0.25 * 4) = 0.5; 19.5 -> 20; zp 3 -> 23.
  const std::vector<int32_t> x{10, 11, 12, 14};
  int32_t y = 0;
  global_avg_pool_i32(x.data(), 1, 4, u8(0.5f, 2), u8(0.25f, 3), kOrt, &y);
  CHECK(y == 23);
}

TEST_CASE("rescale_i32: DequantizeLinear then QuantizeLinear, by hand") {
  // q 200, zp 100, s 0.1 -> 10.0 (float32) ; / 0.3 -> 33.33 -> 33; zp' -128 -> -95.
  const std::vector<int32_t> q{200};
  int32_t y = 0;
  rescale_i32(q.data(), 1, u8(0.1f, 100), s8(0.3f, -128), kOrt, &y);
  CHECK(y == -95);
}

TEST_CASE("quantize_value: true division and the storage clamp") {
  CHECK(quantize_value(0.25f, u8(0.1f, 0), Rounding::HalfToEven) == 2);  // 2.5 -> 2
  CHECK(quantize_value(0.35f, u8(0.1f, 0), Rounding::HalfToEven) == 4);  // 3.4999.. or 3.5 -> 4 in float32
  CHECK(quantize_value(-5.0f, u8(0.1f, 3), Rounding::HalfToEven) == 0);  // clamped at qmin
  CHECK(quantize_value(100.0f, s8(0.1f, 0), Rounding::HalfToEven) == 127);
}
