// Kernel tests: every fast kernel against its _ref twin on random data and awkward shapes, hand-
// computed tiny cases, nonlinearities against closed forms across their breakpoints, and
// bit-identical results at 1 and 2 threads.
#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <vector>

#include "core/parallel.h"
#include "exec/kernels.h"
#include "exec/test_util.h"

using namespace mqcalib;
using namespace mqcalib::test;

namespace {

// Closed-form nonlinearities in double vs the float kernels: |y - f(x)| <= abs + rel * |f(x)|.
constexpr double kActAbsTol = 1e-6;
constexpr double kActRelTol = 2e-6;

struct ConvCase {
  const char* name;
  Shape x, w;
  Conv2dParams p;
  bool bias;
};

TensorF32 run_conv(const TensorF32& x, const TensorF32& w, const TensorF32* b, const Conv2dParams& p, bool ref) {
  TensorF32 y(conv2d_output_shape(x.shape(), w.shape(), p));
  if (ref)
    conv2d_nchw_f32_ref(x, w, b ? b->data() : nullptr, p, y.mut_view());
  else
    conv2d_nchw_f32(x, w, b ? b->data() : nullptr, p, y.mut_view());
  return y;
}

}  // namespace

// conv2d and linear: every output of the fast kernels is the reference's fma chain over the taps in
// the same order (kernels.h, exec/gemm_kernel.h), so the twins agree bit for bit.
TEST_CASE("conv2d: fast == reference, bit for bit, on awkward shapes") {
  Conv2dParams asym;
  asym.stride_h = 1;
  asym.stride_w = 2;
  asym.pad_h = 0;
  asym.pad_w = 1;
  const std::vector<ConvCase> cases = {
      {"3x3 s1 p1", {2, 3, 7, 9}, {5, 3, 3, 3}, conv_params(1, 1), true},
      {"3x3 s2 p1 odd", {3, 4, 11, 13}, {6, 4, 3, 3}, conv_params(2, 1), true},
      {"3x3 dil2 p2", {2, 3, 9, 10}, {4, 3, 3, 3}, conv_params(1, 2, 2), true},
      {"groups 2", {2, 4, 8, 7}, {6, 2, 3, 3}, conv_params(1, 1, 1, 2), true},
      {"groups 2 s2 no bias", {2, 4, 9, 9}, {6, 2, 3, 3}, conv_params(2, 0, 1, 2), false},
      {"depthwise 3x3 s1 p1", {2, 6, 9, 11}, {6, 1, 3, 3}, conv_params(1, 1, 1, 6), true},
      {"depthwise 3x3 s2 p1", {2, 6, 10, 7}, {6, 1, 3, 3}, conv_params(2, 1, 1, 6), true},
      {"depthwise mult 2, 5x5 dil 2", {1, 3, 12, 12}, {6, 1, 5, 5}, conv_params(1, 4, 2, 3), true},
      {"1x1 s1 (direct GEMM)", {3, 16, 5, 7}, {8, 16, 1, 1}, conv_params(1, 0), true},
      {"1x1 s2 (im2col)", {2, 16, 7, 7}, {8, 16, 1, 1}, conv_params(2, 0), true},
      {"1x3 asymmetric", {2, 3, 6, 8}, {4, 3, 1, 3}, asym, true},
      {"7x7 s2 p3 stem", {2, 3, 17, 15}, {8, 3, 7, 7}, conv_params(2, 3), true},
      {"deep K=576", {2, 64, 10, 10}, {40, 64, 3, 3}, conv_params(1, 1), true},
  };
  uint32_t seed = 1;
  for (const ConvCase& c : cases) {
    CAPTURE(std::string(c.name));
    const TensorF32 x = random_tensor(c.x, seed++);
    const TensorF32 w = random_tensor(c.w, seed++);
    const TensorF32 b = random_tensor({c.w[0]}, seed++);
    const TensorF32 yf = run_conv(x, w, c.bias ? &b : nullptr, c.p, false);
    const TensorF32 yr = run_conv(x, w, c.bias ? &b : nullptr, c.p, true);
    CHECK(bit_identical(yf, yr));
  }
}

