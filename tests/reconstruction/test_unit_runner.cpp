// The unit runner: its forward equals the executor's; its gradients (unit inputs, soft weights, learned
// steps incl. a shared and a power-of-two one, a seed on an inner value) equal double-precision finite
// differences of a reference interpreter in which each quantizer's rounding residual is frozen (the
// function whose exact derivative LSQ's straight-through gradient is); QDrop's mask; thread count.
#include <doctest/doctest.h>

#include <cmath>
#include <functional>
#include <map>
#include <random>

#include "core/quantize.h"
#include "exec/executor.h"
#include "exec/test_util.h"
#include "reconstruction/recon_test_util.h"
#include "reconstruction/unit_ref_d.h"
#include "reconstruction/unit_runner.h"
#include "reconstruction/unit_test_graphs.h"

using namespace mqcalib;
using namespace mqcalib::test;

namespace {

// Runner (float32, ~15 ops deep) vs double finite differences, relative to the largest |gradient|.
constexpr double kUnitGradRelTol = 2e-4;

QParams act_params(float scale, int32_t zp, int32_t qmin, int32_t qmax) {
  return qparams({scale}, {zp}, qmin, qmax, -1);
}

QParams weight_params(const TensorF32& w, int bits) {
  const int64_t O = w.dim(0), inner = w.size() / O;
  std::vector<float> s;
  for (int64_t o = 0; o < O; ++o) {
    float m = 0.0f;
    for (int64_t i = 0; i < inner; ++i) m = std::max(m, std::fabs(w[o * inner + i]));
    s.push_back(std::max(m, 1e-3f) / static_cast<float>((1 << (bits - 1)) - 1));
  }
  return qparams(s, std::vector<int32_t>(static_cast<size_t>(O), 0), -(1 << (bits - 1)), (1 << (bits - 1)) - 1, 0);
}

struct Fixture {
  AllOpsGraph t;
  Unit unit;
  std::vector<SoftWeightSpec> soft;
  std::vector<ActQuantSpec> acts;
  TensorF32 x;
  Fixture() {
    build_all_ops(t);
    unit = whole_graph_unit(t.b.g);
    for (size_t i = 0; i < t.b.g.nodes().size(); ++i) {
      const Node& n = t.b.g.nodes()[i];
      if (n.kind == OpKind::Conv2d || n.kind == OpKind::Linear) soft.push_back({i, weight_params(n.params.weight, 4)});
    }
    // 8-bit grids wide enough that nothing clips (the surrogate's clamp kinks are tested on the kernel).
    acts.push_back({t.x, act_params(0.02f, 0, -128, 127), false, 0});
    // power of two; a signed grid keeps relu6's small outputs off the clamp bound (the surrogate's kink)
    acts.push_back({t.r1, act_params(0.0625f, 0, -128, 127), true, 1});
    acts.push_back({t.ct, act_params(0.011f, 3, -128, 127), false, 2});
    acts.push_back({t.ct2, act_params(0.011f, 3, -128, 127), false, 2});  // shares step 2 (a concat group)
    x = random_tensor({2, 4, 8, 8}, 21, -1.0f, 1.0f);
  }
};

std::vector<ValueId> seed_values(const AllOpsGraph& t) { return {t.logits, t.stats, t.f}; }

// The reference's activation quantizers: spec k's step is s[k] * ratio[k] (the runner's power-of-two
// rounding, frozen), x / step plus the rounding residual recorded at the base point (record = true),
// clamped: the fake-quant as a differentiable function of x and the steps.
struct FrozenActQuant {
  const std::vector<ActQuantSpec>& acts;
  std::vector<double> ratio;
  std::map<ValueId, VecD> resid;
  std::function<void(ValueId, ValD&)> hook(const std::vector<double>& s, bool record) {
    return [this, s, record](ValueId v, ValD& val) {
      for (size_t k = 0; k < acts.size(); ++k) {
        if (acts[k].value != v) continue;
        const QParams& p = acts[k].qparams;
        const double se = s[k] * ratio[k], lo = p.qmin - p.zero_point[0], hi = p.qmax - p.zero_point[0];
        if (record) {
          VecD d(val.v.size());
          for (size_t i = 0; i < d.size(); ++i) d[i] = std::nearbyint(val.v[i] / se) - val.v[i] / se;
          resid[v] = d;
        }
        const VecD& d = resid.at(v);
        for (size_t i = 0; i < val.v.size(); ++i) val.v[i] = se * std::min(std::max(val.v[i] / se + d[i], lo), hi);
      }
    };
  }
};

}  // namespace

