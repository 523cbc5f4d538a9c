// core/bias_i32.h: biases on the int32 grid of s_in * s_w, with the backend's tie rule (hand-computed).
#include <doctest/doctest.h>

#include <cstdint>
#include <limits>
#include <vector>

#include "core/bias_i32.h"

using namespace mqcalib;

namespace {

QParams weight_params(std::vector<float> scales) {
  QParams w;
  w.scale = std::move(scales);
  w.zero_point.assign(w.scale.size(), 0);
  w.axis = w.scale.size() > 1 ? 0 : -1;
  return w;
}

}  // namespace

TEST_CASE("bias_qparams_i32: s_b = s_in * s_w per channel, int32 grid, zero point 0") {
  const QParams b = bias_qparams_i32(0.5f, weight_params({0.25f, 0.125f}), 2, Rounding::HalfToEven);
  CHECK(b.axis == 0);
  CHECK(b.scale == std::vector<float>{0.125f, 0.0625f});
  CHECK(b.zero_point == std::vector<int32_t>{0, 0});
  CHECK(b.qmin == std::numeric_limits<int32_t>::min());
  CHECK(b.qmax == std::numeric_limits<int32_t>::max());
  // per-tensor weights: one scale repeated per output channel (the record lists one per channel)
  const QParams t = bias_qparams_i32(0.5f, weight_params({0.25f}), 3, Rounding::HalfToEven);
  CHECK(t.axis == 0);
  CHECK(t.scale == std::vector<float>{0.125f, 0.125f, 0.125f});
  // a single output with per-tensor weights stays per-tensor
  CHECK(bias_qparams_i32(0.5f, weight_params({0.25f}), 1, Rounding::HalfToEven).axis == -1);
  CHECK_THROWS(bias_qparams_i32(0.5f, weight_params({0.25f, 0.5f}), 3, Rounding::HalfToEven));
}

TEST_CASE("bias codes: ties follow the backend's rule, values saturate at the int32 bounds") {
  // b / s_b = 2.5, -2.5, 2.4, and far beyond int32
  const std::vector<float> bias = {0.3125f, -0.3125f, 0.3f, 1e30f};
  const QParams w = weight_params({0.25f});
  QParams even = bias_qparams_i32(0.5f, w, 4, Rounding::HalfToEven);
  QParams away = bias_qparams_i32(0.5f, w, 4, Rounding::HalfAwayFromZero);
  std::vector<int32_t> q(4);
  quantize_bias_f32_i32(bias.data(), 4, even, q.data());
  CHECK(q == std::vector<int32_t>{2, -2, 2, std::numeric_limits<int32_t>::max()});
  quantize_bias_f32_i32(bias.data(), 4, away, q.data());
  CHECK(q == std::vector<int32_t>{3, -3, 2, std::numeric_limits<int32_t>::max()});
  std::vector<float> f(4);
  fake_quantize_bias_f32(bias.data(), 4, away, f.data());
  CHECK(f[0] == 0.375f);
  CHECK(f[1] == -0.375f);
  CHECK(f[2] == 0.25f);
  CHECK(f[3] == static_cast<float>(2147483647.0 * 0.125));
  // in place
  std::vector<float> g = bias;
  fake_quantize_bias_f32(g.data(), 4, even, g.data());
  CHECK(g[0] == 0.25f);
  CHECK_THROWS(quantize_bias_f32_i32(bias.data(), 3, even, q.data()));
}
