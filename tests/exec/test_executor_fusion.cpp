// Executor fusion and output quantization (executor.h): a run that fuses conv/linear with their add
// and activation, and applies OutputQuant in the kernels' epilogues, gives the bits of a run where
// every value is materialized (a hook on all values) and fake-quantized by a hook calling
// fake_quantize_f32 — the simulation as callers wrote it before OutputQuant. Also: the hook sees
// exactly the listed values, buffers recycled across runs do not change results, and the results are
// bit-identical at 1, 2 and 3 threads.
#include <doctest/doctest.h>

#include <map>
#include <set>
#include <string>

#include "core/parallel.h"
#include "core/quantize.h"
#include "exec/executor.h"
#include "exec/fusion_plan.h"
#include "exec/test_util.h"

using namespace mqcalib;
using namespace mqcalib::test;

namespace {

struct Builder {
  Graph g;
  uint32_t seed = 500;
  ValueId input(const std::string& name) {
    const ValueId v = g.add_value(name);
    g.inputs().push_back(v);
    return v;
  }
  ValueId node(OpKind k, const std::string& name, std::vector<ValueId> ins, Attrs a = {}, Params p = {}) {
    Node n;
    n.kind = k;
    n.name = name;
    n.inputs = std::move(ins);
    n.outputs = {g.add_value(name)};
    n.attrs = std::move(a);
    n.params = std::move(p);
    g.add_node(std::move(n));
    return g.nodes().back().outputs[0];
  }
  ValueId conv(const std::string& name, ValueId in, int64_t o, int64_t c, int64_t k, int64_t groups = 1) {
    Attrs a;
    a.kernel = {k, k};
    a.padding = {k / 2, k / 2};
    a.groups = groups;
    Params p;
    p.weight = random_tensor({o, c / groups, k, k}, seed++, -0.4f, 0.4f);
    p.bias = random_tensor({o}, seed++, -0.2f, 0.2f);
    return node(OpKind::Conv2d, name, {in}, a, p);
  }
  ValueId linear(const std::string& name, ValueId in, int64_t o, int64_t i) {
    Params p;
    p.weight = random_tensor({o, i}, seed++, -0.3f, 0.3f);
    p.bias = random_tensor({o}, seed++, -0.1f, 0.1f);
    return node(OpKind::Linear, name, {in}, Attrs{}, p);
  }
};

// input [N,4,9,9] -> a: conv 3x3 -> relu -> b: conv 3x3 + relu_a (residual read twice) -> relu6
//   -> c: conv 1x1 (groups 2) + mean over HW (a broadcasting residual: not fused) -> hardswish
//   -> d, e: two 3x3 convs of it, added (the second's output alone feeds the add: in place) -> relu
//   -> mean -> fc1 -> relu -> fc2
struct Net {
  Builder b;
  Net() {
    const ValueId in = b.input("input");
    const ValueId a = b.conv("a", in, 8, 4, 3);
    const ValueId ra = b.node(OpKind::Relu, "a.relu", {a});
    const ValueId cb = b.conv("b", ra, 8, 8, 3);
    const ValueId add1 = b.node(OpKind::Add, "b.add", {cb, ra});
    const ValueId r6 = b.node(OpKind::Relu6, "b.relu6", {add1});
    const ValueId cc = b.conv("c", r6, 8, 8, 1, 2);
    Attrs md;
    md.dims = {2, 3};
    md.keepdim = true;
    const ValueId m = b.node(OpKind::Mean, "c.se", {r6}, md);
    const ValueId add2 = b.node(OpKind::Add, "c.add", {m, cc});
    const ValueId hs = b.node(OpKind::Hardswish, "c.hswish", {add2});
    const ValueId d = b.conv("d", hs, 8, 8, 3);
    const ValueId e = b.conv("e", hs, 8, 8, 3);
    const ValueId add3 = b.node(OpKind::Add, "de.add", {e, d});
    const ValueId r = b.node(OpKind::Relu, "de.relu", {add3});
    Attrs mn;
    mn.dims = {2, 3};
    const ValueId gap = b.node(OpKind::Mean, "gap", {r}, mn);
    const ValueId f1 = b.linear("fc1", gap, 16, 8);
    const ValueId fr = b.node(OpKind::Relu, "fc1.relu", {f1});
    const ValueId f2 = b.linear("fc2", fr, 5, 16);
    b.g.outputs() = {f2};
  }
};

QParams qparams(float scale, int32_t zp, int32_t qmin, int32_t qmax) {
  QParams p;
  p.scale = {scale};
  p.zero_point = {zp};
  p.qmin = qmin;
  p.qmax = qmax;
  return p;
}

// Every value of the net quantized (the graph input too), one per-channel.
OutputQuant quant_all(const Graph& g) {
  OutputQuant q(g.values().size());
  for (const Value& v : g.values()) {
    if (v.name == "c") {  // per-channel along dim 1: applied as a pass, not in an epilogue
      QParams p = qparams(0.02f, 0, -128, 127);
      p.scale.assign(8, 0.02f);
      for (size_t c = 0; c < 8; ++c) p.scale[c] = 0.01f + 0.004f * static_cast<float>(c);
      p.zero_point.assign(8, 0);
      p.axis = 1;
      q.set(v.id, p, v.name);
      continue;
    }
    q.set(v.id, qparams(0.03f + 0.001f * static_cast<float>(v.id), v.id % 3, -128, 127), v.name);
  }
  return q;
}

// The old way: every value materialized, a hook fake-quantizing it.
std::vector<TensorF32> run_hooked(const Executor& ex, const TensorF32& x, const OutputQuant* q) {
  return ex.run({x}, [&](ValueId v, TensorF32& t) {
    if (q && q->params(v)) fake_quantize_f32(t.view(), *q->params(v), t.data());
  });
}

std::vector<TensorF32> run_fused(const Executor& ex, const TensorF32& x, const OutputQuant* q) {
  RunOptions o;
  o.quant = q;
  return ex.run({x}, o);
}

}  // namespace

