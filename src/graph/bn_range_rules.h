// mqcalib/src/graph/bn_range_rules.h: internal to bn_ranges.cpp: the per-op rules (list in bn_ranges.h).
#pragma once

#include <vector>

#include "graph/bn_ranges.h"

namespace mqcalib::detail {

struct RuleContext {
  const Graph& g;
  const BnRangeOptions& options;
};

// Outputs' models (one per node output) from the inputs' models (one per node input, all known).
using DistRule = std::vector<ValueDist> (*)(const Node&, const std::vector<const ValueDist*>&, const RuleContext&);

// The rule of an op kind (every kind has one).
DistRule dist_rule(OpKind kind);

using Ins = std::vector<const ValueDist*>;
using Outs = std::vector<ValueDist>;

// The pointwise rules (bn_range_pointwise.cpp).
Outs relu_rule(const Node&, const Ins&, const RuleContext&);
Outs relu6_rule(const Node&, const Ins&, const RuleContext&);
Outs hardtanh_rule(const Node&, const Ins&, const RuleContext&);
Outs silu_rule(const Node&, const Ins&, const RuleContext&);
Outs sigmoid_rule(const Node&, const Ins&, const RuleContext&);
Outs tanh_rule(const Node&, const Ins&, const RuleContext&);
Outs hardswish_rule(const Node&, const Ins&, const RuleContext&);
Outs hardsigmoid_rule(const Node&, const Ins&, const RuleContext&);
Outs gelu_rule(const Node&, const Ins&, const RuleContext&);
Outs softmax_rule(const Node&, const Ins&, const RuleContext&);

// Shared helpers.
ValueDist collapse(const ValueDist& d, const std::string& rule);
// Channel c's entry (a one-entry model serves every channel).
inline float lo_at(const ValueDist& d, int64_t c) { return d.lo[d.lo.size() == 1 ? 0 : static_cast<size_t>(c)]; }
inline float hi_at(const ValueDist& d, int64_t c) { return d.hi[d.hi.size() == 1 ? 0 : static_cast<size_t>(c)]; }
inline double mean_at(const ValueDist& d, int64_t c) { return d.mean[d.mean.size() == 1 ? 0 : static_cast<size_t>(c)]; }
inline double var_at(const ValueDist& d, int64_t c) { return d.var[d.var.size() == 1 ? 0 : static_cast<size_t>(c)]; }
// lo/hi narrowed to mean +- n sd where the moments are known (and the band lies inside).
void tighten(ValueDist& d, double sigmas);

}  // namespace mqcalib::detail
