// Clipped normal moments vs numerical integration (brute force, composite Simpson in double).
#include <doctest/doctest.h>

#include <cmath>
#include <limits>

#include "core/error.h"
#include "core/normal.h"

using namespace mqcalib;

namespace {

constexpr double kMomentTol = 1e-7;  // absolute, moments of O(1) values
constexpr double kInf = std::numeric_limits<double>::infinity();

// E[clip(z)] and E[clip(z)^2] by Simpson's rule over mu +- 12 sigma (the tails beyond are < 1e-32).
Moments brute_force(double mu, double sigma, double lo, double hi) {
  const int n = 200000;  // even
  const double a = mu - 12.0 * sigma, b = mu + 12.0 * sigma, h = (b - a) / n;
  double m1 = 0.0, m2 = 0.0;
  for (int i = 0; i <= n; ++i) {
    const double z = a + h * i, w = (i == 0 || i == n) ? 1.0 : (i % 2 ? 4.0 : 2.0);
    const double p = std::exp(-0.5 * ((z - mu) / sigma) * ((z - mu) / sigma)) / (sigma * std::sqrt(2.0 * M_PI));
    const double y = std::min(std::max(z, lo), hi);
    m1 += w * p * y;
    m2 += w * p * y * y;
  }
  m1 *= h / 3.0;
  m2 *= h / 3.0;
  return Moments{m1, m2 - m1 * m1};
}

}  // namespace

TEST_CASE("normal: pdf and cdf at known points") {
  CHECK(std_normal_pdf(0.0) == doctest::Approx(0.3989422804014327).epsilon(1e-15));
  CHECK(std_normal_cdf(0.0) == doctest::Approx(0.5).epsilon(1e-15));
  CHECK(std_normal_cdf(1.959963984540054) == doctest::Approx(0.975).epsilon(1e-12));
  CHECK(std_normal_cdf(-kInf) == 0.0);
  CHECK(std_normal_pdf(kInf) == 0.0);
}

TEST_CASE("normal: clipped moments match numerical integration (relu, relu6, hardtanh, identity)") {
  struct Case {
    double mu, sigma, lo, hi;
  };
  const Case cases[] = {{0.0, 1.0, 0.0, kInf}, {1.3, 0.7, 0.0, kInf}, {-2.0, 0.5, 0.0, kInf},   {2.0, 3.0, 0.0, 6.0},
                        {5.5, 1.0, 0.0, 6.0},  {0.2, 0.4, -1.0, 1.0}, {-0.3, 2.0, -kInf, kInf}, {0.0, 1.0, -kInf, 0.5}};
  for (const Case& c : cases) {
    CAPTURE(c.mu);
    CAPTURE(c.sigma);
    CAPTURE(c.lo);
    CAPTURE(c.hi);
    const Moments got = clipped_normal_moments(c.mu, c.sigma, c.lo, c.hi);
    const Moments ref = brute_force(c.mu, c.sigma, c.lo, c.hi);
    CHECK(std::fabs(got.mean - ref.mean) < kMomentTol);
    CHECK(std::fabs(got.var - ref.var) < kMomentTol);
  }
}

TEST_CASE("normal: DFQ's ReLU expectation sigma phi(mu/sigma) + mu Phi(mu/sigma)") {
  const double mu = 0.4, sigma = 1.7;
  const double dfq = sigma * std_normal_pdf(mu / sigma) + mu * std_normal_cdf(mu / sigma);
  CHECK(clipped_normal_moments(mu, sigma, 0.0, kInf).mean == doctest::Approx(dfq).epsilon(1e-14));
}

TEST_CASE("normal: degenerate and invalid arguments") {
  const Moments m = clipped_normal_moments(7.0, 0.0, 0.0, 6.0);
  CHECK(m.mean == 6.0);
  CHECK(m.var == 0.0);
  CHECK_THROWS_AS(clipped_normal_moments(0.0, -1.0, 0.0, 1.0), Error);
  CHECK_THROWS_AS(clipped_normal_moments(0.0, 1.0, 2.0, 1.0), Error);
  CHECK_THROWS_AS(clipped_normal_moments(std::nan(""), 1.0, 0.0, 1.0), Error);
}
