// Executor tests: hand-built graphs run by the executor vs the same computation composed by hand
// from the _ref kernels; hooks (modification seen by consumers); errors naming the node; thread
// determinism.
#include <doctest/doctest.h>

#include <map>
#include <string>

#include "core/parallel.h"
#include "exec/executor.h"
#include "exec/kernels.h"
#include "exec/test_util.h"

using namespace mqcalib;
using namespace mqcalib::test;

namespace {

constexpr double kGemmRelTol = 1e-5;  // fast conv/linear (GEMM order) vs reference loops

struct Builder {
  Graph g;
  ValueId input(const std::string& name) {
    ValueId v = g.add_value(name);
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
};

Attrs conv_attrs(int64_t k, int64_t s, int64_t p, int64_t groups = 1) {
  Attrs a;
  a.kernel = {k, k};
  a.stride = {s, s};
  a.padding = {p, p};
  a.groups = groups;
  return a;
}

Params weights(Shape w, Shape b, uint32_t seed) {
  Params p;
  p.weight = random_tensor(w, seed);
  if (!b.empty()) p.bias = random_tensor(b, seed + 1000);
  return p;
}

// Graph 1: conv -> bn -> relu -> grouped conv -> add (residual) -> max pool -> depthwise conv ->
// adaptive avg pool -> flatten -> linear. Outputs: fc and relu1 (an intermediate kept alive).
struct Net1 {
  Builder b;
  ValueId in, relu1, fc;
  Net1() {
    in = b.input("input");
    ValueId c1 = b.node(OpKind::Conv2d, "conv1", {in}, conv_attrs(3, 1, 1), weights({8, 3, 3, 3}, {8}, 1));
    Params bn;
    bn.weight = random_tensor({8}, 2, 0.5f, 1.5f);
    bn.bias = random_tensor({8}, 3);
    bn.running_mean = random_tensor({8}, 4);
    bn.running_var = random_tensor({8}, 5, 0.2f, 2.0f);
    ValueId bn1 = b.node(OpKind::BatchNorm, "bn1", {c1}, Attrs{}, bn);
    relu1 = b.node(OpKind::Relu, "relu1", {bn1});
    ValueId c2 = b.node(OpKind::Conv2d, "conv2", {relu1}, conv_attrs(3, 1, 1, 2), weights({8, 4, 3, 3}, {}, 6));
    ValueId add = b.node(OpKind::Add, "add", {relu1, c2});
    Attrs mp;
    mp.kernel = {2, 2};
    mp.stride = {2, 2};
    ValueId pool = b.node(OpKind::MaxPool2d, "pool", {add}, mp);
    ValueId dw = b.node(OpKind::Conv2d, "dw", {pool}, conv_attrs(3, 2, 1, 8), weights({8, 1, 3, 3}, {8}, 7));
    Attrs ap;
    ap.output_size = {1, 1};
    ValueId gap = b.node(OpKind::AdaptiveAvgPool2d, "gap", {dw}, ap);
    Attrs fa;
    fa.end_dim = 3;
    ValueId fl = b.node(OpKind::Flatten, "flatten", {gap}, fa);
    fc = b.node(OpKind::Linear, "fc", {fl}, Attrs{}, weights({5, 8}, {5}, 8));
    b.g.outputs() = {fc, relu1};
  }