TEST_CASE("conv2d: hand-computed 3x3 input, 2x2 kernel") {
  TensorF32 x({1, 1, 3, 3}, std::vector<float>{1, 2, 3, 4, 5, 6, 7, 8, 9});
  TensorF32 w({1, 1, 2, 2}, std::vector<float>{1, 2, 3, 4});
  TensorF32 b({1}, std::vector<float>{1});
  for (bool ref : {false, true}) {
    // stride 1, no padding: 1*1+2*2+4*3+5*4 = 37, ...; plus bias 1
    const TensorF32 y = run_conv(x, w, &b, conv_params(1, 0), ref);
    CHECK(y.shape() == Shape{1, 1, 2, 2});
    CHECK(y.to_vector() == std::vector<float>{38, 48, 68, 78});
    // stride 2, padding 1: windows at (-1,-1), (-1,1), (1,-1), (1,1)
    const TensorF32 y2 = run_conv(x, w, nullptr, conv_params(2, 1), ref);
    CHECK(y2.shape() == Shape{1, 1, 2, 2});
    CHECK(y2.to_vector() == std::vector<float>{4, 18, 36, 77});
  }
  // depthwise, 2 channels, 1x1 kernel = per-channel scale
  TensorF32 xd({1, 2, 1, 2}, std::vector<float>{1, 2, 3, 4});
  TensorF32 wd({2, 1, 1, 1}, std::vector<float>{2, -1});
  CHECK(run_conv(xd, wd, nullptr, conv_params(1, 0, 1, 2), false).to_vector() == std::vector<float>{2, 4, -3, -4});
}

TEST_CASE("conv2d: errors name the mismatch") {
  const TensorF32 x = random_tensor({1, 3, 5, 5}, 1), w = random_tensor({4, 2, 3, 3}, 2);
  CHECK_THROWS_WITH_AS(conv2d_output_shape(x.shape(), w.shape(), conv_params(1, 1)), doctest::Contains("3 channels"), Error);
}

TEST_CASE("conv2d and linear: bit-identical at 1, 2 and 3 threads") {
  const int saved = num_threads();
  const TensorF32 x = random_tensor({5, 16, 12, 12}, 11), w = random_tensor({24, 16, 3, 3}, 12);
  const TensorF32 wd = random_tensor({16, 1, 3, 3}, 13), b = random_tensor({24}, 14);
  const TensorF32 xl = random_tensor({37, 300}, 15), wl = random_tensor({50, 300}, 16);
  auto run_all = [&]() {
    std::vector<TensorF32> r;
    r.push_back(run_conv(x, w, &b, conv_params(2, 1), false));
    r.push_back(run_conv(x, wd, nullptr, conv_params(1, 1, 1, 16), false));
    TensorF32 yl({37, 50});
    linear_f32(xl, wl, nullptr, yl.mut_view());
    r.push_back(yl);
    return r;
  };
  set_num_threads(1);
  const auto r1 = run_all();
  set_num_threads(2);
  const auto r2 = run_all();
  set_num_threads(3);
  const auto r3 = run_all();
  set_num_threads(saved);
  for (size_t k = 0; k < r1.size(); ++k) {
    CHECK(bit_identical(r1[k], r2[k]));
    CHECK(bit_identical(r1[k], r3[k]));
  }
}

TEST_CASE("linear: fast == reference bit for bit, and a hand-computed case") {
  for (Shape s : {Shape{37, 130, 19}, Shape{1, 7, 3}, Shape{64, 512, 10}}) {
    const TensorF32 x = random_tensor({s[0], s[1]}, 3), w = random_tensor({s[2], s[1]}, 4), b = random_tensor({s[2]}, 5);
    TensorF32 yf({s[0], s[2]}), yr({s[0], s[2]});
    linear_f32(x, w, b.data(), yf.mut_view());
    linear_f32_ref(x, w, b.data(), yr.mut_view());
    CHECK(bit_identical(yf, yr));
  }
  TensorF32 x({1, 2}, std::vector<float>{1, 2}), w({2, 2}, std::vector<float>{1, 1, 2, -1}), b({2}, std::vector<float>{0.5f, 0});
  TensorF32 y({1, 2});
  linear_f32(x, w, b.data(), y.mut_view());
  CHECK(y.to_vector() == std::vector<float>{3.5f, 0.0f});
}

