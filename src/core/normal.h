// mqcalib/src/core/normal.h: the normal distribution pieces the data-free mode needs
// (docs/data_free.md; DFQ, Nagel et al. 2019, REFERENCE.md section 9).
//
//   phi(z) = exp(-z^2 / 2) / sqrt(2 pi)            standard normal pdf
//   Phi(z) = (1 + erf(z / sqrt(2))) / 2            standard normal cdf
// Clipped normal: y = min(max(z, a), b) with z ~ N(mu, sigma^2), a < b (a = -inf / b = +inf allowed),
// alpha = (a - mu) / sigma, beta = (b - mu) / sigma:
//   E[y]   = a Phi(alpha) + b (1 - Phi(beta)) + mu (Phi(beta) - Phi(alpha)) + sigma (phi(alpha) - phi(beta))
//   E[y^2] = a^2 Phi(alpha) + b^2 (1 - Phi(beta))
//            + (mu^2 + sigma^2) (Phi(beta) - Phi(alpha)) + 2 mu sigma (phi(alpha) - phi(beta))
//            + sigma^2 (alpha phi(alpha) - beta phi(beta))
//   Var[y] = E[y^2] - E[y]^2 (clamped at 0)
// (the terms with an infinite bound vanish). For ReLU (a = 0, b = inf) E[y] reduces to DFQ's
// sigma phi(mu / sigma) + mu Phi(mu / sigma). sigma = 0 gives the point mass clip(mu, a, b). All in double.
#pragma once

namespace mqcalib {

double std_normal_pdf(double z);
double std_normal_cdf(double z);

struct Moments {
  double mean = 0.0;
  double var = 0.0;
};

// Moments of clip(z, lo, hi), z ~ N(mu, sigma^2); lo / hi may be -/+infinity. Throws Error when
// sigma < 0, lo > hi or an argument is NaN.
Moments clipped_normal_moments(double mu, double sigma, double lo, double hi);

}  // namespace mqcalib
