// The synthesis losses (reconstruction/synthesis_loss.h): values against double-precision formulas
// written here, gradients against central finite differences of those, fast kernels against their
// _ref twins, determinism across thread counts.
#include <doctest/doctest.h>

#include <cmath>
#include <random>

#include "core/parallel.h"
#include "exec/test_util.h"
#include "grad_check.h"
#include "reconstruction/synthesis_loss.h"

using namespace mqcalib;
using namespace mqcalib::test;

namespace {

constexpr double kLossRelTol = 1e-9;  // double accumulation both sides, float inputs
constexpr double kGradRelTol = 1e-4;  // float gradients vs double finite differences
// bn_stats_loss_f32 vs its _ref: the row sums differ in order (8 double partial sums vs one), so the
// double loss differs by a few ulps and a float gradient element at most by its last bit.
constexpr double kBnTwinRelTol = 1e-6;

TensorF32 random_input(const Shape& s, uint32_t seed, float scale) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> n(0.3f, scale);
  TensorF32 t(s);
  for (float& v : t.vec()) v = n(rng);
  return t;
}

// ZeroQ's loss at one BN layer in double, from its definition (torch.var unbiased, eps in the sqrt).
double bn_loss_d(const VecD& x, const Shape& s, const std::vector<float>& m, const std::vector<float>& sd, double eps) {
  const int64_t b = s[0], c = s[1], n = numel(s) / (b * c);
  double l = 0.0;
  for (int64_t i = 0; i < b; ++i)
    for (int64_t k = 0; k < c; ++k) {
      const double* p = x.data() + (i * c + k) * n;
      double mean = 0.0, var = 0.0;
      for (int64_t j = 0; j < n; ++j) mean += p[j] / n;
      for (int64_t j = 0; j < n; ++j) var += (p[j] - mean) * (p[j] - mean) / (n - 1);
      l += ((mean - m[k]) * (mean - m[k]) + (std::sqrt(var + eps) - sd[k]) * (std::sqrt(var + eps) - sd[k])) / b;
    }
  return l;
}

double tv_d(const VecD& x, const Shape& s) {
  const int64_t h = s[2], w = s[3];
  double l = 0.0;
  for (int64_t r = 0; r < s[0] * s[1]; ++r)
    for (int64_t i = 0; i < h; ++i)
      for (int64_t j = 0; j < w; ++j) {
        const double v = x[(r * h + i) * w + j];
        if (i + 1 < h) l += std::pow(x[(r * h + i + 1) * w + j] - v, 2);
        if (j + 1 < w) l += std::pow(x[(r * h + i) * w + j + 1] - v, 2);
      }
  return l / s[0];
}

double ce_d(const VecD& z, int64_t b, int64_t k, const std::vector<int64_t>& t) {
  double l = 0.0;
  for (int64_t i = 0; i < b; ++i) {
    double se = 0.0;
    for (int64_t j = 0; j < k; ++j) se += std::exp(z[i * k + j]);
    l -= (z[i * k + t[i]] - std::log(se)) / b;
  }
  return l;
}

}  // namespace

TEST_CASE("synthesis loss: BN statistics loss and gradient vs its definition and finite differences") {
  const Shape s{3, 4, 5, 6};
  const TensorF32 x = random_input(s, 1, 1.3f);
  const std::vector<float> m{0.1f, -0.4f, 0.7f, 0.0f}, sd{1.0f, 0.5f, 2.0f, 1.2f};
  const float w = 0.7f;
  TensorF32 g(s, 0.25f), gr(s, 0.25f);  // accumulates onto what is there
  const double l = bn_stats_loss_f32(x, m.data(), sd.data(), kZeroQEps, w, g.data());
  const double lr = bn_stats_loss_f32_ref(x, m.data(), sd.data(), kZeroQEps, w, gr.data());
  const VecD xd = to_double(x);
  const double ld = bn_loss_d(xd, s, m, sd, kZeroQEps);
  CHECK(l == doctest::Approx(ld).epsilon(kLossRelTol));
  CHECK(lr == doctest::Approx(ld).epsilon(kLossRelTol));
  VecD fd = finite_diff([&](const VecD& v) { return bn_loss_d(v, s, m, sd, kZeroQEps); }, xd);
  for (double& v : fd) v = 0.25 + w * v;
  CHECK(rel_err(g, fd) <= kGradRelTol);
  CHECK(l == doctest::Approx(lr).epsilon(kLossRelTol));
  CHECK(max_rel_diff(g, gr) <= kBnTwinRelTol);
}

TEST_CASE("synthesis loss: total variation and cross entropy vs their definitions and finite differences") {
  const Shape s{2, 3, 4, 5};
  const TensorF32 x = random_input(s, 2, 1.0f);
  TensorF32 g(s, 0.0f), gr(s, 0.0f);
  const double l = total_variation_f32(x, 2.0f, g.data());
  CHECK(total_variation_f32_ref(x, 2.0f, gr.data()) == doctest::Approx(l).epsilon(kLossRelTol));
  const VecD xd = to_double(x);
  CHECK(l == doctest::Approx(tv_d(xd, s)).epsilon(kLossRelTol));
  VecD fd = finite_diff([&](const VecD& v) { return tv_d(v, s); }, xd);
  for (double& v : fd) v *= 2.0;
  CHECK(rel_err(g, fd) <= kGradRelTol);
  CHECK(g.vec() == gr.vec());

  const int64_t b = 4, k = 6;
  const TensorF32 z = random_input({b, k}, 3, 2.0f);
  const std::vector<int64_t> t{0, 5, 2, 2};
  TensorF32 gz({b, k}, 0.0f);
  const double lz = cross_entropy_f32(z, t.data(), 1.0f, gz.data());
  const VecD zd = to_double(z);
  CHECK(lz == doctest::Approx(ce_d(zd, b, k, t)).epsilon(kLossRelTol));
  CHECK(rel_err(gz, finite_diff([&](const VecD& v) { return ce_d(v, b, k, t); }, zd)) <= kGradRelTol);
  const std::vector<int64_t> bad{0, 6, 1, 1};
  CHECK_THROWS_AS(cross_entropy_f32(z, bad.data(), 1.0f, nullptr), Error);
}

TEST_CASE("synthesis loss: the same bits at 1 and 2 threads (fixed chunks)") {
  const Shape s{8, 16, 7, 7};
  const TensorF32 x = random_input(s, 4, 0.8f);
  std::vector<float> m(16, 0.2f), sd(16, 0.9f);
  TensorF32 g1(s, 0.0f), g2(s, 0.0f);
  set_num_threads(1);
  const double l1 = bn_stats_loss_f32(x, m.data(), sd.data(), kZeroQEps, 1.0f, g1.data());
  set_num_threads(2);
  const double l2 = bn_stats_loss_f32(x, m.data(), sd.data(), kZeroQEps, 1.0f, g2.data());
  CHECK(l1 == l2);
  CHECK(g1.vec() == g2.vec());
  CHECK_THROWS_AS(bn_stats_loss_f32(TensorF32({2, 3, 1, 1}).view(), m.data(), sd.data(), kZeroQEps, 1.0f, nullptr),
                  Error);  // one element per channel: no variance
}
