// mqcalib/tests/reconstruction/unit_test_graphs.h: hand-built graphs for the unit runner and
// partition tests.
#pragma once

#include <string>
#include <vector>

#include "exec/executor.h"
#include "graph/graph_builder.h"

namespace mqcalib::test {

// A node with several outputs (chunk / split), named name, name:1, ...
inline std::vector<ValueId> multi_output(testing::GraphBuilder& b, OpKind k, const std::string& name, ValueId in,
                                         Attrs a, size_t outs) {
  Node n;
  n.kind = k;
  n.name = name;
  n.inputs = {in};
  n.attrs = std::move(a);
  for (size_t i = 0; i < outs; ++i) n.outputs.push_back(b.g.add_value(i ? name + ":" + std::to_string(i) : name));
  std::vector<ValueId> o = n.outputs;
  b.g.add_node(std::move(n));
  return o;
}

// Every op a reconstruction unit may contain, on input [N, 4, 8, 8]: conv (bias) + unfolded BN + relu6,
// grouped conv + hardswish, depthwise stride-2 conv + tanh, squeeze-excite (adaptive pool, 1x1 conv,
// sigmoid, broadcast mul), avg pool, add, scalar mul, chunk, cat, transpose, split, cat, 1x1 conv, max
// pool, mean, reshape, identity, flatten, linear, relu. Outputs: "logits" [N, 10] and "stats" [N, 2, 4].
struct AllOpsGraph {
  testing::GraphBuilder b;
  ValueId x, r1, f, ct, ct2, logits, stats;
};

inline void build_all_ops(AllOpsGraph& t) {
  testing::GraphBuilder& b = t.b;
  t.x = b.input("input", {1, 4, 8, 8});
  Attrs a;
  const ValueId c1 = b.conv("c1", t.x, 8, 4, 3, 1, true);
  const ValueId bn1 = b.bn("bn1", c1, 8);
  t.r1 = b.unary(OpKind::Relu6, "r1", bn1);
  const ValueId h1 = b.unary(OpKind::Hardswish, "h1", b.conv("g", t.r1, 8, 8, 3, 2));
  a = Attrs{};
  a.kernel = {3, 3};
  a.padding = {1, 1};
  a.stride = {2, 2};
  a.groups = 8;
  Params dwp;
  dwp.weight = b.randn({8, 1, 3, 3}, 0.5f);
  const ValueId t1 = b.unary(OpKind::Tanh, "t1", b.op(OpKind::Conv2d, "dw", {h1}, a, dwp));
  a = Attrs{};
  a.output_size = {1, 1};
  const ValueId p = b.op(OpKind::AdaptiveAvgPool2d, "se.pool", {t1}, a);
  t.f = b.conv("se.fc", p, 8, 8, 1, 1, true);
  const ValueId m = b.binary(OpKind::Mul, "se.mul", t1, b.unary(OpKind::Sigmoid, "se.gate", t.f));
  a = Attrs{};
  a.kernel = {2, 2};
  a.stride = {2, 2};
  const ValueId ap = b.op(OpKind::AvgPool2d, "ap", {t.r1}, a);
  const ValueId sum = b.binary(OpKind::Add, "add", m, ap);
  a = Attrs{};
  a.has_scalar = true;
  a.scalar = 0.5f;
  const ValueId sc = b.op(OpKind::Mul, "scale", {sum}, a);
  a = Attrs{};
  a.axis = 1;
  a.chunks = 2;
  const std::vector<ValueId> ch = multi_output(b, OpKind::Chunk, "chunk", sc, a, 2);
  a = Attrs{};
  a.axis = 1;
  t.ct = b.op(OpKind::Cat, "cat", {ch[1], ch[0]}, a);
  a = Attrs{};
  a.dims = {0, 1, 3, 2};
  const ValueId tr = b.op(OpKind::Transpose, "tr", {t.ct}, a);
  a = Attrs{};
  a.axis = 1;
  a.dims = {3, 5};
  const std::vector<ValueId> sp = multi_output(b, OpKind::Split, "split", tr, a, 2);
  a = Attrs{};
  a.axis = 1;
  t.ct2 = b.op(OpKind::Cat, "cat2", {sp[1], sp[0]}, a);
  a = Attrs{};
  a.kernel = {3, 3};
  a.stride = {1, 1};
  a.padding = {1, 1};
  const ValueId mp = b.op(OpKind::MaxPool2d, "mp", {b.conv("c3", t.ct2, 8, 8, 1, 1, true)}, a);
  a = Attrs{};
  a.dims = {2, 3};
  const ValueId mn = b.op(OpKind::Mean, "mean", {mp}, a);
  a = Attrs{};
  a.dims = {-1, 2, 4};
  t.stats = b.op(OpKind::Identity, "stats", {b.op(OpKind::Reshape, "rs", {mn}, a)});
  a = Attrs{};
  a.start_dim = 1;
  a.end_dim = 3;  // canonical form (graph/ir.h): dims normalized, non-negative
  t.logits = b.unary(OpKind::Relu, "logits", b.linear("fc", b.op(OpKind::Flatten, "flat", {mp}, a), 10, 128));
  b.output(t.logits);
  b.output(t.stats);
}

// Value shapes from one executor run (the importer fills them for real models).
void infer_shapes(Graph& g, const Shape& input) {
  Executor ex(g);
  std::vector<Shape> shapes(g.values().size());
  ex.run({TensorF32(input)}, [&](ValueId v, TensorF32& t) { shapes[static_cast<size_t>(v)] = t.shape(); });
  for (size_t v = 0; v < shapes.size(); ++v) g.values()[v].shape = shapes[v];
}

// stem conv + relu on [N, 3, 8, 8], a BasicBlock at 8x8, a stride-2 BasicBlock with a 1x1 downsample,
// a BasicBlock at 4x4, pool + flatten + linear (10 logits). Value shapes filled.
struct ResNetLike {
  testing::GraphBuilder b;
  ValueId in, stem, b1, b2, b3, logits;
  ResNetLike() {
    in = b.input("input", {1, 3, 8, 8});
    stem = b.unary(OpKind::Relu, "relu", b.conv("conv1", in, 8, 3));
    // block1: 8x8
    ValueId h = b.unary(OpKind::Relu, "layer1.0.relu", b.conv("layer1.0.conv1", stem, 8, 8));
    h = b.conv("layer1.0.conv2", h, 8, 8);
    b1 = b.unary(OpKind::Relu, "layer1.0.relu_1", b.binary(OpKind::Add, "layer1.0.add", h, stem));
    // block2: stride 2 with a 1x1 downsample
    Attrs s2;
    s2.kernel = {3, 3};
    s2.padding = {1, 1};
    s2.stride = {2, 2};
    Params p;
    p.weight = b.randn({16, 8, 3, 3}, 0.3f);
    h = b.unary(OpKind::Relu, "layer2.0.relu", b.op(OpKind::Conv2d, "layer2.0.conv1", {b1}, s2, p));
    h = b.conv("layer2.0.conv2", h, 16, 16);
    Attrs d;
    d.kernel = {1, 1};
    d.stride = {2, 2};
    Params dp;
    dp.weight = b.randn({16, 8, 1, 1}, 0.3f);
    const ValueId ds = b.op(OpKind::Conv2d, "layer2.0.downsample.0", {b1}, d, dp);
    b2 = b.unary(OpKind::Relu, "layer2.0.relu_1", b.binary(OpKind::Add, "layer2.0.add", h, ds));
    // block3: 4x4
    h = b.unary(OpKind::Relu, "layer2.1.relu", b.conv("layer2.1.conv1", b2, 16, 16));
    h = b.conv("layer2.1.conv2", h, 16, 16);
    b3 = b.unary(OpKind::Relu, "layer2.1.relu_1", b.binary(OpKind::Add, "layer2.1.add", h, b2));
    Attrs ap;
    ap.output_size = {1, 1};
    Attrs fl;
    fl.start_dim = 1;
    fl.end_dim = 3;
    const ValueId pooled = b.op(OpKind::Flatten, "flatten", {b.op(OpKind::AdaptiveAvgPool2d, "pool", {b3}, ap)}, fl);
    logits = b.linear("fc", pooled, 10, 16);
    b.output(logits);
    infer_shapes(b.g, {1, 3, 8, 8});
  }
};

}  // namespace mqcalib::test
