// mqcalib/src/graph/bn_range_rules.cpp: the per-op rules of the BN-statistics propagation (the list
// and its assumptions in bn_ranges.h) for layers, binary and layout ops, and the rule table; the
// pointwise ones are in bn_range_pointwise.cpp. All arithmetic in double, ranges stored as float.
#include "graph/bn_range_rules.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "graph/layer_pairs.h"

namespace mqcalib::detail {

namespace {

int rank_of(const RuleContext& ctx, ValueId v) { return static_cast<int>(ctx.g.value(v).shape.size()); }
int64_t channels_of(const RuleContext& ctx, ValueId v) {
  const Shape& s = ctx.g.value(v).shape;
  return s.size() >= 2 ? s[1] : -1;
}
// Axis normalised against the value's rank (-1 when the rank is unknown and the axis negative).
int64_t axis_of(const RuleContext& ctx, ValueId v, int64_t axis) {
  const int r = rank_of(ctx, v);
  if (axis >= 0) return axis;
  return r > 0 ? axis + r : -1;
}
// `d` with `n` channels (a one-entry model repeated), or collapsed when it has another count.
ValueDist widen(const ValueDist& d, int64_t n) {
  if (d.channels() == n) return d;
  ValueDist c = d.channels() == 1 ? d : collapse(d, d.rule);
  ValueDist out;
  out.rule = d.rule;
  out.lo.assign(static_cast<size_t>(n), c.lo[0]);
  out.hi.assign(static_cast<size_t>(n), c.hi[0]);
  if (c.has_moments()) {
    out.mean.assign(static_cast<size_t>(n), c.mean[0]);
    out.var.assign(static_cast<size_t>(n), c.var[0]);
  }
  return out;
}

Outs copy_rule(const Node& n, const Ins& in, const RuleContext&) {
  ValueDist d = *in[0];
  return Outs(n.outputs.size(), d);
}

// ---- layers ----

ValueDist normal_model(const std::vector<float>& mean, const std::vector<float>& std, double sigmas) {
  ValueDist d;
  d.rule = "bn";
  for (size_t c = 0; c < mean.size(); ++c) {
    const double m = mean[c], s = std::fabs(static_cast<double>(std[c]));
    d.lo.push_back(static_cast<float>(m - sigmas * s));
    d.hi.push_back(static_cast<float>(m + sigmas * s));
    d.mean.push_back(m);
    d.var.push_back(s * s);
  }
  return d;
}

// Interval arithmetic and independent-input moments through a conv2d / linear's weights.
ValueDist through_weights(const Node& n, const ValueDist& x0, const RuleContext& ctx) {
  const int64_t in_ch = input_channels(n), out_ch = n.params.weight.dim(0);
  const ValueDist x = widen(x0, in_ch);
  const bool padded = n.kind == OpKind::Conv2d && (n.attrs.padding[0] > 0 || n.attrs.padding[1] > 0);
  const bool moments = x.has_moments();
  std::vector<double> lo(static_cast<size_t>(out_ch)), hi(lo.size()), mean(lo.size()), var(lo.size());
  for (int64_t o = 0; o < out_ch; ++o) {
    const double b = n.params.bias.empty() ? 0.0 : static_cast<double>(n.params.bias[o]);
    lo[static_cast<size_t>(o)] = hi[static_cast<size_t>(o)] = mean[static_cast<size_t>(o)] = b;
  }
  const TensorF32& w = n.params.weight;
  for (int64_t i = 0; i < in_ch; ++i) {
    const InputColumn col = input_column(n, i);
    double a = lo_at(x, i), z = hi_at(x, i);
    if (padded) a = std::min(a, 0.0), z = std::max(z, 0.0);  // a padded tap reads 0
    for (int64_t o = col.o_begin; o < col.o_end; ++o)
      for (int64_t t = 0; t < col.taps; ++t) {
        const double wv = w[col.offset(o, t)];
        const size_t k = static_cast<size_t>(o);
        lo[k] += std::min(wv * a, wv * z);
        hi[k] += std::max(wv * a, wv * z);
        if (moments) {
          mean[k] += wv * mean_at(x, i);
          var[k] += wv * wv * var_at(x, i);
        }
      }
  }
  ValueDist d;
  d.rule = "weights";
  for (size_t o = 0; o < lo.size(); ++o) {
    d.lo.push_back(static_cast<float>(lo[o]));
    d.hi.push_back(static_cast<float>(hi[o]));
  }
  if (moments) d.mean = mean, d.var = var;
  tighten(d, ctx.options.sigmas);
  return d;
}

Outs layer_rule(const Node& n, const Ins& in, const RuleContext& ctx) {
  if (!n.bn_stats.empty()) {
    if (static_cast<int64_t>(n.bn_stats.mean.size()) != n.params.weight.dim(0))
      throw Error("BN statistics for " + std::to_string(n.bn_stats.mean.size()) + " channels, weight has " +
                  std::to_string(n.params.weight.dim(0)));
    return {normal_model(n.bn_stats.mean, n.bn_stats.std, ctx.options.sigmas)};
  }
  return {through_weights(n, *in[0], ctx)};
}

Outs batch_norm_rule(const Node& n, const Ins&, const RuleContext& ctx) {
  const int64_t c = n.params.running_mean.size();
  std::vector<float> beta(static_cast<size_t>(c), 0.0f), gamma(static_cast<size_t>(c), 1.0f);
  for (int64_t k = 0; k < c; ++k) {
    if (!n.params.bias.empty()) beta[static_cast<size_t>(k)] = n.params.bias[k];
    if (!n.params.weight.empty()) gamma[static_cast<size_t>(k)] = n.params.weight[k];
  }
  return {normal_model(beta, gamma, ctx.options.sigmas)};
}

// ---- binary ----

ValueDist scalar_op(const ValueDist& x, double s, bool add) {
  ValueDist d = x;
  d.rule = add ? "add" : "mul";
  for (int64_t c = 0; c < x.channels(); ++c) {
    const double a = lo_at(x, c), b = hi_at(x, c);
    d.lo[static_cast<size_t>(c)] = static_cast<float>(add ? a + s : std::min(a * s, b * s));
    d.hi[static_cast<size_t>(c)] = static_cast<float>(add ? b + s : std::max(a * s, b * s));
  }
  for (size_t c = 0; c < d.mean.size(); ++c) {
    d.mean[c] = add ? d.mean[c] + s : d.mean[c] * s;
    if (!add) d.var[c] *= s * s;
  }
  return d;
}

Outs binary_rule(const Node& n, const Ins& in, const RuleContext& ctx, bool add) {
  if (in.size() == 1) return {scalar_op(*in[0], n.attrs.has_scalar ? n.attrs.scalar : 0.0, add)};
  const int64_t ca = in[0]->channels(), cb = in[1]->channels();
  const int64_t c = ca == cb ? ca : (ca == 1 ? cb : (cb == 1 ? ca : 1));
  const ValueDist a = widen(*in[0], c), b = widen(*in[1], c);
  ValueDist d;
  d.rule = add ? "add" : "mul";
  const bool moments = a.has_moments() && b.has_moments();
  for (int64_t k = 0; k < c; ++k) {
    const double al = lo_at(a, k), ah = hi_at(a, k), bl = lo_at(b, k), bh = hi_at(b, k);
    if (add) {
      d.lo.push_back(static_cast<float>(al + bl));
      d.hi.push_back(static_cast<float>(ah + bh));
    } else {
      const double p[] = {al * bl, al * bh, ah * bl, ah * bh};
      d.lo.push_back(static_cast<float>(*std::min_element(p, p + 4)));
      d.hi.push_back(static_cast<float>(*std::max_element(p, p + 4)));
    }
    if (!moments) continue;
    const double ma = mean_at(a, k), va = var_at(a, k), mb = mean_at(b, k), vb = var_at(b, k);
    d.mean.push_back(add ? ma + mb : ma * mb);
    d.var.push_back(add ? va + vb : (va + ma * ma) * (vb + mb * mb) - ma * ma * mb * mb);
  }
  tighten(d, ctx.options.sigmas);
  return {d};
}

Outs add_rule(const Node& n, const Ins& in, const RuleContext& ctx) { return binary_rule(n, in, ctx, true); }
Outs mul_rule(const Node& n, const Ins& in, const RuleContext& ctx) { return binary_rule(n, in, ctx, false); }

// ---- layout ----

Outs cat_rule(const Node& n, const Ins& in, const RuleContext& ctx) {
  const int64_t axis = axis_of(ctx, n.outputs[0], n.attrs.axis);
  ValueDist d;
  d.rule = "cat";
  bool by_channel = axis == 1;
  std::vector<ValueDist> parts;
  for (size_t k = 0; k < in.size() && by_channel; ++k) {
    const int64_t c = channels_of(ctx, n.inputs[k]);
    if (c <= 0 || (in[k]->channels() != 1 && in[k]->channels() != c))
      by_channel = false;
    else
      parts.push_back(widen(*in[k], c));
  }
  bool moments = true;
  for (const ValueDist* x : in) moments = moments && x->has_moments();
  if (!by_channel) {
    ValueDist u = collapse(*in[0], "cat");
    for (size_t k = 1; k < in.size(); ++k) {
      const ValueDist o = collapse(*in[k], "cat");
      u.lo[0] = std::min(u.lo[0], o.lo[0]);
      u.hi[0] = std::max(u.hi[0], o.hi[0]);
    }
    u.mean.clear();
    u.var.clear();
    return {u};
  }
  for (const ValueDist& p : parts) {
    d.lo.insert(d.lo.end(), p.lo.begin(), p.lo.end());
    d.hi.insert(d.hi.end(), p.hi.begin(), p.hi.end());
    if (moments) {
      d.mean.insert(d.mean.end(), p.mean.begin(), p.mean.end());
      d.var.insert(d.var.end(), p.var.begin(), p.var.end());
    }
  }
  return {d};
}

Outs max_pool_rule(const Node&, const Ins& in, const RuleContext&) {
  ValueDist d = *in[0];
  d.rule = "max_pool";
  d.mean.clear();
  d.var.clear();
  return {d};
}

Outs avg_pool_rule(const Node& n, const Ins& in, const RuleContext&) {
  ValueDist d = *in[0];
  d.rule = "avg_pool";
  const bool zeros =
      n.kind == OpKind::AvgPool2d && n.attrs.count_include_pad && (n.attrs.padding[0] > 0 || n.attrs.padding[1] > 0);
  if (zeros)
    for (size_t c = 0; c < d.lo.size(); ++c) d.lo[c] = std::min(d.lo[c], 0.0f), d.hi[c] = std::max(d.hi[c], 0.0f);
  return {d};
}

Outs mean_rule(const Node& n, const Ins& in, const RuleContext& ctx) {
  for (int64_t dim : n.attrs.dims)
    if (axis_of(ctx, n.inputs[0], dim) == 1 || axis_of(ctx, n.inputs[0], dim) < 0) return {collapse(*in[0], "mean")};
  return avg_pool_rule(n, in, ctx);
}

Outs flatten_rule(const Node& n, const Ins& in, const RuleContext& ctx) {
  const ValueDist& x = *in[0];
  const Shape& s = ctx.g.value(n.inputs[0]).shape;
  const int64_t start = axis_of(ctx, n.inputs[0], n.attrs.start_dim);
  if (start >= 2 || x.channels() == 1) return copy_rule(n, in, ctx);
  if (start != 1 || s.size() < 2 || x.channels() != s[1]) return {collapse(x, "flatten")};
  const int64_t per = numel(Shape(s.begin() + 2, s.end()));  // features per channel
  ValueDist d;
  d.rule = x.rule;
  for (int64_t c = 0; c < x.channels(); ++c)
    for (int64_t k = 0; k < per; ++k) {
      d.lo.push_back(lo_at(x, c));
      d.hi.push_back(hi_at(x, c));
      if (x.has_moments()) {
        d.mean.push_back(mean_at(x, c));
        d.var.push_back(var_at(x, c));
      }
    }
  return {d};
}

Outs collapse_rule(const Node& n, const Ins& in, const RuleContext&) {
  return {collapse(*in[0], std::string(op_name(n.kind)))};
}

Outs transpose_rule(const Node& n, const Ins& in, const RuleContext& ctx) {
  if (n.attrs.dims.size() >= 2 && n.attrs.dims[0] == 0 && n.attrs.dims[1] == 1) return copy_rule(n, in, ctx);
  return collapse_rule(n, in, ctx);
}

Outs split_rule(const Node& n, const Ins& in, const RuleContext& ctx) {
  const ValueDist& x = *in[0];
  const int64_t axis = axis_of(ctx, n.inputs[0], n.attrs.axis);
  if (axis != 1 || x.channels() == 1) return copy_rule(n, in, ctx);
  Outs outs;
  int64_t begin = 0;
  for (ValueId o : n.outputs) {
    const int64_t c = channels_of(ctx, o);
    if (c <= 0 || begin + c > x.channels()) return Outs(n.outputs.size(), collapse(x, "split"));
    ValueDist d;
    d.rule = x.rule;
    d.lo.assign(x.lo.begin() + begin, x.lo.begin() + begin + c);
    d.hi.assign(x.hi.begin() + begin, x.hi.begin() + begin + c);
    if (x.has_moments()) {
      d.mean.assign(x.mean.begin() + begin, x.mean.begin() + begin + c);
      d.var.assign(x.var.begin() + begin, x.var.begin() + begin + c);
    }
    begin += c;
    outs.push_back(std::move(d));
  }
  return outs;
}

struct RuleEntry {
  OpKind kind;
  DistRule rule;
};

// One rule per op kind (bn_ranges.h lists them).
constexpr RuleEntry kRules[] = {
    {OpKind::Conv2d, layer_rule},
    {OpKind::Linear, layer_rule},
    {OpKind::BatchNorm, batch_norm_rule},
    {OpKind::Relu, relu_rule},
    {OpKind::Relu6, relu6_rule},
    {OpKind::Hardtanh, hardtanh_rule},
    {OpKind::Silu, silu_rule},
    {OpKind::Sigmoid, sigmoid_rule},
    {OpKind::Tanh, tanh_rule},
    {OpKind::Hardswish, hardswish_rule},
    {OpKind::Hardsigmoid, hardsigmoid_rule},
    {OpKind::Gelu, gelu_rule},
    {OpKind::Add, add_rule},
    {OpKind::Mul, mul_rule},
    {OpKind::Cat, cat_rule},
    {OpKind::MaxPool2d, max_pool_rule},
    {OpKind::AvgPool2d, avg_pool_rule},
    {OpKind::AdaptiveAvgPool2d, avg_pool_rule},
    {OpKind::Mean, mean_rule},
    {OpKind::Flatten, flatten_rule},
    {OpKind::Reshape, collapse_rule},
    {OpKind::Transpose, transpose_rule},
    {OpKind::Chunk, split_rule},
    {OpKind::Split, split_rule},
    {OpKind::Identity, copy_rule},
    {OpKind::Softmax, softmax_rule},
};

}  // namespace

DistRule dist_rule(OpKind kind) {
  for (const RuleEntry& e : kRules)
    if (e.kind == kind) return e.rule;
  throw Error("no BN-range rule for op " + std::string(op_name(kind)));
}

}  // namespace mqcalib::detail