TEST_CASE("unit runner forward (FP, no quantizer) equals the executor on every op") {
  Fixture fx;
  UnitRunner r(fx.t.b.g, fx.unit);
  r.forward({fx.x}, UnitRunOptions{});
  std::map<ValueId, TensorF32> seen;
  Executor ex(fx.t.b.g);
  const std::vector<TensorF32> outs = ex.run({fx.x}, [&](ValueId v, TensorF32& tv) { seen[v] = tv; });
  for (const auto& kv : seen) {
    CAPTURE(fx.t.b.g.value(kv.first).name);
    const ViewF32 v = r.value(kv.first);
    CHECK(bit_identical(TensorF32(v.shape, std::vector<float>(v.data, v.data + v.size())), kv.second));
  }
  CHECK(r.value(fx.t.logits).shape == Shape{2, 10});
  CHECK(fx.unit.outputs == std::vector<ValueId>{fx.t.stats, fx.t.logits});  // production order
}

TEST_CASE("unit runner gradients vs double finite differences: inputs, soft weights, steps, inner seed") {
  Fixture fx;
  const Graph& g = fx.t.b.g;
  UnitRunner r(g, fx.unit, fx.soft, fx.acts);
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> u(-3.0f, 3.0f);
  for (size_t k = 0; k < r.num_soft(); ++k)
    for (float& v : r.rounding_vars(k)) v = u(rng);
  UnitRunOptions ro;
  ro.act_quant = true;
  r.forward({fx.x}, ro);
  std::vector<TensorF32> seeds;
  std::vector<GradSeed> gs;
  for (ValueId v : seed_values(fx.t)) {
    seeds.push_back(random_tensor(r.value(v).shape, 30 + static_cast<uint32_t>(v)));
    gs.push_back({v, seeds.back().view()});
  }
  r.backward(gs, true);

  // Reference: the runner's weights in use, quantizers with frozen rounding residuals, one step per spec.
  std::map<size_t, VecD> w0;
  for (size_t k = 0; k < r.num_soft(); ++k) {
    const size_t node = r.soft_spec(k).node;
    const float* w = r.weight_in_use(node);
    w0[node] = VecD(w, w + g.nodes()[node].params.weight.size());
  }
  std::vector<double> s0, ratio;
  for (size_t k = 0; k < fx.acts.size(); ++k) {
    s0.push_back(fx.acts[k].qparams.scale[0]);
    ratio.push_back(static_cast<double>(r.act_qparams(k).scale[0]) / s0.back());  // power-of-two rounding, frozen
  }
  FrozenActQuant fq{fx.acts, ratio, {}};
  const ValD xin{to_double(fx.x), fx.x.shape()};
  auto loss = [&](const ValD& in, const std::map<size_t, VecD>& w, const std::vector<double>& s) {
    const std::vector<ValD> vals = run_unit_d(g, fx.unit, {in}, w, fq.hook(s, false));
    double l = 0.0;
    const std::vector<ValueId> sv = seed_values(fx.t);
    for (size_t k = 0; k < sv.size(); ++k) l += dot(to_double(seeds[k]), vals[static_cast<size_t>(sv[k])].v);
    return l;
  };
  run_unit_d(g, fx.unit, {xin}, w0, fq.hook(s0, true));  // records the residuals at the base point

  const VecD fdx = finite_diff([&](const VecD& v) { return loss({v, xin.s}, w0, s0); }, xin.v);
  const ViewF32 gx = r.input_grad(0);
  CHECK(rel_err(TensorF32(gx.shape, std::vector<float>(gx.data, gx.data + gx.size())), fdx) <= kUnitGradRelTol);
  for (size_t k = 0; k < r.num_soft(); ++k) {
    const size_t node = r.soft_spec(k).node;
    CAPTURE(g.nodes()[node].name);
    const VecD fdw = finite_diff(
        [&](const VecD& v) {
          std::map<size_t, VecD> w = w0;
          w[node] = v;
          return loss(xin, w, s0);
        },
        w0[node]);
    const std::vector<float>& gw = r.weight_grad(k);
    CHECK(rel_err(TensorF32({static_cast<int64_t>(gw.size())}, gw), fdw) <= kUnitGradRelTol);
  }
  // Step j's gradient: sum over its specs of (FD wrt that spec's step) / sqrt(N qmax).
  const VecD fds = finite_diff([&](const VecD& s) { return loss(xin, w0, s); }, s0);
  std::vector<double> want(r.steps().size(), 0.0);
  for (size_t k = 0; k < fx.acts.size(); ++k) {
    const double n = static_cast<double>(r.value(fx.acts[k].value).size());
    want[static_cast<size_t>(fx.acts[k].step)] += fds[k] / std::sqrt(n * fx.acts[k].qparams.qmax);
  }
  for (size_t j = 0; j < want.size(); ++j) {
    CAPTURE(j);
    CHECK(r.step_grads()[j] == doctest::Approx(want[j]).epsilon(kUnitGradRelTol));
  }
  // the power-of-two step runs with 2^round(log2 s)
  CHECK(r.act_qparams(1).scale[0] == 0.0625f);
}