TEST_CASE("batch_norm: fast == reference, and a hand-computed case") {
  const TensorF32 x = random_tensor({3, 5, 4, 6}, 7);
  const TensorF32 m = random_tensor({5}, 8), v = random_tensor({5}, 9, 0.1f, 2.0f), g = random_tensor({5}, 10),
                  b = random_tensor({5}, 11);
  TensorF32 yf(x.shape()), yr(x.shape());
  batch_norm_f32(x, m.data(), v.data(), g.data(), b.data(), 1e-5f, yf.mut_view());
  batch_norm_f32_ref(x, m.data(), v.data(), g.data(), b.data(), 1e-5f, yr.mut_view());
  CHECK(bit_identical(yf, yr));
  // (3 - 1) / sqrt(3 + 1) * 2 + 1 = 3
  TensorF32 x1({1, 1}, std::vector<float>{3}), y1({1, 1});
  const float mean = 1, var = 3, gamma = 2, beta = 1;
  batch_norm_f32(x1, &mean, &var, &gamma, &beta, 1.0f, y1.mut_view());
  CHECK(y1[0] == 3.0f);
}

TEST_CASE("activations: closed forms across breakpoints, exact clamps, fast == reference") {
  const std::vector<float> xs = {-10.0f, -6.5f, -6.0f, -3.5f, -3.0f, -2.9f, -1.0f, -0.5f, -1e-3f, 0.0f,
                                 1e-3f,  0.5f,  1.0f,  2.9f,  3.0f,  3.5f,  6.0f,  6.5f,  10.0f};
  auto clampd = [](double v, double lo, double hi) { return v < lo ? lo : (v > hi ? hi : v); };
  const double pi = 3.14159265358979323846;
  ActivationParams ht;
  ht.min_val = -2.0f;
  ht.max_val = 2.5f;
  const std::vector<std::pair<Activation, std::string>> acts = {
      {Activation::Relu, "relu"},       {Activation::Relu6, "relu6"},         {Activation::Hardtanh, "hardtanh"},
      {Activation::Silu, "silu"},       {Activation::Sigmoid, "sigmoid"},     {Activation::Tanh, "tanh"},
      {Activation::Hardswish, "hswish"}, {Activation::Hardsigmoid, "hsigmoid"}, {Activation::GeluErf, "gelu"},
      {Activation::GeluTanh, "gelu_tanh"}};
  auto closed = [&](Activation a, double x) -> double {
    switch (a) {
      case Activation::Relu: return std::max(x, 0.0);
      case Activation::Relu6: return clampd(x, 0, 6);
      case Activation::Hardtanh: return clampd(x, -2.0, 2.5);
      case Activation::Silu: return x / (1 + std::exp(-x));
      case Activation::Sigmoid: return 1 / (1 + std::exp(-x));
      case Activation::Tanh: return std::tanh(x);
      case Activation::Hardswish: return x * clampd(x + 3, 0, 6) / 6;
      case Activation::Hardsigmoid: return clampd(x + 3, 0, 6) / 6;
      case Activation::GeluErf: return 0.5 * x * (1 + std::erf(x / std::sqrt(2.0)));
      case Activation::GeluTanh: return 0.5 * x * (1 + std::tanh(std::sqrt(2 / pi) * (x + 0.044715 * x * x * x)));
    }
    return 0;
  };
  TensorF32 x({static_cast<int64_t>(xs.size())}, xs);
  for (const auto& [a, name] : acts) {
    CAPTURE(name);
    TensorF32 y(x.shape()), yr(x.shape());
    activation_f32(a, x, y.mut_view(), ht);
    activation_f32_ref(a, x, yr.mut_view(), ht);
    CHECK(bit_identical(y, yr));
    for (size_t i = 0; i < xs.size(); ++i) {
      CAPTURE(xs[i]);
      const double e = closed(a, xs[i]);
      CHECK(std::fabs(y[static_cast<int64_t>(i)] - e) <= kActAbsTol + kActRelTol * std::fabs(e));
    }
    // in place gives the same bits
    TensorF32 z = x;
    activation_f32(a, z, z.mut_view(), ht);
    CHECK(bit_identical(z, y));
  }
  // exact values at the breakpoints
  auto one = [&](Activation a, float v) {
    TensorF32 t({1}, std::vector<float>{v});
    activation_f32(a, t, t.mut_view(), ht);
    return t[0];
  };
  CHECK(one(Activation::Relu, -1.0f) == 0.0f);
  CHECK(one(Activation::Relu6, 7.0f) == 6.0f);
  CHECK(one(Activation::Hardtanh, -3.0f) == -2.0f);
  CHECK(one(Activation::Hardswish, -3.0f) == 0.0f);
  CHECK(one(Activation::Hardswish, 3.0f) == 3.0f);
  CHECK(one(Activation::Hardsigmoid, 3.0f) == 1.0f);
  CHECK(one(Activation::Hardsigmoid, -3.0f) == 0.0f);
  CHECK(std::isnan(one(Activation::Relu, NAN)));
  // large random tensor, several parallel chunks: fast == reference
  const TensorF32 big = random_tensor({100003}, 21, -8.0f, 8.0f);
  for (const auto& [a, name] : acts) {
    CAPTURE(name);
    TensorF32 y(big.shape()), yr(big.shape());
    activation_f32(a, big, y.mut_view(), ht);
    activation_f32_ref(a, big, yr.mut_view(), ht);
    CHECK(bit_identical(y, yr));
  }
}

