// mqcalib/src/core/normal.cpp: see normal.h (formulas there).
#include "core/normal.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "core/error.h"

namespace mqcalib {

namespace {

constexpr double kInvSqrt2Pi = 0.39894228040143267794;  // 1 / sqrt(2 pi)
constexpr double kInvSqrt2 = 0.70710678118654752440;    // 1 / sqrt(2)

// x * phi(x) with the limit 0 at +-infinity.
double x_pdf(double x) { return std::isinf(x) ? 0.0 : x * std_normal_pdf(x); }

}  // namespace

double std_normal_pdf(double z) { return std::isinf(z) ? 0.0 : kInvSqrt2Pi * std::exp(-0.5 * z * z); }

double std_normal_cdf(double z) { return 0.5 * std::erfc(-z * kInvSqrt2); }

Moments clipped_normal_moments(double mu, double sigma, double lo, double hi) {
  if (std::isnan(mu) || std::isnan(sigma) || std::isnan(lo) || std::isnan(hi) || !(sigma >= 0.0) || lo > hi)
    throw Error("clipped_normal_moments: needs sigma >= 0 and lo <= hi, got mu " + std::to_string(mu) + ", sigma " +
                std::to_string(sigma) + ", [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
  if (sigma == 0.0 || lo == hi) return Moments{std::min(std::max(mu, lo), hi), 0.0};
  const double alpha = (lo - mu) / sigma, beta = (hi - mu) / sigma;
  const double ca = std_normal_cdf(alpha), cb = std_normal_cdf(beta);
  const double pa = std_normal_pdf(alpha), pb = std_normal_pdf(beta);
  const double below = std::isinf(lo) ? 0.0 : ca, above = std::isinf(hi) ? 0.0 : 1.0 - cb;
  const double inside = cb - ca;
  // The bound terms are dropped when the bound is infinite (their probability is 0).
  const double lo_term = below == 0.0 ? 0.0 : lo * below, hi_term = above == 0.0 ? 0.0 : hi * above;
  const double mean = lo_term + hi_term + mu * inside + sigma * (pa - pb);
  const double lo2 = below == 0.0 ? 0.0 : lo * lo * below, hi2 = above == 0.0 ? 0.0 : hi * hi * above;
  const double second = lo2 + hi2 + (mu * mu + sigma * sigma) * inside + 2.0 * mu * sigma * (pa - pb) +
                        sigma * sigma * (x_pdf(alpha) - x_pdf(beta));
  return Moments{mean, std::max(0.0, second - mean * mean)};
}

}  // namespace mqcalib
