// mqcalib/src/exec/int_executor.cpp: the integer executor's op table and interpreter (see
// int_executor.h). Each op is one small function; one that returns false leaves the node to the
// float path (dequantize, FP kernel, quantize), as the runtime does for an op it has no kernel for.
#include "exec/int_executor.h"

#include <algorithm>
#include <string>

#include "exec/executor.h"

namespace mqcalib {

namespace {

using Ins = std::vector<const IntTensor*>;

struct OpContext {
  const IntModel& m;
  const Node& n;
  size_t index;
  const std::optional<ActQ>& out_q;  // quantizer of the (first) output
};

IntTensor codes(Shape s, ActQ p) {
  IntTensor t;
  t.shape = std::move(s);
  t.is_int = true;
  t.p = p;
  t.q.assign(static_cast<size_t>(numel(t.shape)), 0);
  return t;
}

IntTensor quantized(const TensorF32& x, const ActQ& p, Rounding r) {
  IntTensor t = codes(x.shape(), p);
  for (int64_t i = 0; i < x.size(); ++i) t.q[static_cast<size_t>(i)] = quantize_value(x[i], p, r);
  return t;
}

IntTensor floats(TensorF32 f) {
  IntTensor t;
  t.shape = f.shape();
  t.f = std::move(f);
  return t;
}

bool all_int(const Ins& in) {
  return std::all_of(in.begin(), in.end(), [](const IntTensor* t) { return t->is_int; });
}

// Codes moved to grid `p` (no-op when already there).
IntTensor on_grid(const IntTensor& t, const ActQ& p, RequantMode mode) {
  if (t.p == p) return t;
  IntTensor r = codes(t.shape, p);
  rescale_i32(t.q.data(), t.size(), t.p, p, mode, r.q.data());
  return r;
}

// Pure data movement (and max pool) on codes: the FP kernel on the codes as floats is exact.
std::vector<IntTensor> move_codes(const Node& n, const Ins& in, const ActQ& p) {
  std::vector<TensorF32> fs;
  for (const IntTensor* t : in) fs.emplace_back(t->shape, std::vector<float>(t->q.begin(), t->q.end()));
  std::vector<TensorF32*> ptrs;
  for (TensorF32& f : fs) ptrs.push_back(&f);
  std::vector<IntTensor> out;
  for (TensorF32& y : run_node(n, ptrs)) {
    IntTensor t = codes(y.shape(), p);
    for (int64_t i = 0; i < y.size(); ++i) t.q[static_cast<size_t>(i)] = static_cast<int32_t>(y[i]);
    out.push_back(std::move(t));
  }
  return out;
}

std::vector<int32_t> weight_zero_points(const IntWeight& w) { return w.params.zero_point; }

// Accumulator -> output codes (requantized) or floats float(acc) * (s_x * s_w[c]) (QGemm's float output).
IntTensor finish_layer(const OpContext& c, const IntWeight& w, float s_x, const std::vector<int32_t>& acc,
                       const Shape& shape, int64_t channels, int64_t inner) {
  if (c.out_q) {
    IntTensor y = codes(shape, *c.out_q);
    requantize_acc_i32(acc.data(), numel(shape), channels, inner,
                       output_multipliers(s_x, w.params.scale, c.out_q->scale, c.m.mode), *c.out_q, c.m.mode,
                       y.q.data());
    return y;
  }
  TensorF32 f(shape);
  const bool pc = w.params.scale.size() > 1;
  for (int64_t i = 0; i < f.size(); ++i) {
    const float sw = w.params.scale[pc ? static_cast<size_t>((i / inner) % channels) : 0];
    f[i] = static_cast<float>(acc[static_cast<size_t>(i)]) * (s_x * sw);
  }
  return floats(std::move(f));
}

bool op_conv(const OpContext& c, const Ins& in, std::vector<IntTensor>& out) {
  const auto& w = c.m.weight[c.index];
  if (!w || in.size() != 1 || !in[0]->is_int) return false;
  const Shape& ws = c.n.params.weight.shape();
  const Conv2dParams cp = conv2d_params(c.n.attrs);
  const Shape ys = conv2d_output_shape(in[0]->shape, ws, cp);
  std::vector<int32_t> acc(static_cast<size_t>(numel(ys)));
  const auto& b = c.m.bias[c.index];
  conv2d_nchw_i32(in[0]->q.data(), in[0]->shape, in[0]->p.zp, w->codes.data(), ws, weight_zero_points(*w),
                  b ? b->codes.data() : nullptr, cp, acc.data());
  out.push_back(finish_layer(c, *w, in[0]->p.scale, acc, ys, ys[1], ys[2] * ys[3]));
  return true;
}

bool op_linear(const OpContext& c, const Ins& in, std::vector<IntTensor>& out) {
  const auto& w = c.m.weight[c.index];
  if (!w || in.size() != 1 || !in[0]->is_int) return false;
  const int64_t O = c.n.params.weight.dim(0), I = c.n.params.weight.dim(1);
  if (in[0]->shape.empty() || in[0]->shape.back() != I) return false;  // the FP path reports the shape error
  const int64_t M = in[0]->size() / I;
  Shape ys = in[0]->shape;
  ys.back() = O;
  std::vector<int32_t> acc(static_cast<size_t>(M * O));
  const auto& b = c.m.bias[c.index];
  linear_i32(in[0]->q.data(), M, I, in[0]->p.zp, w->codes.data(), O, weight_zero_points(*w),
             b ? b->codes.data() : nullptr, acc.data());
  out.push_back(finish_layer(c, *w, in[0]->p.scale, acc, ys, O, 1));
  return true;
}

bool op_add(const OpContext& c, const Ins& in, std::vector<IntTensor>& out) {
  if (c.n.attrs.has_scalar || in.size() != 2 || !all_int(in) || !c.out_q || in[0]->shape != in[1]->shape) return false;
  IntTensor y = codes(in[0]->shape, *c.out_q);
  add_i32(in[0]->q.data(), in[0]->p, in[1]->q.data(), in[1]->p, y.size(), *c.out_q, c.m.mode, y.q.data());
  out.push_back(std::move(y));
  return true;
}

// relu / relu6 / hardtanh: a clamp on the input's grid; onto a different output grid as the runtime
// does it (float clamp between DQ and Q for the float scheme, clamp then rescale for Q31).
bool op_clamp(const OpContext& c, const Ins& in, std::vector<IntTensor>& out) {
  if (in.size() != 1 || !in[0]->is_int) return false;
  const IntTensor& x = *in[0];
  float lo = 0.0f, hi = 6.0f;
  if (c.n.kind == OpKind::Hardtanh) lo = c.n.attrs.min_val, hi = c.n.attrs.max_val;
  const bool bounded = c.n.kind != OpKind::Relu;
  const ActQ p = c.out_q ? *c.out_q : x.p;
  if (p != x.p && c.m.mode.kind == IntegerRequant::FloatMultiplier) {
    IntTensor y = codes(x.shape, p);
    for (int64_t i = 0; i < x.size(); ++i) {
      float v = std::max(static_cast<float>(x.q[static_cast<size_t>(i)] - x.p.zp) * x.p.scale, lo);
      if (bounded) v = std::min(v, hi);
      y.q[static_cast<size_t>(i)] = quantize_value(v, p, c.m.mode.rounding);
    }
    out.push_back(std::move(y));
    return true;
  }
  IntTensor y = x;
  const int32_t qlo = quantize_value(lo, x.p, c.m.mode.rounding);
  const int32_t qhi = bounded ? quantize_value(hi, x.p, c.m.mode.rounding) : x.p.qmax;
  clamp_i32(y.q.data(), y.size(), qlo, qhi, y.q.data());
  out.push_back(on_grid(y, p, c.m.mode));
  return true;
}

// Max pool, flatten, reshape, transpose, identity, chunk, split: codes move; onto the output's grid after.
bool op_move(const OpContext& c, const Ins& in, std::vector<IntTensor>& out) {
  if (in.size() != 1 || !in[0]->is_int) return false;
  std::vector<IntTensor> moved = move_codes(c.n, in, in[0]->p);
  for (size_t k = 0; k < moved.size(); ++k) {  // each output (chunk, split) onto its own grid
    const auto& q = c.m.act[static_cast<size_t>(c.n.outputs.at(k))];
    out.push_back(q ? on_grid(moved[k], *q, c.m.mode) : std::move(moved[k]));
  }
  return true;
}

bool op_cat(const OpContext& c, const Ins& in, std::vector<IntTensor>& out) {
  if (in.empty() || !all_int(in)) return false;
  ActQ p = in[0]->p;
  if (c.out_q) {
    p = *c.out_q;
  } else if (!std::all_of(in.begin(), in.end(), [&](const IntTensor* t) { return t->p == p; })) {
    return false;
  }
  std::vector<IntTensor> moved;
  for (const IntTensor* t : in) moved.push_back(on_grid(*t, p, c.m.mode));  // QLinearConcat's per-input table
  Ins ptrs;
  for (const IntTensor& t : moved) ptrs.push_back(&t);
  out = move_codes(c.n, ptrs, p);
  return true;
}

// Average pools that cover the whole plane (adaptive 1x1, mean over H and W): QLinearGlobalAveragePool.
bool op_global_pool(const OpContext& c, const Ins& in, std::vector<IntTensor>& out) {
  if (in.size() != 1 || !in[0]->is_int || !c.out_q || in[0]->shape.size() != 4) return false;
  const Shape& xs = in[0]->shape;
  const Attrs& a = c.n.attrs;
  Shape ys{xs[0], xs[1], 1, 1};
  if (c.n.kind == OpKind::AdaptiveAvgPool2d) {
    if (a.output_size[0] != 1 || a.output_size[1] != 1) return false;
  } else {  // Mean
    std::vector<int64_t> d = a.dims;
    for (int64_t& v : d) v = v < 0 ? v + 4 : v;
    std::sort(d.begin(), d.end());
    if (d != std::vector<int64_t>{2, 3}) return false;
    if (!a.keepdim) ys = {xs[0], xs[1]};
  }
  IntTensor y = codes(ys, *c.out_q);
  global_avg_pool_i32(in[0]->q.data(), xs[0] * xs[1], xs[2] * xs[3], in[0]->p, *c.out_q, c.m.mode, y.q.data());
  out.push_back(std::move(y));
  return true;
}

using IntOp = bool (*)(const OpContext&, const Ins&, std::vector<IntTensor>&);

IntOp int_op_for(OpKind k) {
  switch (k) {
    case OpKind::Conv2d:
      return op_conv;
    case OpKind::Linear:
      return op_linear;
    case OpKind::Add:
      return op_add;
    case OpKind::Relu:
    case OpKind::Relu6:
    case OpKind::Hardtanh:
      return op_clamp;
    case OpKind::MaxPool2d:
    case OpKind::Flatten:
    case OpKind::Reshape:
    case OpKind::Transpose:
    case OpKind::Identity:
    case OpKind::Chunk:
    case OpKind::Split:
      return op_move;
    case OpKind::Cat:
      return op_cat;
    case OpKind::AdaptiveAvgPool2d:
    case OpKind::Mean:
      return op_global_pool;
    default:
      return nullptr;
  }
}

// The runtime's path for an op it has no integer kernel for: DequantizeLinear, the FP op, QuantizeLinear.
std::vector<IntTensor> run_float(const IntModel& m, const Node& n, const Ins& in) {
  std::vector<TensorF32> fs;
  for (const IntTensor* t : in) fs.push_back(t->dequantized());
  std::vector<TensorF32*> ptrs;
  for (TensorF32& f : fs) ptrs.push_back(&f);
  std::vector<IntTensor> out;
  std::vector<TensorF32> ys = run_node(n, ptrs);
  for (size_t k = 0; k < ys.size(); ++k) {
    const auto& q = m.act[static_cast<size_t>(n.outputs[k])];
    out.push_back(q ? quantized(ys[k], *q, m.mode.rounding) : floats(std::move(ys[k])));
  }
  return out;
}

}  // namespace

TensorF32 IntTensor::dequantized() const {
  if (!is_int) return f;
  TensorF32 r(shape);
  for (int64_t i = 0; i < r.size(); ++i) r[i] = static_cast<float>(q[static_cast<size_t>(i)] - p.zp) * p.scale;
  return r;
}

IntExecutor::IntExecutor(const IntModel& m) : m_(m) {
  if (!m.graph) throw Error("integer executor: the model has no graph");
  m.graph->validate();
  if (m.act.size() != m.graph->values().size() || m.weight.size() != m.graph->nodes().size() ||
      m.bias.size() != m.graph->nodes().size())
    throw Error("integer executor: the model's tables do not match its graph (use make_int_model)");
}

std::vector<TensorF32> IntExecutor::run(const std::vector<TensorF32>& inputs, const IntValueHook& hook) const {
  const Graph& g = *m_.graph;
  if (inputs.size() != g.inputs().size())
    throw Error("integer executor: graph has " + std::to_string(g.inputs().size()) + " inputs but " +
                std::to_string(inputs.size()) + " tensors were given");
  float_ops_.clear();
  std::vector<int64_t> uses(g.values().size(), 0);
  for (const Node& n : g.nodes())
    for (ValueId v : n.inputs) ++uses[static_cast<size_t>(v)];
  for (ValueId v : g.outputs()) ++uses[static_cast<size_t>(v)];
  std::vector<IntTensor> vals(g.values().size());
  for (size_t k = 0; k < inputs.size(); ++k) {
    const size_t v = static_cast<size_t>(g.inputs()[k]);
    vals[v] = m_.act[v] ? quantized(inputs[k], *m_.act[v], m_.mode.rounding) : floats(inputs[k]);
    if (hook) hook(g.inputs()[k], vals[v]);
  }
  for (size_t i = 0; i < g.nodes().size(); ++i) {
    const Node& n = g.nodes()[i];
    Ins in;
    for (ValueId v : n.inputs) in.push_back(&vals[static_cast<size_t>(v)]);
    std::vector<IntTensor> out;
    const IntOp op = int_op_for(n.kind);
    const OpContext c{m_, n, i, m_.act[static_cast<size_t>(n.outputs.at(0))]};
    bool done = false;
    try {
      done = op && op(c, in, out);
    } catch (const Error& e) {
      throw Error("node '" + n.name + "' (" + std::string(op_name(n.kind)) + "), integer kernel: " + e.what());
    }
    if (!done) {
      out = run_float(m_, n, in);
      float_ops_.insert(n.name);
    }
    if (out.size() != n.outputs.size()) throw Error("node '" + n.name + "': wrong number of outputs");
    for (ValueId v : n.inputs)
      if (--uses[static_cast<size_t>(v)] == 0) vals[static_cast<size_t>(v)] = IntTensor();
    for (size_t k = 0; k < out.size(); ++k) {
      vals[static_cast<size_t>(n.outputs[k])] = std::move(out[k]);
      if (hook) hook(n.outputs[k], vals[static_cast<size_t>(n.outputs[k])]);
    }
  }
  std::vector<TensorF32> result;
  for (ValueId v : g.outputs()) result.push_back(vals[static_cast<size_t>(v)].dequantized());
  return result;
}

}  // namespace mqcalib