TEST_CASE("add/mul: numpy broadcasting, fast == reference, hand-computed") {
  const std::vector<std::pair<Shape, Shape>> pairs = {
      {{2, 3, 4, 5}, {2, 3, 4, 5}}, {{2, 3, 4, 5}, {2, 3, 1, 1}}, {{2, 3, 4, 5}, {5}},
      {{4, 1}, {1, 3}},             {{2, 1, 4, 1}, {1, 3, 1, 5}}, {{1, 3, 1, 1}, {2, 3, 7, 7}},
      {{3, 70000}, {3, 1}},         {{}, {2, 2}}};
  uint32_t seed = 30;
  for (const auto& [sa, sb] : pairs) {
    CAPTURE(shape_to_string(sa) + " x " + shape_to_string(sb));
    const TensorF32 a = random_tensor(sa, seed++), b = random_tensor(sb, seed++);
    for (BinaryOp op : {BinaryOp::Add, BinaryOp::Mul}) {
      TensorF32 y(broadcast_shape(sa, sb)), yr(broadcast_shape(sa, sb));
      binary_f32(op, a, b, y.mut_view());
      binary_f32_ref(op, a, b, yr.mut_view());
      CHECK(bit_identical(y, yr));
    }
  }
  TensorF32 a({2, 1}, std::vector<float>{1, 2}), b({3}, std::vector<float>{10, 20, 30}), y({2, 3});
  binary_f32(BinaryOp::Add, a, b, y.mut_view());
  CHECK(y.to_vector() == std::vector<float>{11, 21, 31, 12, 22, 32});
  binary_f32(BinaryOp::Mul, a, b, y.mut_view());
  CHECK(y.to_vector() == std::vector<float>{10, 20, 30, 20, 40, 60});
  TensorF32 s({2}, std::vector<float>{1, -2});
  binary_scalar_f32(BinaryOp::Mul, s, 3.0f, s.mut_view());
  CHECK(s.to_vector() == std::vector<float>{3, -6});
  CHECK_THROWS_AS(broadcast_shape({2, 3}, {4}), Error);
}