  // The same network from the _ref kernels; relu1_scale mimics a hook scaling relu1.
  std::vector<TensorF32> reference(const TensorF32& x, float relu1_scale = 1.0f) const {
    auto P = [&](const std::string& n) -> const Params& { return b.g.find_node(n).params; };
    TensorF32 c1(conv2d_output_shape(x.shape(), P("conv1").weight.shape(), conv_params(1, 1)));
    conv2d_nchw_f32_ref(x, P("conv1").weight, P("conv1").bias.data(), conv_params(1, 1), c1.mut_view());
    const Params& bn = P("bn1");
    TensorF32 bn1(c1.shape());
    batch_norm_f32_ref(c1, bn.running_mean.data(), bn.running_var.data(), bn.weight.data(), bn.bias.data(), 1e-5f,
                       bn1.mut_view());
    TensorF32 r1(bn1.shape());
    activation_f32_ref(Activation::Relu, bn1, r1.mut_view());
    for (float& v : r1.vec()) v *= relu1_scale;
    TensorF32 c2(r1.shape());
    conv2d_nchw_f32_ref(r1, P("conv2").weight, nullptr, conv_params(1, 1, 1, 2), c2.mut_view());
    TensorF32 add(r1.shape());
    binary_f32_ref(BinaryOp::Add, r1, c2, add.mut_view());
    Pool2dParams pp;
    pp.kernel_h = pp.kernel_w = pp.stride_h = pp.stride_w = 2;
    TensorF32 pool(pool2d_output_shape(add.shape(), pp));
    max_pool2d_nchw_f32_ref(add, pp, pool.mut_view());
    TensorF32 dw(conv2d_output_shape(pool.shape(), P("dw").weight.shape(), conv_params(2, 1, 1, 8)));
    conv2d_nchw_f32_ref(pool, P("dw").weight, P("dw").bias.data(), conv_params(2, 1, 1, 8), dw.mut_view());
    TensorF32 gap({dw.dim(0), dw.dim(1), 1, 1});
    adaptive_avg_pool2d_nchw_f32_ref(dw, 1, 1, gap.mut_view());
    TensorF32 fc({x.dim(0), 5});
    linear_f32_ref(ViewF32{gap.data(), {x.dim(0), 8}}, P("fc").weight, P("fc").bias.data(), fc.mut_view());
    return {fc, r1};
  }
};

}  // namespace

TEST_CASE("executor: conv-bn-relu-add-pool-linear graph matches the composed reference kernels") {
  Net1 net;
  Executor ex(net.b.g);
  for (int64_t batch : {1, 3}) {
    const TensorF32 x = random_tensor({batch, 3, 11, 9}, 100 + static_cast<uint32_t>(batch));
    const auto out = ex.run({x});
    const auto ref = net.reference(x);
    REQUIRE(out.size() == 2);
    CHECK(out[0].shape() == Shape{batch, 5});
    CHECK(max_rel_diff(out[0], ref[0]) <= kGemmRelTol);
    CHECK(max_rel_diff(out[1], ref[1]) <= kGemmRelTol);
  }
}

TEST_CASE("executor: hooks see every value once, and modifications reach all consumers") {
  Net1 net;
  Executor ex(net.b.g);
  const TensorF32 x = random_tensor({2, 3, 8, 8}, 200);
  std::map<ValueId, int> seen;
  std::map<ValueId, Shape> shapes;
  const auto out = ex.run({x}, [&](ValueId v, TensorF32& t) {
    ++seen[v];
    shapes[v] = t.shape();
    if (v == net.relu1)
      for (float& f : t.vec()) f *= 0.5f;
  });
  CHECK(seen.size() == net.b.g.values().size());  // input + one output per node
  for (const auto& [v, k] : seen) CHECK(k == 1);
  CHECK(shapes[net.b.g.find_value("pool")] == Shape{2, 8, 4, 4});
  const auto ref = net.reference(x, 0.5f);
  CHECK(max_rel_diff(out[0], ref[0]) <= kGemmRelTol);
  CHECK(max_rel_diff(out[1], ref[1]) <= kGemmRelTol);
  // and the modified run differs from the plain one
  CHECK(max_rel_diff(ex.run({x})[0], out[0]) > 1e-3);
}

TEST_CASE("executor: stop_after returns once the value is computed, with the same tensor as a full run") {
  Net1 net;
  Executor ex(net.b.g);
  const TensorF32 x = random_tensor({2, 3, 8, 8}, 201);
  TensorF32 full, early;
  ex.run({x}, [&](ValueId v, TensorF32& t) {
    if (v == net.relu1) full = t;
  });
  size_t after = 0;
  bool reached = false;
  const auto out = ex.run(
      {x},
      [&](ValueId v, TensorF32& t) {
        if (reached) ++after;
        if (v == net.relu1) {
          early = t;
          reached = true;
        }
      },
      net.relu1);
  CHECK(out.empty());
  CHECK(after == 0);  // no value after it was computed
  CHECK(bit_identical(early, full));
}

TEST_CASE("executor: errors name the node and op") {
  Net1 net;
  Executor ex(net.b.g);
  CHECK_THROWS_WITH_AS(ex.run({random_tensor({1, 4, 8, 8}, 1)}), doctest::Contains("node 'conv1' (conv2d)"), Error);
  CHECK_THROWS_WITH_AS(ex.run({}), doctest::Contains("1 inputs"), Error);
  net.b.g.nodes().back().params.weight = random_tensor({5, 9}, 1);  // fc expects 9 features now
  CHECK_THROWS_WITH_AS(ex.run({random_tensor({1, 3, 8, 8}, 1)}), doctest::Contains("node 'fc' (linear)"), Error);
}

TEST_CASE("executor: bit-identical at 1 and 2 threads") {
  Net1 net;
  Executor ex(net.b.g);
  const TensorF32 x = random_tensor({6, 3, 16, 16}, 300);
  const int saved = num_threads();
  set_num_threads(1);
  const auto a = ex.run({x});
  set_num_threads(2);
  const auto b = ex.run({x});
  const auto c = ex.run({x});
  set_num_threads(saved);
  for (size_t k = 0; k < a.size(); ++k) {
    CHECK(bit_identical(a[k], b[k]));
    CHECK(bit_identical(b[k], c[k]));
  }
}

namespace {

// conv -> hardswish -> squeeze-excite gate -> chunk/cat -> channel shuffle (reshape, transpose, flatten)
// -> avg pool (ceil, pad excluded) -> mean -> scalar mul -> softmax
Graph se_shuffle_graph() {
  Builder b;
  ValueId in = b.input("input");
  ValueId conv = b.node(OpKind::Conv2d, "conv", {in}, conv_attrs(1, 1, 0), weights({8, 4, 1, 1}, {8}, 10));
  ValueId hs = b.node(OpKind::Hardswish, "hswish", {conv});
  Attrs md;
  md.dims = {2, 3};
  md.keepdim = true;
  ValueId se = b.node(OpKind::Mean, "se.mean", {hs}, md);
  ValueId sg = b.node(OpKind::Sigmoid, "se.sigmoid", {se});
  ValueId mul = b.node(OpKind::Mul, "se.mul", {hs, sg});
  Node ch;
  ch.kind = OpKind::Chunk;
  ch.name = "chunk";
  ch.inputs = {mul};
  ch.outputs = {b.g.add_value("chunk"), b.g.add_value("chunk:1")};
  ch.attrs.axis = 1;
  ch.attrs.chunks = 2;
  b.g.add_node(ch);
  Attrs ca;
  ca.axis = 1;
  ValueId cat = b.node(OpKind::Cat, "cat", {ch.outputs[1], ch.outputs[0]}, ca);
  Attrs rs;
  rs.dims = {-1, 2, 4, 6, 6};
  ValueId re = b.node(OpKind::Reshape, "shuffle.view", {cat}, rs);
  Attrs tp;
  tp.dims = {0, 2, 1, 3, 4};
  ValueId tr = b.node(OpKind::Transpose, "shuffle.transpose", {re}, tp);
  Attrs fl;
  fl.start_dim = 1;
  fl.end_dim = 2;
  ValueId f = b.node(OpKind::Flatten, "shuffle.flatten", {tr}, fl);
  Attrs av;
  av.kernel = {3, 3};
  av.stride = {2, 2};
  av.padding = {1, 1};
  av.ceil_mode = true;
  av.count_include_pad = false;
  ValueId ap = b.node(OpKind::AvgPool2d, "avgpool", {f}, av);
  Attrs mn;
  mn.dims = {2, 3};
  ValueId m = b.node(OpKind::Mean, "mean", {ap}, mn);
  Attrs sc;
  sc.has_scalar = true;
  sc.scalar = 3.0f;
  ValueId s3 = b.node(OpKind::Mul, "scale", {m}, sc);
  Attrs sm;
  sm.axis = 1;
  ValueId out = b.node(OpKind::Softmax, "softmax", {s3}, sm);
  b.g.outputs() = {out};
  return std::move(b.g);
}

// The same graph by hand from the reference kernels.
TensorF32 se_shuffle_ref(const Graph& g, const TensorF32& x) {
  const int64_t N = x.shape()[0];
  const Params& cp = g.find_node("conv").params;
  TensorF32 c({N, 8, 6, 6}), h({N, 8, 6, 6}), mean({N, 8, 1, 1}), sig({N, 8, 1, 1}), se_out({N, 8, 6, 6});
  conv2d_nchw_f32_ref(x, cp.weight, cp.bias.data(), conv_params(1, 0), c.mut_view());
  activation_f32_ref(Activation::Hardswish, c, h.mut_view());
  mean_f32_ref(h, {2, 3}, true, mean.mut_view());
  activation_f32_ref(Activation::Sigmoid, mean, sig.mut_view());
  binary_f32_ref(BinaryOp::Mul, h, sig, se_out.mut_view());
  TensorF32 c0({N, 4, 6, 6}), c1({N, 4, 6, 6}), catd({N, 8, 6, 6}), tr_out({N, 4, 2, 6, 6});
  split_f32_ref(se_out, 1, {4, 4}, {c0.mut_view(), c1.mut_view()});
  cat_f32_ref({c1, c0}, 1, catd.mut_view());
  transpose_f32_ref(ViewF32{catd.data(), {N, 2, 4, 6, 6}}, {0, 2, 1, 3, 4}, tr_out.mut_view());
  Pool2dParams pp;
  pp.kernel_h = pp.kernel_w = 3;
  pp.stride_h = pp.stride_w = 2;
  pp.pad_h = pp.pad_w = 1;
  pp.ceil_mode = true;
  pp.count_include_pad = false;
  const ViewF32 shuffled{tr_out.data(), {N, 8, 6, 6}};
  TensorF32 apo(pool2d_output_shape(shuffled.shape, pp)), mo({N, 8}), so({N, 8}), sm_out({N, 8});
  avg_pool2d_nchw_f32_ref(shuffled, pp, apo.mut_view());
  mean_f32_ref(apo, {2, 3}, false, mo.mut_view());
  binary_scalar_f32_ref(BinaryOp::Mul, mo, 3.0f, so.mut_view());
  softmax_f32_ref(so, 1, sm_out.mut_view());

  return sm_out;
}

}  // namespace

TEST_CASE("executor: squeeze-excite, channel shuffle, chunk/cat, reshape/transpose, avg pool, mean, softmax") {
  const Graph g = se_shuffle_graph();
  const int64_t N = 3;
  const TensorF32 x = random_tensor({N, 4, 6, 6}, 400, -4.0f, 4.0f);
  const auto got = Executor(g).run({x});
  const TensorF32 sm_out = se_shuffle_ref(g, x);

  REQUIRE(got.size() == 1);
  CHECK(got[0].shape() == Shape{N, 8});
  CHECK(max_rel_diff(got[0], sm_out) <= kGemmRelTol);
  // outputs are probabilities
  for (int64_t n = 0; n < N; ++n) {
    double s = 0;
    for (int64_t k = 0; k < 8; ++k) s += got[0][n * 8 + k];
    CHECK(s == doctest::Approx(1.0).epsilon(1e-5));
  }
}
