// mqcalib/src/graph/bn_range_pointwise.cpp: the BN-statistics rules of the pointwise ops (list in
// bn_ranges.h): the relu family clips the range and takes the clipped normal's moments (core/normal.h);
// other activations map the range through the function (in double: the bounds, not the executor's
// float kernels) and forget the moments.
#include <algorithm>
#include <cmath>
#include <limits>

#include "core/normal.h"
#include "graph/bn_range_rules.h"

namespace mqcalib::detail {

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

ValueDist clip(const ValueDist& x, double a, double b, const char* rule) {
  ValueDist d;
  d.rule = rule;
  for (int64_t c = 0; c < x.channels(); ++c) {
    d.lo.push_back(static_cast<float>(std::min(std::max<double>(lo_at(x, c), a), b)));
    d.hi.push_back(static_cast<float>(std::min(std::max<double>(hi_at(x, c), a), b)));
  }
  if (x.has_moments())
    for (size_t c = 0; c < x.mean.size(); ++c) {
      const Moments m = clipped_normal_moments(x.mean[c], std::sqrt(x.var[c]), a, b);
      d.mean.push_back(m.mean);
      d.var.push_back(m.var);
    }
  return d;
}

double silu(double x) { return x / (1.0 + std::exp(-x)); }
double sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }
double hardsigmoid(double x) { return std::min(std::max(x + 3.0, 0.0), 6.0) / 6.0; }
double hardswish(double x) { return x * hardsigmoid(x); }
double gelu_erf(double x) { return 0.5 * x * (1.0 + std::erf(x / std::sqrt(2.0))); }
double gelu_tanh(double x) { return 0.5 * x * (1.0 + std::tanh(std::sqrt(2.0 / M_PI) * (x + 0.044715 * x * x * x))); }
double tanh_fn(double x) { return std::tanh(x); }

// min of f over [a, b] for f decreasing then increasing on [-3, 0] (silu, hardswish, gelu), monotone
// outside: the endpoints plus a golden-section search of [max(a, -3), min(b, 0)].
double unimodal_min(double (*f)(double), double a, double b) {
  double m = std::min(f(a), f(b));
  double l = std::max(a, -3.0), r = std::min(b, 0.0);
  if (l >= r) return m;
  const double g = (std::sqrt(5.0) - 1.0) / 2.0;
  for (int it = 0; it < 100; ++it) {
    const double x1 = r - g * (r - l), x2 = l + g * (r - l);
    if (f(x1) < f(x2))
      r = x2;
    else
      l = x1;
  }
  return std::min(m, f(0.5 * (l + r)));
}

template <double (*F)(double), bool kMonotone>
Outs image_rule(const Node&, const Ins& in, const RuleContext&) {
  const ValueDist& x = *in[0];
  ValueDist d;
  d.rule = "image";
  for (int64_t c = 0; c < x.channels(); ++c) {
    const double a = lo_at(x, c), b = hi_at(x, c);
    d.lo.push_back(static_cast<float>(kMonotone ? F(a) : unimodal_min(F, a, b)));
    d.hi.push_back(static_cast<float>(std::max(F(a), F(b))));
  }
  return {d};
}

}  // namespace

Outs relu_rule(const Node&, const Ins& in, const RuleContext&) { return {clip(*in[0], 0.0, kInf, "relu")}; }
Outs relu6_rule(const Node&, const Ins& in, const RuleContext&) { return {clip(*in[0], 0.0, 6.0, "relu6")}; }
Outs hardtanh_rule(const Node& n, const Ins& in, const RuleContext&) {
  return {clip(*in[0], n.attrs.min_val, n.attrs.max_val, "hardtanh")};
}

Outs silu_rule(const Node& n, const Ins& in, const RuleContext& c) { return image_rule<silu, false>(n, in, c); }
Outs sigmoid_rule(const Node& n, const Ins& in, const RuleContext& c) { return image_rule<sigmoid, true>(n, in, c); }
Outs tanh_rule(const Node& n, const Ins& in, const RuleContext& c) { return image_rule<tanh_fn, true>(n, in, c); }
Outs hardswish_rule(const Node& n, const Ins& in, const RuleContext& c) {
  return image_rule<hardswish, false>(n, in, c);
}
Outs hardsigmoid_rule(const Node& n, const Ins& in, const RuleContext& c) {
  return image_rule<hardsigmoid, true>(n, in, c);
}

Outs gelu_rule(const Node& n, const Ins& in, const RuleContext& ctx) {
  return n.attrs.gelu == GeluApproximation::Tanh ? image_rule<gelu_tanh, false>(n, in, ctx)
                                                 : image_rule<gelu_erf, false>(n, in, ctx);
}

Outs softmax_rule(const Node&, const Ins&, const RuleContext&) {
  ValueDist d;
  d.rule = "softmax";
  d.lo = {0.0f};
  d.hi = {1.0f};
  return {d};
}

}  // namespace mqcalib::detail