TEST_CASE("unit runner: QDrop mask, determinism at 1 and 2 threads, errors") {
  Fixture fx;
  const Graph& g = fx.t.b.g;
  UnitRunOptions ro;
  ro.act_quant = true;
  ro.drop_prob = 0.5f;
  ro.drop_seed = 99;
  UnitRunner r(g, fx.unit, fx.soft, fx.acts);
  r.forward({fx.x}, ro);
  TensorF32 q(fx.x.shape());
  fake_quantize_f32(fx.x, fx.acts[0].qparams, q.data());
  const ViewF32 xq = r.value(fx.t.x);
  int64_t quantized = 0, fp = 0;
  for (int64_t i = 0; i < fx.x.size(); ++i) {
    const bool is_q = xq.data[i] == q[i], is_fp = xq.data[i] == fx.x[i];
    CHECK((is_q || is_fp));
    quantized += is_q && !is_fp;
    fp += is_fp && !is_q;
  }
  CHECK(quantized > fx.x.size() / 4);
  CHECK(fp > fx.x.size() / 4);
  const TensorF32 seed = random_tensor({2, 10}, 3);
  r.backward({{fx.t.logits, seed.view()}}, true);
  const std::vector<float> w2 = r.weight_grad(0);
  const std::vector<double> s2 = r.step_grads();
  at_threads(1, [&] {
    UnitRunner r1(g, fx.unit, fx.soft, fx.acts);
    r1.forward({fx.x}, ro);
    r1.backward({{fx.t.logits, seed.view()}}, true);
    CHECK(r1.weight_grad(0) == w2);
    CHECK(r1.step_grads() == s2);
  });
  // every iteration takes its tape from what the last one gave back: the pool stays flat (a buffer
  // allocated outside the pool and given back grew it by one per quantizer and iteration)
  r.forward({fx.x}, ro);
  r.backward({{fx.t.logits, seed.view()}}, true);
  const size_t held = r.pooled_buffers();
  for (int it = 0; it < 5; ++it) {
    r.forward({fx.x}, ro);
    r.backward({{fx.t.logits, seed.view()}}, true);
  }
  CHECK(r.pooled_buffers() == held);
  // errors name the unit / node
  std::vector<ActQuantSpec> bad = {{fx.t.x, qparams({1.0f, 1.0f}, {0, 0}, -8, 7, 1), false, 0}};
  CHECK_THROWS_AS(UnitRunner(g, fx.unit, {}, bad), Error);
  CHECK_THROWS_WITH_AS(r.forward({}, ro), doctest::Contains("unit 'network'"), Error);
  CHECK_THROWS_AS(r.backward({{fx.t.logits, random_tensor({3, 10}, 1).view()}}), Error);
}

TEST_CASE("unit runner: an op without backward is an error only when a gradient must pass it") {
  testing::GraphBuilder b;
  const ValueId x = b.input("input", {1, 3, 4, 4});
  Attrs a;
  const ValueId c = b.conv("c", x, 4, 3, 3);
  const ValueId y = b.op(OpKind::Gelu, "gelu", {c}, a);
  b.output(y);
  const Unit u = whole_graph_unit(b.g);
  const TensorF32 in = random_tensor({2, 3, 4, 4}, 1), gy = random_tensor({2, 4, 4, 4}, 2);
  UnitRunner fp(b.g, u);
  fp.forward({in}, UnitRunOptions{});
  fp.backward({{y, gy.view()}}, false);  // nothing upstream needs a gradient: no error
  CHECK_THROWS_WITH_AS(fp.backward({{y, gy.view()}}, true), doctest::Contains("'gelu' (gelu) has no backward"), Error);
}

