// mqcalib/src/graph/canonical.cpp: see canonical.h. One small check per op, in a table indexed by
// OpKind; the forms themselves are documented in graph/ir.h.
#include "graph/canonical.h"

#include <algorithm>
#include <array>
#include <string>

#include "core/error.h"

namespace mqcalib {

namespace {

// Context of one node's check: the node, its graph (for input shapes) and the error prefix.
struct Check {
  const Graph& g;
  const Node& n;

  [[noreturn]] void fail(const std::string& what) const {
    throw Error("graph: node '" + n.name + "' (" + std::string(op_name(n.kind)) + ")" +
                (n.source.empty() ? "" : " at " + n.source) + ": not in canonical form: " + what);
  }
  void that(bool ok, const std::string& what) const {
    if (!ok) fail(what);
  }
  // Input and output counts: inputs in [lo, hi], exactly `outs` outputs (0: one or more).
  void io(size_t lo, size_t hi, size_t outs = 1) const {
    if (n.inputs.size() < lo || n.inputs.size() > hi)
      fail("takes " + (lo == hi ? std::to_string(lo) : std::to_string(lo) + ".." + std::to_string(hi)) +
           " inputs, has " + std::to_string(n.inputs.size()));
    if (outs > 0 && n.outputs.size() != outs)
      fail("has " + std::to_string(n.outputs.size()) + " outputs, the op has " + std::to_string(outs));
    if (outs == 0 && n.outputs.empty()) fail("has no output");
  }
  // Rank of input k from Value::shape, -1 when unknown.
  int rank(size_t k = 0) const {
    const Shape& s = g.value(n.inputs.at(k)).shape;
    return s.empty() ? -1 : static_cast<int>(s.size());
  }
  // A dim attribute: non-negative, and below the input's rank `r` when known (r >= 0).
  void dim(int64_t d, const char* attr, int r) const {
    that(d >= 0, std::string(attr) + " = " + std::to_string(d) + " must be non-negative (normalized)");
    if (r >= 0)
      that(d < r, std::string(attr) + " = " + std::to_string(d) + " out of range for rank " + std::to_string(r));
  }
  void pair_at_least(const std::array<int64_t, 2>& v, int64_t lo, const char* attr) const {
    that(v[0] >= lo && v[1] >= lo, std::string(attr) + " must be >= " + std::to_string(lo) + ", got {" +
                                       std::to_string(v[0]) + ", " + std::to_string(v[1]) + "}");
  }
};

std::string shape_str(const TensorF32& t) { return shape_to_string(t.shape()); }

void check_conv2d(const Check& c) {
  c.io(1, 1);
  const Params& p = c.n.params;
  const Attrs& a = c.n.attrs;
  c.that(p.weight.rank() == 4, "weight must be [O, C/groups, kh, kw], got " + shape_str(p.weight));
  c.that(a.kernel[0] == p.weight.dim(2) && a.kernel[1] == p.weight.dim(3),
         "attrs.kernel {" + std::to_string(a.kernel[0]) + ", " + std::to_string(a.kernel[1]) +
             "} differs from the weight's " + shape_str(p.weight));
  c.pair_at_least(a.stride, 1, "stride");
  c.pair_at_least(a.padding, 0, "padding");
  c.pair_at_least(a.dilation, 1, "dilation");
  c.that(a.groups >= 1 && p.weight.dim(0) % a.groups == 0, "groups " + std::to_string(a.groups) + " must divide the " +
                                                               std::to_string(p.weight.dim(0)) + " output channels");
  c.that(p.bias.empty() || p.bias.shape() == Shape{p.weight.dim(0)},
         "bias " + shape_str(p.bias) + " must be [" + std::to_string(p.weight.dim(0)) + "] or empty");
  const Shape& x = c.g.value(c.n.inputs[0]).shape;
  if (!x.empty())
    c.that(x.size() == 4 && x[1] == p.weight.dim(1) * a.groups,
           "input " + shape_to_string(x) + " does not have the weight's " + std::to_string(p.weight.dim(1) * a.groups) +
               " channels in [N,C,H,W]");
}

void check_linear(const Check& c) {
  c.io(1, 1);
  const Params& p = c.n.params;
  c.that(p.weight.rank() == 2, "weight must be [O, I], got " + shape_str(p.weight));
  c.that(p.bias.empty() || p.bias.shape() == Shape{p.weight.dim(0)},
         "bias " + shape_str(p.bias) + " must be [" + std::to_string(p.weight.dim(0)) + "] or empty");
}

void check_batch_norm(const Check& c) {
  c.io(1, 1);
  const Params& p = c.n.params;
  const Shape ch = {p.running_mean.size()};
  c.that(p.running_mean.rank() == 1 && p.running_var.shape() == ch && p.weight.shape() == ch && p.bias.shape() == ch,
         "running_mean, running_var, weight and bias must all be [C], got " + shape_str(p.running_mean) + ", " +
             shape_str(p.running_var) + ", " + shape_str(p.weight) + ", " + shape_str(p.bias));
  c.that(c.n.attrs.eps > 0.0f, "eps must be positive");
}

void check_unary(const Check& c) { c.io(1, 1); }

void check_hardtanh(const Check& c) {
  c.io(1, 1);
  const Attrs& a = c.n.attrs;
  c.that(a.min_val < a.max_val, "min_val must be below max_val");
  c.that(!(a.min_val == 0.0f && a.max_val == 6.0f), "hardtanh(0, 6) is relu6");
}

void check_binary(const Check& c) {
  if (c.n.attrs.has_scalar)
    c.io(1, 1);
  else
    c.io(2, 2);
}

void check_cat(const Check& c) {
  c.io(1, c.n.inputs.size() + 1);
  c.dim(c.n.attrs.axis, "attrs.axis", c.rank());
}

void check_pool(const Check& c) {
  c.io(1, 1);
  const Attrs& a = c.n.attrs;
  c.pair_at_least(a.kernel, 1, "kernel");
  c.pair_at_least(a.stride, 1, "stride");
  c.pair_at_least(a.padding, 0, "padding");
  c.pair_at_least(a.dilation, 1, "dilation");
  if (c.n.kind == OpKind::AvgPool2d) c.that(a.dilation[0] == 1 && a.dilation[1] == 1, "avg_pool2d has no dilation");
  if (c.rank() >= 0) c.that(c.rank() == 4, "input must be [N,C,H,W]");
}

void check_adaptive_pool(const Check& c) {
  c.io(1, 1);
  c.pair_at_least(c.n.attrs.output_size, 1, "output_size");
  if (c.rank() >= 0) c.that(c.rank() == 4, "input must be [N,C,H,W]");
}

void check_mean(const Check& c) {
  c.io(1, 1);
  const std::vector<int64_t>& d = c.n.attrs.dims;
  c.that(!d.empty(), "attrs.dims is empty");
  for (size_t i = 0; i < d.size(); ++i) {
    c.dim(d[i], "attrs.dims", c.rank());
    if (i > 0) c.that(d[i] > d[i - 1], "attrs.dims must be strictly ascending");
  }
}

void check_flatten(const Check& c) {
  c.io(1, 1);
  c.dim(c.n.attrs.start_dim, "attrs.start_dim", c.rank());
  c.dim(c.n.attrs.end_dim, "attrs.end_dim", c.rank());
  c.that(c.n.attrs.start_dim <= c.n.attrs.end_dim, "start_dim must not exceed end_dim");
}

void check_reshape(const Check& c) {
  c.io(1, 1);
  int infer = 0;
  for (int64_t d : c.n.attrs.dims) {
    c.that(d >= -1, "attrs.dims holds " + std::to_string(d) + " (sizes are >= 0, or one -1)");
    infer += d == -1;
  }
  c.that(infer <= 1, "attrs.dims holds more than one -1");
}

void check_transpose(const Check& c) {
  c.io(1, 1);
  const std::vector<int64_t>& p = c.n.attrs.dims;
  std::vector<int64_t> sorted = p;
  std::sort(sorted.begin(), sorted.end());
  for (size_t i = 0; i < sorted.size(); ++i)
    c.that(sorted[i] == static_cast<int64_t>(i),
           "attrs.dims is not a permutation of 0.." + std::to_string(p.size() - 1));
  if (c.rank() >= 0)
    c.that(static_cast<int>(p.size()) == c.rank(),
           "attrs.dims has " + std::to_string(p.size()) + " entries for an input of rank " + std::to_string(c.rank()));
}

void check_chunk(const Check& c) {
  c.io(1, 1, 0);
  c.dim(c.n.attrs.axis, "attrs.axis", c.rank());
  c.that(c.n.attrs.chunks >= 1, "attrs.chunks must be >= 1");
  c.that(static_cast<int64_t>(c.n.outputs.size()) <= c.n.attrs.chunks, "more outputs than chunks");
}

void check_split(const Check& c) {
  c.io(1, 1, 0);
  c.dim(c.n.attrs.axis, "attrs.axis", c.rank());
  c.that(c.n.attrs.dims.size() == c.n.outputs.size(), "attrs.dims must hold one section size per output (" +
                                                          std::to_string(c.n.outputs.size()) + "), it holds " +
                                                          std::to_string(c.n.attrs.dims.size()));
  for (int64_t s : c.n.attrs.dims) c.that(s >= 0, "section sizes must be >= 0");
}

void check_softmax(const Check& c) {
  c.io(1, 1);
  c.dim(c.n.attrs.axis, "attrs.axis", c.rank());
}

using CheckFn = void (*)(const Check&);

struct CheckEntry {
  OpKind kind;
  CheckFn fn;
};

constexpr CheckEntry kChecks[] = {
    {OpKind::Conv2d, check_conv2d},
    {OpKind::Linear, check_linear},
    {OpKind::BatchNorm, check_batch_norm},
    {OpKind::Relu, check_unary},
    {OpKind::Relu6, check_unary},
    {OpKind::Hardtanh, check_hardtanh},
    {OpKind::Silu, check_unary},
    {OpKind::Sigmoid, check_unary},
    {OpKind::Tanh, check_unary},
    {OpKind::Hardswish, check_unary},
    {OpKind::Hardsigmoid, check_unary},
    {OpKind::Gelu, check_unary},
    {OpKind::Add, check_binary},
    {OpKind::Mul, check_binary},
    {OpKind::Cat, check_cat},
    {OpKind::MaxPool2d, check_pool},
    {OpKind::AvgPool2d, check_pool},
    {OpKind::AdaptiveAvgPool2d, check_adaptive_pool},
    {OpKind::Mean, check_mean},
    {OpKind::Flatten, check_flatten},
    {OpKind::Reshape, check_reshape},
    {OpKind::Transpose, check_transpose},
    {OpKind::Chunk, check_chunk},
    {OpKind::Split, check_split},
    {OpKind::Identity, check_unary},
    {OpKind::Softmax, check_softmax},
};

// kChecks in OpKind order (the entries above are listed in that order; checked here).
constexpr bool checks_in_op_order() {
  if (sizeof(kChecks) / sizeof(kChecks[0]) != kNumOpKinds) return false;
  for (size_t i = 0; i < kNumOpKinds; ++i)
    if (static_cast<size_t>(kChecks[i].kind) != i) return false;
  return true;
}
static_assert(checks_in_op_order(), "kChecks must hold one entry per OpKind, in OpKind order");

}  // namespace

void validate_canonical_node(const Graph& g, const Node& n) { kChecks[static_cast<size_t>(n.kind)].fn(Check{g, n}); }

void validate_canonical(const Graph& g) {
  for (const Node& n : g.nodes()) validate_canonical_node(g, n);
}

}  // namespace mqcalib
