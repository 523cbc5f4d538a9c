// Small helper for hand-built test graphs (tests/graph only).
#pragma once

#include <random>
#include <string>
#include <vector>

#include "graph/ir.h"

namespace mqcalib::testing {

struct GraphBuilder {
  Graph g;
  std::mt19937 rng{1234};

  ValueId input(const std::string& name, Shape shape = {}) {
    ValueId v = g.add_value(name, std::move(shape));
    g.inputs().push_back(v);
    return v;
  }
  // Adds a node named `name` whose single output value is also named `name`.
  ValueId op(OpKind k, const std::string& name, std::vector<ValueId> ins, Attrs a = {}, Params p = {},
             Shape out_shape = {}) {
    Node n;
    n.kind = k;
    n.name = name;
    n.inputs = std::move(ins);
    n.attrs = std::move(a);
    n.params = std::move(p);
    ValueId o = g.add_value(name, std::move(out_shape));
    n.outputs = {o};
    g.add_node(std::move(n));
    return o;
  }
  TensorF32 randn(Shape s, float scale = 1.0f) {
    std::normal_distribution<float> d(0.0f, scale);
    TensorF32 t(std::move(s));
    for (float& x : t.vec()) x = d(rng);
    return t;
  }
  TensorF32 uniform(Shape s, float lo, float hi) {
    std::uniform_real_distribution<float> d(lo, hi);
    TensorF32 t(std::move(s));
    for (float& x : t.vec()) x = d(rng);
    return t;
  }
  ValueId conv(const std::string& name, ValueId in, int64_t out_ch, int64_t in_ch, int64_t k = 3, int64_t groups = 1,
               bool bias = false) {
    Attrs a;
    a.kernel = {k, k};
    a.padding = {k / 2, k / 2};
    a.groups = groups;
    Params p;
    p.weight = randn({out_ch, in_ch / groups, k, k}, 0.3f);
    if (bias) p.bias = randn({out_ch}, 0.1f);
    return op(OpKind::Conv2d, name, {in}, a, p);
  }
  ValueId linear(const std::string& name, ValueId in, int64_t out_f, int64_t in_f) {
    Params p;
    p.weight = randn({out_f, in_f}, 0.3f);
    p.bias = randn({out_f}, 0.1f);
    return op(OpKind::Linear, name, {in}, {}, p);
  }
  ValueId bn(const std::string& name, ValueId in, int64_t ch) {
    Params p;
    p.weight = uniform({ch}, 0.5f, 1.5f);
    p.bias = randn({ch}, 0.2f);
    p.running_mean = randn({ch}, 0.3f);
    p.running_var = uniform({ch}, 0.2f, 2.0f);
    return op(OpKind::BatchNorm, name, {in}, {}, p);
  }
  ValueId unary(OpKind k, const std::string& name, ValueId in) { return op(k, name, {in}); }
  ValueId binary(OpKind k, const std::string& name, ValueId a, ValueId b) { return op(k, name, {a, b}); }
  void output(ValueId v) { g.outputs().push_back(v); }
};

}  // namespace mqcalib::testing