TEST_CASE("max pool: hand-computed (stride, padding, dilation, ceil_mode) and fast == reference") {
  auto ramp = [](Shape s) {
    TensorF32 t(s);
    for (int64_t i = 0; i < t.size(); ++i) t[i] = static_cast<float>(i);
    return t;
  };
  auto pool = [](const TensorF32& x, Pool2dParams p, bool avg) {
    TensorF32 y(pool2d_output_shape(x.shape(), p)), yr(pool2d_output_shape(x.shape(), p));
    if (avg) {
      avg_pool2d_nchw_f32(x, p, y.mut_view());
      avg_pool2d_nchw_f32_ref(x, p, yr.mut_view());
    } else {
      max_pool2d_nchw_f32(x, p, y.mut_view());
      max_pool2d_nchw_f32_ref(x, p, yr.mut_view());
    }
    CHECK(bit_identical(y, yr));
    return y;
  };
  Pool2dParams p;
  p.kernel_h = p.kernel_w = p.stride_h = p.stride_w = 2;
  CHECK(pool(ramp({1, 1, 4, 4}), p, false).to_vector() == std::vector<float>{5, 7, 13, 15});
  p.ceil_mode = true;  // 5x5, k2 s2 ceil: 3x3, last windows one row/col wide
  const TensorF32 yc = pool(ramp({1, 1, 5, 5}), p, false);
  CHECK(yc.shape() == Shape{1, 1, 3, 3});
  CHECK(yc.to_vector() == std::vector<float>{6, 8, 9, 16, 18, 19, 21, 23, 24});
  Pool2dParams q;  // k3 s2 p1 on 4x4
  q.kernel_h = q.kernel_w = 3;
  q.stride_h = q.stride_w = 2;
  q.pad_h = q.pad_w = 1;
  CHECK(pool(ramp({1, 1, 4, 4}), q, false).to_vector() == std::vector<float>{5, 7, 13, 15});
  Pool2dParams d;  // k2 dilation 2 stride 1 on 5x5: window {i, i+2} x {j, j+2}
  d.kernel_h = d.kernel_w = 2;
  d.dil_h = d.dil_w = 2;
  CHECK(pool(ramp({1, 1, 5, 5}), d, false).to_vector() == std::vector<float>{12, 13, 14, 17, 18, 19, 22, 23, 24});

  // average: k3 s2 p1 on 3x3 (1..9), with and without counting the padding
  TensorF32 x9({1, 1, 3, 3}, std::vector<float>{1, 2, 3, 4, 5, 6, 7, 8, 9});
  Pool2dParams a = q;
  const TensorF32 yi = pool(x9, a, true);
  CHECK(yi.to_vector() == std::vector<float>{12.0f / 9, 16.0f / 9, 24.0f / 9, 28.0f / 9});
  a.count_include_pad = false;
  CHECK(pool(x9, a, true).to_vector() == std::vector<float>{3, 4, 6, 7});
  // ceil_mode average: k3 s2 on 4x4, the last windows are clipped at the border (divisor clipped)
  Pool2dParams c;
  c.kernel_h = c.kernel_w = 3;
  c.stride_h = c.stride_w = 2;
  c.ceil_mode = true;
  CHECK(pool(ramp({1, 1, 4, 4}), c, true).to_vector() == std::vector<float>{5, 6.5f, 11, 12.5f});

  // random, awkward shapes
  const TensorF32 r = random_tensor({2, 3, 13, 11}, 40);
  for (bool ceil : {false, true})
    for (int64_t s : {1, 2, 3}) {
      Pool2dParams pp;
      pp.kernel_h = 3;
      pp.kernel_w = 2;
      pp.stride_h = s;
      pp.stride_w = 2;
      pp.pad_h = 1;
      pp.ceil_mode = ceil;
      pool(r, pp, false);
      pool(r, pp, true);
    }
}

TEST_CASE("adaptive avg pool: PyTorch's start/end windows") {
  auto run = [](const TensorF32& x, int64_t oh, int64_t ow) {
    TensorF32 y({x.dim(0), x.dim(1), oh, ow}), yr({x.dim(0), x.dim(1), oh, ow});
    adaptive_avg_pool2d_nchw_f32(x, oh, ow, y.mut_view());
    adaptive_avg_pool2d_nchw_f32_ref(x, oh, ow, yr.mut_view());
    CHECK(bit_identical(y, yr));
    return y;
  };
  // 5 -> 3: windows [0,2), [1,4), [3,5)
  TensorF32 x({1, 1, 1, 5}, std::vector<float>{1, 2, 3, 4, 5});
  CHECK(run(x, 1, 3).to_vector() == std::vector<float>{1.5f, 3.0f, 4.5f});
  TensorF32 xt({1, 1, 5, 1}, std::vector<float>{1, 2, 3, 4, 5});
  CHECK(run(xt, 3, 1).to_vector() == std::vector<float>{1.5f, 3.0f, 4.5f});
  CHECK(run(x, 1, 1).to_vector() == std::vector<float>{3.0f});
  run(random_tensor({2, 3, 7, 9}, 50), 4, 5);
  run(random_tensor({2, 3, 7, 9}, 51), 7, 9);
}

