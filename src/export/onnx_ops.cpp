// mqcalib/src/export/onnx_ops.cpp: IR op -> ONNX (opset 13) nodes, one small emitter per op family.
// Weights of quantized layers go out as codes behind a DequantizeLinear; ops opset 13 lacks are
// written as their definitions (SiLU = x * Sigmoid(x), Hardswish = x * HardSigmoid(x), both GELUs).
#include <algorithm>
#include <cmath>

#include "export/onnx_builder.h"

namespace mqcalib::onnx_export {

namespace {

// The tensor's values as the std::vector the ONNX builder takes.
std::vector<float> as_vector(const TensorF32& t) { return std::vector<float>(t.vec().begin(), t.vec().end()); }

struct Ctx {
  Builder& b;
  const IntModel& m;
  const std::vector<Shape>& shapes;  // per value, from a forward pass of the example input
  size_t k;
  const Node& n;
  const std::vector<std::string>& in;
  const std::vector<std::string>& out;
};

std::vector<int64_t> dims_of(const Shape& s) { return std::vector<int64_t>(s.begin(), s.end()); }

// Weight (codes + DQ, or float) and bias (int32 + DQ, or float); returns the names the layer reads.
// `transpose`: write the weight as [I, O] (MatMul), per-channel axis 1.
std::pair<std::string, std::string> layer_params(const Ctx& c, bool transpose) {
  const Node& n = c.n;
  const std::string wname = n.name + ".weight", bname = n.name + ".bias";
  Shape ws = n.params.weight.shape();
  const auto& w = c.m.weight[c.k];
  auto transposed = [&](const auto& v) {
    auto t = v;
    const int64_t O = ws[0], I = ws[1];
    for (int64_t o = 0; o < O; ++o)
      for (int64_t i = 0; i < I; ++i) t[static_cast<size_t>(i * O + o)] = v[static_cast<size_t>(o * I + i)];
    return t;
  };
  const Shape out_ws = transpose ? Shape{ws[1], ws[0]} : ws;
  std::string wread = wname, bread;
  if (w) {
    const bool is_signed = w->params.qmin < 0, pc = w->params.per_channel();
    const std::vector<int64_t> sd =
        pc ? std::vector<int64_t>{static_cast<int64_t>(w->params.scale.size())} : std::vector<int64_t>{};
    const std::string q =
        c.b.i8(wname + "_quantized", dims_of(out_ws), transpose ? transposed(w->codes) : w->codes, is_signed);
    const std::string s = c.b.f32(wname + "_scale", sd, w->params.scale);
    const std::string z = c.b.i8(wname + "_zero_point", sd, w->params.zero_point, is_signed);
    onnx::NodeProto* dq = c.b.node("DequantizeLinear", wname + "_DequantizeLinear", {q, s, z}, {wname});
    if (pc) Builder::integer(dq, "axis", transpose ? 1 : 0);
  } else {
    const std::vector<float> v = as_vector(n.params.weight);
    c.b.f32(wname, dims_of(out_ws), transpose ? transposed(v) : v);
  }
  if (n.params.bias.empty()) return {wread, bread};
  const auto& bq = c.m.bias[c.k];
  const int64_t O = n.params.bias.size();
  if (bq) {
    const bool pc = bq->scale.size() > 1;
    const std::vector<int64_t> sd = pc ? std::vector<int64_t>{O} : std::vector<int64_t>{};
    const std::string q = c.b.i32(bname + "_quantized", {O}, bq->codes);
    const std::string s = c.b.f32(bname + "_scale", sd, bq->scale);
    const std::string z = c.b.i32(bname + "_zero_point", sd, std::vector<int32_t>(pc ? static_cast<size_t>(O) : 1, 0));
    onnx::NodeProto* dq = c.b.node("DequantizeLinear", bname + "_DequantizeLinear", {q, s, z}, {bname});
    if (pc) Builder::integer(dq, "axis", 0);
  } else {
    c.b.f32(bname, {O}, as_vector(n.params.bias));
  }
  return {wread, bname};
}

void conv(const Ctx& c) {
  const auto [w, b] = layer_params(c, false);
  std::vector<std::string> ins{c.in.at(0), w};
  if (!b.empty()) ins.push_back(b);
  onnx::NodeProto* o = c.b.node("Conv", c.n.name, ins, {c.out[0]});
  const Attrs& a = c.n.attrs;
  const Shape& ws = c.n.params.weight.shape();
  Builder::ints(o, "kernel_shape", {ws[2], ws[3]});
  Builder::ints(o, "strides", {a.stride[0], a.stride[1]});
  Builder::ints(o, "pads", {a.padding[0], a.padding[1], a.padding[0], a.padding[1]});
  Builder::ints(o, "dilations", {a.dilation[0], a.dilation[1]});
  Builder::integer(o, "group", a.groups);
}

void linear(const Ctx& c) {
  const Shape& xs = c.shapes.at(static_cast<size_t>(c.n.inputs.at(0)));
  if (xs.size() == 2) {  // Gemm: ONNX Runtime fuses DQ -> Gemm (-> Q) into QGemm
    const auto [w, b] = layer_params(c, false);
    std::vector<std::string> ins{c.in.at(0), w};
    if (!b.empty()) ins.push_back(b);
    Builder::integer(c.b.node("Gemm", c.n.name, ins, {c.out[0]}), "transB", 1);
    return;
  }
  const auto [w, b] = layer_params(c, true);
  if (b.empty()) {
    c.b.node("MatMul", c.n.name, {c.in.at(0), w}, {c.out[0]});
    return;
  }
  const std::string mm = c.b.fresh(c.out[0] + "_matmul");
  c.b.node("MatMul", c.n.name + "_matmul", {c.in.at(0), w}, {mm});
  c.b.node("Add", c.n.name, {mm, b}, {c.out[0]});
}

void clip(const Ctx& c, float lo, float hi) {
  const std::string l = c.b.f32(c.b.fresh(c.n.name + "_min"), {}, {lo});
  const std::string h = c.b.f32(c.b.fresh(c.n.name + "_max"), {}, {hi});
  c.b.node("Clip", c.n.name, {c.in.at(0), l, h}, {c.out[0]});
}

void unary(const Ctx& c, const char* op) { c.b.node(op, c.n.name, {c.in.at(0)}, {c.out[0]}); }

// x * g(x) with g = Sigmoid (SiLU) or HardSigmoid(1/6, 1/2) (Hardswish).
void gated(const Ctx& c, bool hard) {
  const std::string gate = c.b.fresh(c.out[0] + "_gate");
  onnx::NodeProto* g = c.b.node(hard ? "HardSigmoid" : "Sigmoid", c.n.name + "_gate", {c.in.at(0)}, {gate});
  if (hard) {
    Builder::real(g, "alpha", 1.0f / 6.0f);
    Builder::real(g, "beta", 0.5f);
  }
  c.b.node("Mul", c.n.name, {c.in.at(0), gate}, {c.out[0]});
}

// GELU as its definition: erf, 0.5 x (1 + erf(x / sqrt 2)); tanh approximation,
// 0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3))).
void gelu(const Ctx& c) {
  const std::string base = c.out[0], x = c.in.at(0);
  auto constant = [&](const char* what, float v) { return c.b.f32(c.b.fresh(base + "_" + what), {}, {v}); };
  auto op = [&](const char* type, const char* what, std::vector<std::string> ins) {
    const std::string o = c.b.fresh(base + "_" + what);
    c.b.node(type, c.n.name + "_" + what, ins, {o});
    return o;
  };
  std::string inner;
  if (c.n.attrs.gelu == GeluApproximation::Erf) {
    inner = op("Erf", "erf", {op("Div", "div", {x, constant("sqrt2", std::sqrt(2.0f))})});
  } else if (c.n.attrs.gelu == GeluApproximation::Tanh) {
    const std::string x3 = op("Mul", "x3", {op("Mul", "x2", {x, x}), x});
    const std::string sum = op("Add", "sum", {x, op("Mul", "cubic", {x3, constant("k", 0.044715f)})});
    inner = op("Tanh", "tanh", {op("Mul", "scaled", {sum, constant("sqrt2_pi", std::sqrt(2.0f / 3.14159265358979f))})});
  } else {
    throw Error("onnx export: node '" + c.n.name + "': gelu approximation is unknown");
  }
  const std::string m = op("Mul", "mul", {x, op("Add", "add1", {inner, constant("one", 1.0f)})});
  c.b.node("Mul", c.n.name, {m, constant("half", 0.5f)}, {c.out[0]});
}

void binary(const Ctx& c, const char* op) {
  if (c.n.attrs.has_scalar && c.in.size() == 1) {
    const std::string s = c.b.f32(c.b.fresh(c.n.name + "_scalar"), {}, {c.n.attrs.scalar});
    c.b.node(op, c.n.name, {c.in.at(0), s}, {c.out[0]});
    return;
  }
  c.b.node(op, c.n.name, {c.in.at(0), c.in.at(1)}, {c.out[0]});
}

void pool(const Ctx& c, bool max) {
  const Attrs& a = c.n.attrs;
  onnx::NodeProto* o = c.b.node(max ? "MaxPool" : "AveragePool", c.n.name, {c.in.at(0)}, {c.out[0]});
  Builder::ints(o, "kernel_shape", {a.kernel[0], a.kernel[1]});
  Builder::ints(o, "strides",
                {a.stride[0] > 0 ? a.stride[0] : a.kernel[0], a.stride[1] > 0 ? a.stride[1] : a.kernel[1]});
  Builder::ints(o, "pads", {a.padding[0], a.padding[1], a.padding[0], a.padding[1]});
  Builder::integer(o, "ceil_mode", a.ceil_mode ? 1 : 0);
  if (max) Builder::ints(o, "dilations", {a.dilation[0], a.dilation[1]});
  if (!max) Builder::integer(o, "count_include_pad", a.count_include_pad ? 1 : 0);
}

// Static-shape helpers: the example input's shapes, batch (dim 0) kept dynamic.
Shape in_shape(const Ctx& c) { return c.shapes.at(static_cast<size_t>(c.n.inputs.at(0))); }
Shape out_shape(const Ctx& c, size_t i = 0) { return c.shapes.at(static_cast<size_t>(c.n.outputs.at(i))); }

void reshape_to(const Ctx& c, const std::string& in, const std::string& out, Shape s) {
  if (!s.empty()) s[0] = -1;
  const std::string sh = c.b.i64(c.b.fresh(out + "_shape"), {static_cast<int64_t>(s.size())}, s);
  c.b.node("Reshape", c.n.name, {in, sh}, {out});
}

void adaptive_avg(const Ctx& c) {
  const Attrs& a = c.n.attrs;
  const Shape xs = in_shape(c);
  if (a.output_size[0] == 1 && a.output_size[1] == 1) {
    unary(c, "GlobalAveragePool");
    return;
  }
  if (xs.size() != 4 || a.output_size[0] <= 0 || a.output_size[1] <= 0 || xs[2] % a.output_size[0] ||
      xs[3] % a.output_size[1])
    throw Error("onnx export: node '" + c.n.name + "': adaptive_avg_pool2d to " + std::to_string(a.output_size[0]) +
                "x" + std::to_string(a.output_size[1]) + " of " + shape_to_string(xs) +
                " is not a plain average pool (sizes must divide)");
  const int64_t kh = xs[2] / a.output_size[0], kw = xs[3] / a.output_size[1];
  onnx::NodeProto* o = c.b.node("AveragePool", c.n.name, {c.in.at(0)}, {c.out[0]});
  Builder::ints(o, "kernel_shape", {kh, kw});
  Builder::ints(o, "strides", {kh, kw});
}

void mean(const Ctx& c) {
  std::vector<int64_t> d = c.n.attrs.dims;
  const int64_t r = static_cast<int64_t>(in_shape(c).size());
  for (int64_t& v : d) v = v < 0 ? v + r : v;
  std::sort(d.begin(), d.end());
  if (r == 4 && d == std::vector<int64_t>{2, 3}) {
    if (c.n.attrs.keepdim) {
      unary(c, "GlobalAveragePool");
      return;
    }
    const std::string g = c.b.fresh(c.out[0] + "_pooled");
    c.b.node("GlobalAveragePool", c.n.name + "_pool", {c.in.at(0)}, {g});
    c.b.node("Flatten", c.n.name, {g}, {c.out[0]});
    return;
  }
  onnx::NodeProto* o = c.b.node("ReduceMean", c.n.name, {c.in.at(0)}, {c.out[0]});
  Builder::ints(o, "axes", d);
  Builder::integer(o, "keepdims", c.n.attrs.keepdim ? 1 : 0);
}

void flatten(const Ctx& c) {
  const int64_t r = static_cast<int64_t>(in_shape(c).size());
  const int64_t s = c.n.attrs.start_dim < 0 ? c.n.attrs.start_dim + r : c.n.attrs.start_dim;
  const int64_t e = c.n.attrs.end_dim < 0 ? c.n.attrs.end_dim + r : c.n.attrs.end_dim;
  if (s == 1 && e == r - 1) {
    Builder::integer(c.b.node("Flatten", c.n.name, {c.in.at(0)}, {c.out[0]}), "axis", 1);
    return;
  }
  reshape_to(c, c.in.at(0), c.out[0], out_shape(c));
}

void transpose(const Ctx& c) {
  const int64_t r = static_cast<int64_t>(in_shape(c).size());
  std::vector<int64_t> perm = c.n.attrs.dims;
  if (perm.size() == 2 && r != 2) {
    std::vector<int64_t> full(static_cast<size_t>(r));
    for (int64_t i = 0; i < r; ++i) full[static_cast<size_t>(i)] = i;
    std::swap(full[static_cast<size_t>(perm[0] < 0 ? perm[0] + r : perm[0])],
              full[static_cast<size_t>(perm[1] < 0 ? perm[1] + r : perm[1])]);
    perm = full;
  }
  Builder::ints(c.b.node("Transpose", c.n.name, {c.in.at(0)}, {c.out[0]}), "perm", perm);
}

void split(const Ctx& c) {
  const int64_t r = static_cast<int64_t>(in_shape(c).size());
  const int64_t axis = c.n.attrs.axis < 0 ? c.n.attrs.axis + r : c.n.attrs.axis;
  std::vector<int64_t> sizes;
  for (size_t i = 0; i < c.n.outputs.size(); ++i) sizes.push_back(out_shape(c, i).at(static_cast<size_t>(axis)));
  const std::string s = c.b.i64(c.b.fresh(c.n.name + "_split"), {static_cast<int64_t>(sizes.size())}, sizes);
  Builder::integer(c.b.node("Split", c.n.name, {c.in.at(0), s}, c.out), "axis", axis);
}

}  // namespace

void emit_node(Builder& b, const IntModel& m, const std::vector<Shape>& shapes, size_t k,
               const std::vector<std::string>& in, const std::vector<std::string>& out) {
  const Node& n = m.graph->nodes().at(k);
  const Ctx c{b, m, shapes, k, n, in, out};
  switch (n.kind) {
    case OpKind::Conv2d:
      return conv(c);
    case OpKind::Linear:
      return linear(c);
    case OpKind::BatchNorm: {
      const std::string p = n.name;
      const int64_t C = n.params.running_mean.size();
      const std::string g =
          b.f32(p + ".weight", {C}, n.params.weight.empty() ? std::vector<float>(C, 1.0f) : as_vector(n.params.weight));
      const std::string be =
          b.f32(p + ".bias", {C}, n.params.bias.empty() ? std::vector<float>(C, 0.0f) : as_vector(n.params.bias));
      const std::string mu = b.f32(p + ".running_mean", {C}, as_vector(n.params.running_mean));
      const std::string var = b.f32(p + ".running_var", {C}, as_vector(n.params.running_var));
      Builder::real(b.node("BatchNormalization", n.name, {in.at(0), g, be, mu, var}, {out[0]}), "epsilon", n.attrs.eps);
      return;
    }
    case OpKind::Relu:
      return unary(c, "Relu");
    case OpKind::Relu6:
      return clip(c, 0.0f, 6.0f);
    case OpKind::Hardtanh:
      return clip(c, n.attrs.min_val, n.attrs.max_val);
    case OpKind::Sigmoid:
      return unary(c, "Sigmoid");
    case OpKind::Tanh:
      return unary(c, "Tanh");
    case OpKind::Silu:
      return gated(c, false);
    case OpKind::Hardswish:
      return gated(c, true);
    case OpKind::Hardsigmoid: {
      onnx::NodeProto* o = b.node("HardSigmoid", n.name, {in.at(0)}, {out[0]});
      Builder::real(o, "alpha", 1.0f / 6.0f);
      Builder::real(o, "beta", 0.5f);
      return;
    }
    case OpKind::Gelu:
      return gelu(c);
    case OpKind::Add:
      return binary(c, "Add");
    case OpKind::Mul:
      return binary(c, "Mul");
    case OpKind::Cat:
      Builder::integer(b.node("Concat", n.name, in, {out[0]}), "axis", n.attrs.axis);
      return;
    case OpKind::MaxPool2d:
      return pool(c, true);
    case OpKind::AvgPool2d:
      return pool(c, false);
    case OpKind::AdaptiveAvgPool2d:
      return adaptive_avg(c);
    case OpKind::Mean:
      return mean(c);
    case OpKind::Flatten:
      return flatten(c);
    case OpKind::Reshape:
      return reshape_to(c, in.at(0), out[0], out_shape(c));
    case OpKind::Transpose:
      return transpose(c);
    case OpKind::Chunk:
    case OpKind::Split:
      return split(c);
    case OpKind::Identity:
      return unary(c, "Identity");
    case OpKind::Softmax:
      Builder::integer(b.node("Softmax", n.name, {in.at(0)}, {out[0]}), "axis", n.attrs.axis);
      return;
  }
  throw Error("onnx export: node '" + n.name + "' (" + std::string(op_name(n.kind)) + ") has no ONNX mapping");
}

}  // namespace mqcalib::onnx_export