TEST_CASE("unit runner: an add's gradient handed to both inputs, also x + x (by move, no copy)") {
  // z = (x + x) + relu(x), L = <seed, z>: dL/dx = 2 seed + seed [x > 0], exactly (sums of floats
  // that are seed values and their doubles).
  testing::GraphBuilder b;
  const ValueId x = b.input("x", {2, 3, 4, 4});
  const ValueId y = b.binary(OpKind::Add, "twice", x, x);
  const ValueId z = b.binary(OpKind::Add, "sum", y, b.unary(OpKind::Relu, "relu", x));
  b.output(z);
  const Unit unit = whole_graph_unit(b.g);
  UnitRunner r(b.g, unit);
  const TensorF32 in = random_tensor({2, 3, 4, 4}, 3, -1.0f, 1.0f);
  const TensorF32 seed = random_tensor({2, 3, 4, 4}, 4, -1.0f, 1.0f);
  for (int it = 0; it < 2; ++it) {  // the second iteration runs on pooled buffers
    r.forward({in.view()}, UnitRunOptions{});
    r.backward({GradSeed{z, seed.view()}}, true);
    const ViewF32 gx = r.input_grad(0);
    for (int64_t i = 0; i < in.size(); ++i) {
      const float want = (seed[i] + seed[i]) + (in[i] > 0.0f ? seed[i] : 0.0f);
      REQUIRE(gx.data[i] == want);
    }
  }
}

TEST_CASE("unit runner: in-place activations give the same outputs and gradients, and refuse the overwritten value") {
  // The ResNet-like graph as one unit, soft 4-bit weights, quantizers on the input, on a relu's
  // output and on a conv output a relu reads (a quantized value is never overwritten).
  ResNetLike net;
  const Graph& g = net.b.g;
  const Unit unit = whole_graph_unit(g);
  std::vector<SoftWeightSpec> soft;
  ValueId conv_into_relu = kNoValue;  // layer2.0.conv1's output, read by layer2.0.relu
  for (size_t i = 0; i < g.nodes().size(); ++i) {
    if (g.nodes()[i].kind == OpKind::Conv2d || g.nodes()[i].kind == OpKind::Linear)
      soft.push_back({i, weight_params(g.nodes()[i].params.weight, 4)});
    if (g.nodes()[i].name == "layer2.0.relu") conv_into_relu = g.nodes()[i].inputs[0];
  }
  REQUIRE(conv_into_relu != kNoValue);
  const std::vector<ActQuantSpec> acts = {{net.in, act_params(0.02f, 0, -128, 127), false, 0},
                                          {net.b1, act_params(0.03f, 0, 0, 255), false, 1},
                                          {conv_into_relu, act_params(0.05f, 0, -128, 127), false, 2}};
  const TensorF32 x = random_tensor({2, 3, 8, 8}, 8, -1.0f, 1.0f);
  const TensorF32 seed = random_tensor({2, 10}, 9);
  UnitRunner copy_run(g, unit, soft, acts), in_place(g, unit, soft, acts);
  UnitRunOptions ro;
  ro.act_quant = true;
  for (UnitRunner* r : {&copy_run, &in_place}) {
    ro.in_place_activations = r == &in_place;
    for (int it = 0; it < 2; ++it) {  // the second iteration on pooled buffers
      r->forward({x.view()}, ro);
      r->backward({{net.logits, seed.view()}}, true);
    }
  }
  const ViewF32 a = copy_run.output(0), b = in_place.output(0);
  CHECK(std::vector<float>(a.data, a.data + a.size()) == std::vector<float>(b.data, b.data + b.size()));
  for (size_t k = 0; k < soft.size(); ++k) CHECK(copy_run.weight_grad(k) == in_place.weight_grad(k));
  CHECK(copy_run.step_grads() == in_place.step_grads());
  const ViewF32 ga = copy_run.input_grad(0), gb = in_place.input_grad(0);
  CHECK(std::vector<float>(ga.data, ga.data + ga.size()) == std::vector<float>(gb.data, gb.data + gb.size()));
  // the stem conv's output was overwritten by its relu; the copying run still has it
  const ValueId stem_conv = g.nodes()[static_cast<size_t>(g.producer(net.stem))].inputs[0];
  CHECK_NOTHROW(copy_run.value(stem_conv));
  CHECK_THROWS_WITH_AS(in_place.value(stem_conv), doctest::Contains("overwritten in place"), Error);
  CHECK_NOTHROW(in_place.value(net.stem));
  CHECK_NOTHROW(in_place.value(conv_into_relu));
}