TEST_CASE("mean and softmax: fast == reference, hand-computed") {
  const TensorF32 x = random_tensor({3, 4, 5, 6}, 60);
  const std::vector<std::pair<std::vector<int64_t>, bool>> cases = {
      {{2, 3}, false}, {{-1, -2}, true}, {{1}, false}, {{0, 2}, true}, {{3}, true}};
  for (const auto& [dims, keep] : cases) {
    TensorF32 y(mean_output_shape(x.shape(), dims, keep)), yr(mean_output_shape(x.shape(), dims, keep));
    mean_f32(x, dims, keep, y.mut_view());
    mean_f32_ref(x, dims, keep, yr.mut_view());
    CHECK(bit_identical(y, yr));
  }
  CHECK(mean_output_shape({2, 3, 4, 5}, {2, 3}, true) == Shape{2, 3, 1, 1});
  TensorF32 m({1, 1, 2, 2}, std::vector<float>{1, 2, 3, 4}), my({1, 1});
  mean_f32(m, {2, 3}, false, my.mut_view());
  CHECK(my[0] == 2.5f);

  for (int64_t axis : {1, -1, 0, 2}) {
    TensorF32 y(x.shape()), yr(x.shape());
    softmax_f32(x, axis, y.mut_view());
    softmax_f32_ref(x, axis, yr.mut_view());
    CHECK(bit_identical(y, yr));
  }
  TensorF32 s({1, 2}, std::vector<float>{0.0f, std::log(2.0f)}), sy({1, 2});
  softmax_f32(s, 1, sy.mut_view());
  CHECK(sy[0] == doctest::Approx(1.0 / 3).epsilon(1e-6));
  CHECK(sy[1] == doctest::Approx(2.0 / 3).epsilon(1e-6));
}

TEST_CASE("layout: cat, split/chunk, transpose, flatten/reshape") {
  const TensorF32 a = random_tensor({2, 3, 4, 5}, 70), b = random_tensor({2, 2, 4, 5}, 71);
  TensorF32 c(cat_output_shape({a.shape(), b.shape()}, 1)), cr(cat_output_shape({a.shape(), b.shape()}, 1));
  CHECK(c.shape() == Shape{2, 5, 4, 5});
  cat_f32({a, b}, 1, c.mut_view());
  cat_f32_ref({a, b}, 1, cr.mut_view());
  CHECK(bit_identical(c, cr));
  CHECK(c[20] == a[20]);              // sample 0, channel 1
  CHECK(c[3 * 20 + 7] == b[7]);       // sample 0, channel 3 = b's channel 0
  CHECK(c[100 + 3 * 20] == b[40]);    // sample 1, channel 3

  CHECK(chunk_sizes(6, 4) == std::vector<int64_t>{2, 2, 2});
  CHECK(chunk_sizes(5, 2) == std::vector<int64_t>{3, 2});
  TensorF32 s0({2, 3, 4, 5}), s1({2, 2, 4, 5}), r0({2, 3, 4, 5}), r1({2, 2, 4, 5});
  split_f32(c, 1, {3, 2}, {s0.mut_view(), s1.mut_view()});
  split_f32_ref(c, 1, {3, 2}, {r0.mut_view(), r1.mut_view()});
  CHECK(bit_identical(s0, a));
  CHECK(bit_identical(s1, b));
  CHECK(bit_identical(r0, a));
  CHECK(bit_identical(r1, b));

  const std::vector<int64_t> perm = {0, 2, 3, 1};
  TensorF32 t(transpose_output_shape(a.shape(), perm)), tr(transpose_output_shape(a.shape(), perm));
  CHECK(t.shape() == Shape{2, 4, 5, 3});
  transpose_f32(a, perm, t.mut_view());
  transpose_f32_ref(a, perm, tr.mut_view());
  CHECK(bit_identical(t, tr));
  // t[n,h,w,c] == a[n,c,h,w]: n=1, c=2, h=3, w=4
  CHECK(t[((1 * 4 + 3) * 5 + 4) * 3 + 2] == a[((1 * 3 + 2) * 4 + 3) * 5 + 4]);

  CHECK(flatten_output_shape({2, 3, 4, 5}, 1, -1) == Shape{2, 60});
  CHECK(flatten_output_shape({2, 3, 4, 5}, 1, 2) == Shape{2, 12, 5});
  CHECK(reshape_output_shape({2, 3, 4}, {-1, 6}) == Shape{4, 6});
  CHECK_THROWS_AS(reshape_output_shape({2, 3, 4}, {5, -1}), Error);
}