TEST_CASE("executor: the fusion plan of the test net") {
  Net net;
  const Graph& g = net.b.g;
  std::vector<bool> needed(g.values().size(), false);
  needed[static_cast<size_t>(g.outputs()[0])] = true;
  const exec_detail::FusionPlan plan = exec_detail::plan_fusion(g, needed, nullptr);
  auto idx = [&](const char* name) {
    for (size_t i = 0; i < g.nodes().size(); ++i)
      if (g.nodes()[i].name == name) return i;
    FAIL("no node " << name);
    return size_t{0};
  };
  auto group = [&](const char* name) { return plan.group_of[idx(name)]; };
  CHECK(group("a") == group("a.relu"));
  CHECK(group("b") == group("b.add"));
  CHECK(group("b") == group("b.relu6"));
  CHECK(group("c") == group("c.add"));   // planned; run unfused (its residual broadcasts)
  CHECK(group("d") == group("de.add"));  // the first conv of the add takes it, the second is the residual
  CHECK(group("e") != group("d"));
  CHECK(group("fc1") == group("fc1.relu"));
  CHECK(group("gap") == -1);
  // everything needed: nothing fused
  const exec_detail::FusionPlan none = exec_detail::plan_fusion(g, std::vector<bool>(g.values().size(), true), nullptr);
  for (const exec_detail::FusedGroup& grp : none.groups) CHECK((grp.add < 0 && grp.act < 0));
}

TEST_CASE("executor: fused run == every value materialized, bit for bit") {
  Net net;
  const Executor ex(net.b.g);
  const TensorF32 x = random_tensor({3, 4, 9, 9}, 1, -2.0f, 2.0f);
  const auto want = run_hooked(ex, x, nullptr);
  const auto got = run_fused(ex, x, nullptr);
  REQUIRE(got.size() == 1);
  CHECK(bit_identical(got[0], want[0]));
  CHECK(bit_identical(run_fused(ex, x, nullptr)[0], want[0]));  // again, on recycled buffers
}

