// mqcalib/src/graph/bn_ranges.cpp: the propagation driver (rules in bn_range_rules.cpp, list in
// bn_ranges.h).
#include "graph/bn_ranges.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "graph/bn_range_rules.h"

namespace mqcalib {

float ValueDist::min() const { return lo.empty() ? 0.0f : *std::min_element(lo.begin(), lo.end()); }
float ValueDist::max() const { return hi.empty() ? 0.0f : *std::max_element(hi.begin(), hi.end()); }

namespace detail {

ValueDist collapse(const ValueDist& d, const std::string& rule) {
  ValueDist out;
  out.rule = rule;
  out.lo = {d.min()};
  out.hi = {d.max()};
  if (d.has_moments()) {
    // The equal-weight mixture of the channels: mean of means, E[x^2] mean of (var + mean^2).
    double m = 0.0, s = 0.0;
    for (size_t c = 0; c < d.mean.size(); ++c) {
      m += d.mean[c];
      s += d.var[c] + d.mean[c] * d.mean[c];
    }
    m /= static_cast<double>(d.mean.size());
    s /= static_cast<double>(d.mean.size());
    out.mean = {m};
    out.var = {std::max(0.0, s - m * m)};
  }
  return out;
}

void tighten(ValueDist& d, double sigmas) {
  if (!d.has_moments()) return;
  const size_t n = std::max(d.lo.size(), d.mean.size());
  if (d.lo.size() != n) d.lo.assign(n, d.lo[0]);
  if (d.hi.size() != n) d.hi.assign(n, d.hi[0]);
  for (size_t c = 0; c < n; ++c) {
    const double m = mean_at(d, static_cast<int64_t>(c)), sd = std::sqrt(var_at(d, static_cast<int64_t>(c)));
    const float lo = static_cast<float>(m - sigmas * sd), hi = static_cast<float>(m + sigmas * sd);
    const float nlo = std::max(d.lo[c], lo), nhi = std::min(d.hi[c], hi);
    if (nlo <= nhi) {
      d.lo[c] = nlo;
      d.hi[c] = nhi;
    }
  }
}

}  // namespace detail

InputRange preprocessed_pixel_range(ValueId input, const std::vector<float>& mean, const std::vector<float>& std) {
  if (mean.empty() || mean.size() != std.size())
    throw Error("input range: " + std::to_string(mean.size()) + " means for " + std::to_string(std.size()) + " stds");
  InputRange r;
  r.value = input;
  for (size_t c = 0; c < mean.size(); ++c) {
    if (!(std[c] > 0.0f)) throw Error("input range: std[" + std::to_string(c) + "] must be positive");
    const float a = (0.0f - mean[c]) / std[c], b = (1.0f - mean[c]) / std[c];
    r.lo.push_back(std::min(a, b));
    r.hi.push_back(std::max(a, b));
  }
  return r;
}

std::vector<ValueDist> bn_value_dists(const Graph& g, const std::vector<InputRange>& inputs, const BnRangeOptions& o) {
  if (!(o.sigmas > 0.0) || !std::isfinite(o.sigmas))
    throw Error("BN ranges: the number of standard deviations must be positive, got " + std::to_string(o.sigmas));
  std::vector<ValueDist> dist(g.values().size());
  for (const InputRange& in : inputs) {
    if (std::find(g.inputs().begin(), g.inputs().end(), in.value) == g.inputs().end())
      throw Error("BN ranges: an input range is given for a value that is not a graph input");
    const std::string& name = g.value(in.value).name;
    if (in.lo.empty() || in.lo.size() != in.hi.size())
      throw Error("BN ranges: input '" + name + "' has " + std::to_string(in.lo.size()) + " minima for " +
                  std::to_string(in.hi.size()) + " maxima");
    for (size_t c = 0; c < in.lo.size(); ++c)
      if (!(in.lo[c] <= in.hi[c]))
        throw Error("BN ranges: input '" + name + "' channel " + std::to_string(c) + ": lo > hi");
    ValueDist& d = dist[static_cast<size_t>(in.value)];
    d.lo = in.lo;
    d.hi = in.hi;
    d.rule = "input";
  }
  const detail::RuleContext ctx{g, o};
  for (const Node& n : g.nodes()) {
    std::vector<const ValueDist*> ins;
    bool known = true;
    for (ValueId v : n.inputs) {
      ins.push_back(&dist[static_cast<size_t>(v)]);
      known = known && ins.back()->known();
    }
    if (!known) continue;  // no rule reaches the outputs
    std::vector<ValueDist> outs;
    try {
      outs = detail::dist_rule(n.kind)(n, ins, ctx);
    } catch (const Error& e) {
      throw Error("BN ranges: node '" + n.name + "' (" + std::string(op_name(n.kind)) + "): " + e.what());
    }
    MQCALIB_ASSERT(outs.size() == n.outputs.size(), "a BN-range rule gives one model per output");
    for (size_t k = 0; k < outs.size(); ++k) dist[static_cast<size_t>(n.outputs[k])] = std::move(outs[k]);
  }
  return dist;
}

}  // namespace mqcalib
