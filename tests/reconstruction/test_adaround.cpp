// AdaRound building blocks: rectified sigmoid and its initialisation, the soft-weight clamp and
// rounding formulas, the rounding regularizer and the beta schedule.
#include <doctest/doctest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "core/qscheme.h"
#include "core/quantize.h"
#include "exec/kernels.h"
#include "exec/test_util.h"
#include "reconstruction/grad_check.h"
#include "reconstruction/recon_test_util.h"
#include "reconstruction/rectified_sigmoid.h"
#include "reconstruction/round_regularizer.h"
#include "reconstruction/soft_weight.h"

using namespace mqcalib;
using namespace mqcalib::test;

namespace {

// h(V(f)) vs f: V is rounded to float once, h evaluated in float.
constexpr double kInitTol = 1e-6;
// Elementwise derivative formulas (h', dR/dV) in float vs double differences: relative.
constexpr double kElemGradRelTol = 1e-4;
// R(V) from float terms vs the double evaluation, relative.
constexpr double kRegValueRelTol = 1e-5;

double sigmoid_d(double v) { return 1.0 / (1.0 + std::exp(-v)); }
double h_d(double v) {
  return std::min(std::max(sigmoid_d(v) * (1.1 - (-0.1)) + (-0.1), 0.0), 1.0);  // REFERENCE.md section 4
}

}  // namespace

TEST_CASE("rectified sigmoid: h(V(f)) == f, h' vs finite differences") {
  for (float f : {0.0f, 1e-6f, 0.1f, 0.25f, 0.5f, 0.7f, 0.999f, 0.9999999f}) {
    CAPTURE(f);
    CHECK(std::fabs(rectified_sigmoid(rectified_sigmoid_inverse(f)) - f) <= kInitTol);
  }
  for (float v : {-2.3f, -1.0f, -0.2f, 0.0f, 0.4f, 1.5f, 2.3f, -3.0f, 3.0f}) {
    CAPTURE(v);
    const double fd = (h_d(v + kFdStep) - h_d(v - kFdStep)) / (2 * kFdStep);
    CHECK(std::fabs(rectified_sigmoid_grad(v) - fd) <= kElemGradRelTol * std::max(1e-3, std::fabs(fd)));
    CHECK(std::fabs(rectified_sigmoid(v) - h_d(v)) <= kInitTol);
  }
  CHECK(rectified_sigmoid(3.0f) == 1.0f);  // saturates: sigmoid(3) * 1.2 - 0.1 > 1
  CHECK(rectified_sigmoid_grad(3.0f) == 0.0f);
}