TEST_CASE("executor: OutputQuant in the epilogues == fake_quantize_f32 from a hook, bit for bit") {
  Net net;
  const Executor ex(net.b.g);
  const OutputQuant q = quant_all(net.b.g);
  for (int64_t batch : {1, 4}) {
    const TensorF32 x = random_tensor({batch, 4, 9, 9}, 2 + static_cast<uint32_t>(batch), -2.0f, 2.0f);
    const auto want = run_hooked(ex, x, &q);
    CHECK(bit_identical(run_fused(ex, x, &q)[0], want[0]));
    // quantization changes the result (the comparison is not vacuous)
    CHECK(!bit_identical(run_fused(ex, x, nullptr)[0], want[0]));
  }
}

TEST_CASE("executor: the hook sees exactly the listed values, quantized; the others may be fused away") {
  Net net;
  const Graph& g = net.b.g;
  const Executor ex(g);
  const OutputQuant q = quant_all(g);
  const TensorF32 x = random_tensor({2, 4, 9, 9}, 9, -2.0f, 2.0f);
  std::map<ValueId, TensorF32> all;
  ex.run({x}, [&](ValueId v, TensorF32& t) {
    fake_quantize_f32(t.view(), *q.params(v), t.data());
    all[v] = t;
  });
  RunOptions o;
  o.quant = &q;
  o.hooked = {g.find_value("b.relu6"), g.find_value("de.add"), g.find_value("input")};
  std::map<ValueId, TensorF32> seen;
  o.hook = [&](ValueId v, TensorF32& t) { seen[v] = t; };
  const auto out = ex.run({x}, o);
  CHECK(seen.size() == 3);
  for (const auto& [v, t] : seen) {
    CAPTURE(g.value(v).name);
    CHECK(bit_identical(t, all.at(v)));
  }
  CHECK(bit_identical(out[0], all.at(g.outputs()[0])));
  // stop_after a fused-away value still produces it
  RunOptions s;
  s.quant = &q;
  s.stop_after = g.find_value("a");
  TensorF32 a;
  s.hooked = {s.stop_after};
  s.hook = [&](ValueId, TensorF32& t) { a = t; };
  CHECK(ex.run({x}, s).empty());
  CHECK(bit_identical(a, all.at(g.find_value("a"))));
}

TEST_CASE("executor: fused and quantized runs bit-identical at 1, 2 and 3 threads") {
  Net net;
  const Executor ex(net.b.g);
  const OutputQuant q = quant_all(net.b.g);
  const TensorF32 x = random_tensor({7, 4, 9, 9}, 20, -2.0f, 2.0f);
  const int saved = num_threads();
  std::vector<TensorF32> r;
  for (int t : {1, 2, 3}) {
    set_num_threads(t);
    r.push_back(run_fused(ex, x, &q)[0]);
    r.push_back(run_fused(ex, x, nullptr)[0]);
  }
  set_num_threads(saved);
  for (size_t k = 2; k < r.size(); ++k) CHECK(bit_identical(r[k], r[k % 2]));
}

TEST_CASE("executor: OutputQuant errors name the tensor") {
  Net net;
  OutputQuant q(net.b.g.values().size());
  QParams bad = qparams(0.0f, 0, -128, 127);
  CHECK_THROWS_WITH_AS(q.set(0, bad, "input"), doctest::Contains("input"), Error);
  CHECK_THROWS_WITH_AS(q.set(999, qparams(1.0f, 0, -128, 127), "nowhere"), doctest::Contains("nowhere"), Error);
  const Executor ex(net.b.g);
  OutputQuant small(3);
  RunOptions o;
  o.quant = &small;
  CHECK_THROWS_WITH_AS(ex.run({random_tensor({1, 4, 9, 9}, 3)}, o), doctest::Contains("OutputQuant"), Error);
}