TEST_CASE("soft weight: V_init reproduces W, clamp gradient and hard rounding follow their formulas") {
  // per-channel asymmetric 4-bit [-8, 7], zero points 2 and -3; some weights beyond the grid.
  const QParams p = qparams({0.1f, 0.05f}, {2, -3}, -8, 7, 0);
  const Shape ws{2, 3, 2, 5};
  TensorF32 w = random_tensor(ws, 5, -1.2f, 1.2f);
  SoftWeight sw(w, p, "w");
  std::vector<float> v = sw.initial_v();
  std::vector<float> soft(static_cast<size_t>(w.size())), g(soft.size()), gv(soft.size());
  sw.soft(v.data(), soft.data());
  const TensorF32 gw = random_tensor(ws, 6);
  sw.backward(v.data(), gw.data(), gv.data());
  std::vector<int32_t> codes(soft.size()), nearest(soft.size());
  std::vector<float> hard(soft.size());
  sw.hard(v.data(), codes.data(), hard.data());
  quantize_f32_i32_ref(w, p, nearest.data());
  int clamped = 0, inside = 0;
  for (int64_t i = 0; i < w.size(); ++i) {
    const size_t c = static_cast<size_t>(i / 30);
    const float r = w[i] / p.scale[c];
    const double lo = p.qmin - p.zero_point[c], hi = p.qmax - p.zero_point[c];
    const bool in = std::floor(r) + rectified_sigmoid(v[static_cast<size_t>(i)]) >= lo &&
                    std::floor(r) + rectified_sigmoid(v[static_cast<size_t>(i)]) <= hi;
    (in ? inside : clamped)++;
    // W~(V_init) = s * clamp(W / s, lo, hi)
    CHECK(soft[static_cast<size_t>(i)] ==
          doctest::Approx(p.scale[c] * std::min(std::max<double>(r, lo), hi)).epsilon(1e-5));
    // dW~/dV = s h'(V) inside the clamp range, 0 outside
    const double expect = in ? gw[i] * p.scale[c] * rectified_sigmoid_grad(v[static_cast<size_t>(i)]) : 0.0;
    CHECK(gv[static_cast<size_t>(i)] == doctest::Approx(expect).epsilon(1e-6));
    // hard rounding of V_init is nearest rounding (no ties in random data)
    if (std::fabs(r - std::floor(r) - 0.5f) > 1e-4f)
      CHECK(codes[static_cast<size_t>(i)] == nearest[static_cast<size_t>(i)]);
    CHECK(hard[static_cast<size_t>(i)] ==
          p.scale[c] * static_cast<float>(codes[static_cast<size_t>(i)] - p.zero_point[c]));
  }
  CHECK(clamped > 0);
  CHECK(inside > 0);
  // explicit up/down decision: h >= 0.5 rounds up
  std::vector<float> up(soft.size(), 0.0f), down(soft.size(), -0.01f);
  std::vector<int32_t> cu(soft.size()), cd(soft.size());
  sw.hard(up.data(), cu.data(), nullptr);
  sw.hard(down.data(), cd.data(), nullptr);
  for (int64_t i = 0; i < w.size(); ++i) {
    const size_t c = static_cast<size_t>(i / 30);
    const int64_t b = static_cast<int64_t>(std::floor(w[i] / p.scale[c])) + p.zero_point[c];
    CHECK(cu[static_cast<size_t>(i)] == std::min<int64_t>(std::max<int64_t>(b + 1, p.qmin), p.qmax));
    CHECK(cd[static_cast<size_t>(i)] == std::min<int64_t>(std::max<int64_t>(b, p.qmin), p.qmax));
  }
}

TEST_CASE("round regularizer: value, gradient vs finite differences, beta schedule") {
  std::vector<float> v = {-2.2f, -1.3f, -0.4f, 0.05f, 0.3f, 0.9f, 1.7f, 2.35f};
  for (float beta : {20.0f, 8.5f, 2.0f}) {
    CAPTURE(beta);
    std::vector<float> g(v.size(), 0.0f);
    const double value = round_regularizer_grad_add(v.data(), static_cast<int64_t>(v.size()), beta, 1.0f, g.data());
    double sum = 0.0;
    for (size_t i = 0; i < v.size(); ++i) {
      auto r = [&](double x) { return 1.0 - std::pow(std::fabs(2.0 * h_d(x) - 1.0), static_cast<double>(beta)); };
      sum += r(v[i]);
      const double fd = (r(v[i] + kFdStep) - r(v[i] - kFdStep)) / (2 * kFdStep);
      CHECK(std::fabs(g[i] - fd) <= kElemGradRelTol * std::max(1e-3, std::fabs(fd)));
    }
    CHECK(round_regularizer(v.data(), static_cast<int64_t>(v.size()), beta) ==
          doctest::Approx(sum).epsilon(kRegValueRelTol));
    CHECK(value == doctest::Approx(sum).epsilon(kRegValueRelTol));
  }
  // 1000 iterations, warm-up 20%: inactive before 200, then 20 -> 2 linearly (BRECQ's LinearTempDecay)
  CHECK_FALSE(round_regularizer_active(199, 1000, 0.2f));
  CHECK(round_regularizer_active(200, 1000, 0.2f));
  CHECK(round_regularizer_beta(200, 1000, 0.2f, 20, 2, BetaSchedule::Linear) == doctest::Approx(20.0));
  CHECK(round_regularizer_beta(600, 1000, 0.2f, 20, 2, BetaSchedule::Linear) == doctest::Approx(11.0));
  CHECK(round_regularizer_beta(1000, 1000, 0.2f, 20, 2, BetaSchedule::Linear) == doctest::Approx(2.0));
  CHECK(round_regularizer_beta(600, 1000, 0.2f, 20, 2, BetaSchedule::Cosine) == doctest::Approx(11.0));
  CHECK(round_regularizer_beta(400, 1000, 0.2f, 20, 2, BetaSchedule::Cosine) ==
        doctest::Approx(2.0 + 18.0 * 0.5 * (1.0 + std::cos(3.14159265358979 * 0.25))));
}
