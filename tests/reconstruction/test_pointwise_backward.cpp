// Backward kernels other than conv: linear, activations, add, pools (vs double finite differences,
// inputs kept >= 1e-3 from kinks), the fake-quant STE mask vs its written formula, fast vs _ref, and
// 1 vs 2 threads bit-identical.
#include <doctest/doctest.h>
#include <omp.h>

#include <cmath>
#include <string>
#include <vector>

#include "core/quantize.h"
#include "exec/kernels.h"
#include "exec/test_util.h"
#include "reconstruction/activation_backward.h"
#include "reconstruction/add_backward.h"
#include "reconstruction/fake_quant_backward.h"
#include "reconstruction/grad_check.h"
#include "reconstruction/linear_backward.h"
#include "reconstruction/pool_backward.h"
#include "reconstruction/recon_test_util.h"

using namespace mqcalib;
using namespace mqcalib::test;

namespace {

// float32 gradients vs double finite differences, relative to the largest |gradient|.
constexpr double kGradRelTol = 1e-5;
// Fast (GEMM order) vs reference (loop order).
constexpr double kTwinRelTol = 1e-5;
// Smallest distance of a random input from a kink of the function under test.
constexpr float kKinkGap = 1e-3f;

}  // namespace

TEST_CASE("linear backward vs finite differences, fast vs _ref, threads") {
  const Shape xs{37, 13}, ws{19, 13};
  const TensorF32 x = random_tensor(xs, 1), w = random_tensor(ws, 2), b = random_tensor({19}, 3);
  const TensorF32 gy = random_tensor({37, 19}, 4);
  const VecD xd = to_double(x), wd = to_double(w), bd = to_double(b), gyd = to_double(gy);
  const VecD fx = finite_diff([&](const VecD& v) { return dot(gyd, linear_d(v, xs, wd, ws, &bd)); }, xd);
  const VecD fw = finite_diff([&](const VecD& v) { return dot(gyd, linear_d(xd, xs, v, ws, &bd)); }, wd);
  const VecD fb = finite_diff([&](const VecD& v) { return dot(gyd, linear_d(xd, xs, wd, ws, &v)); }, bd);
  TensorF32 gx(xs), gw(ws), gb({19}), rx(xs), rw(ws), rb({19});
  linear_backward_input_f32(gy, w, gx.mut_view());
  linear_backward_weight_f32(x, gy, gw.mut_view(), gb.data());
  linear_backward_input_f32_ref(gy, w, rx.mut_view());
  linear_backward_weight_f32_ref(x, gy, rw.mut_view(), rb.data());
  CHECK(rel_err(gx, fx) <= kGradRelTol);
  CHECK(rel_err(gw, fw) <= kGradRelTol);
  CHECK(rel_err(gb, fb) <= kGradRelTol);
  CHECK(rel_err(rx, fx) <= kGradRelTol);
  CHECK(rel_err(rw, fw) <= kGradRelTol);
  CHECK(rel_err(rb, fb) <= kGradRelTol);
  CHECK(max_rel_diff(gx, rx) <= kTwinRelTol);
  CHECK(max_rel_diff(gw, rw) <= kTwinRelTol);
  TensorF32 gx1(xs), gw1(ws), gb1({19});
  at_threads(1, [&] {
    linear_backward_input_f32(gy, w, gx1.mut_view());
    linear_backward_weight_f32(x, gy, gw1.mut_view(), gb1.data());
  });
  CHECK(bit_identical(gx1, gx));
  CHECK(bit_identical(gw1, gw));
  CHECK(bit_identical(gb1, gb));
}

TEST_CASE("activation backward vs finite differences away from kinks, fast == _ref") {
  struct A {
    Activation a;
    const char* name;
    std::vector<float> kinks;
  };
  ActivationParams hp;
  hp.min_val = -0.5f;
  hp.max_val = 2.0f;
  const std::vector<A> acts = {{Activation::Relu, "relu", {0.0f}},
                               {Activation::Relu6, "relu6", {0.0f, 6.0f}},
                               {Activation::Hardtanh, "hardtanh", {hp.min_val, hp.max_val}},
                               {Activation::Silu, "silu", {}},
                               {Activation::Hardswish, "hardswish", {-3.0f, 3.0f}},
                               {Activation::Sigmoid, "sigmoid", {}},
                               {Activation::Tanh, "tanh", {}},
                               {Activation::Hardsigmoid, "hardsigmoid", {-3.0f, 3.0f}}};
  for (const A& a : acts) {
    CAPTURE(std::string(a.name));
    const TensorF32 x = random_away_from({3, 5, 41}, 11, -8.0f, 8.0f, a.kinks, kKinkGap);
    const TensorF32 gy = random_tensor(x.shape(), 12);
    const VecD xd = to_double(x), gyd = to_double(gy);
    const VecD fd = finite_diff(
        [&](const VecD& v) {
          double s = 0.0;
          for (size_t i = 0; i < v.size(); ++i) s += gyd[i] * activation_d(a.a, v[i], hp);
          return s;
        },
        xd);
    TensorF32 g(x.shape()), r(x.shape()), g1(x.shape());
    activation_backward_f32(a.a, x, gy, g.mut_view(), hp);
    activation_backward_f32_ref(a.a, x, gy, r.mut_view(), hp);
    at_threads(1, [&] { activation_backward_f32(a.a, x, gy, g1.mut_view(), hp); });
    CHECK(rel_err(g, fd) <= kGradRelTol);
    CHECK(bit_identical(g, r));
    CHECK(bit_identical(g, g1));
  }
}

TEST_CASE("activation backward at the kinks follows PyTorch's subgradients") {
  const TensorF32 x({6}, std::vector<float>{-3.0f, 0.0f, 3.0f, 6.0f, -1.0f, 7.0f});
  const TensorF32 gy({6}, 1.0f);
  TensorF32 g({6});
  activation_backward_f32(Activation::Relu, x, gy, g.mut_view());
  CHECK(g.to_vector() == std::vector<float>{0, 0, 1, 1, 0, 1});
  activation_backward_f32(Activation::Relu6, x, gy, g.mut_view());
  CHECK(g.to_vector() == std::vector<float>{0, 0, 1, 0, 0, 0});
  activation_backward_f32(Activation::Hardswish, x, gy, g.mut_view());
  CHECK(g.to_vector() == std::vector<float>{-0.5f, 0.5f, 1.5f, 1, (2.0f * -1.0f + 3.0f) / 6.0f, 1});
  CHECK_THROWS_WITH_AS(activation_backward_f32(Activation::GeluErf, x, gy, g.mut_view()), doctest::Contains("GELU"),
                       Error);
}

TEST_CASE("add backward copies the gradient to both inputs") {
  const TensorF32 gy = random_tensor({2, 3, 4}, 5);
  TensorF32 ga(gy.shape()), gb(gy.shape()), bad({2, 12});
  MutViewF32 va = ga.mut_view(), vb = gb.mut_view(), vbad = bad.mut_view();
  add_backward_f32(gy, &va, &vb);
  CHECK(bit_identical(ga, gy));
  CHECK(bit_identical(gb, gy));
  CHECK_THROWS_AS(add_backward_f32(gy, &va, &vbad), Error);
}

TEST_CASE("pool backward vs finite differences, fast == _ref, threads") {
  Pool2dParams mp;
  mp.kernel_h = mp.kernel_w = 3;
  mp.stride_h = mp.stride_w = 2;
  mp.pad_h = mp.pad_w = 1;
  Pool2dParams ap = mp;
  ap.count_include_pad = false;
  ap.ceil_mode = true;
  const Shape xs{2, 3, 7, 8};
  // distinct values 1e-2 apart: no ties, so max pooling is differentiable at x.
  TensorF32 x(xs);
  std::mt19937 rng(3);
  std::vector<int> perm(static_cast<size_t>(x.size()));
  for (size_t i = 0; i < perm.size(); ++i) perm[i] = static_cast<int>(i);
  std::shuffle(perm.begin(), perm.end(), rng);
  for (int64_t i = 0; i < x.size(); ++i) x[i] = 0.01f * static_cast<float>(perm[static_cast<size_t>(i)]) - 1.0f;
  const VecD xd = to_double(x);

  auto pool_d = [&](const VecD& v, int kind, const Shape& ys) {  // 0 max, 1 avg, 2 adaptive
    std::vector<double> y(static_cast<size_t>(numel(ys)));
    // the window rules of the forward kernels (src/exec/kernels.h), in double
    const int64_t H = xs[2], W = xs[3], OH = ys[2], OW = ys[3];
    for (int64_t pl = 0; pl < xs[0] * xs[1]; ++pl)
      for (int64_t oh = 0; oh < OH; ++oh)
        for (int64_t ow = 0; ow < OW; ++ow) {
          int64_t h0, h1, w0, w1, div;
          const Pool2dParams& p = kind == 0 ? mp : ap;
          if (kind == 2) {
            h0 = oh * H / OH, h1 = ((oh + 1) * H + OH - 1) / OH, w0 = ow * W / OW, w1 = ((ow + 1) * W + OW - 1) / OW;
            div = (h1 - h0) * (w1 - w0);
          } else {
            h0 = oh * p.stride_h - p.pad_h, w0 = ow * p.stride_w - p.pad_w;
            h1 = std::min(h0 + p.kernel_h, H + p.pad_h), w1 = std::min(w0 + p.kernel_w, W + p.pad_w);
            const int64_t full = (h1 - h0) * (w1 - w0);
            h0 = std::max<int64_t>(h0, 0), w0 = std::max<int64_t>(w0, 0), h1 = std::min(h1, H), w1 = std::min(w1, W);
            div = p.count_include_pad ? full : (h1 - h0) * (w1 - w0);
          }
          double acc = kind == 0 ? -1e300 : 0.0;
          for (int64_t ih = h0; ih < h1; ++ih)
            for (int64_t iw = w0; iw < w1; ++iw) {
              const double e = v[static_cast<size_t>((pl * H + ih) * W + iw)];
              acc = kind == 0 ? std::max(acc, e) : acc + e;
            }
          y[static_cast<size_t>((pl * OH + oh) * OW + ow)] = kind == 0 ? acc : acc / static_cast<double>(div);
        }
    return y;
  };

  for (int kind : {0, 1, 2}) {
    CAPTURE(kind);
    const Shape ys = kind == 0   ? pool2d_output_shape(xs, mp)
                     : kind == 1 ? pool2d_output_shape(xs, ap)
                                 : Shape{2, 3, 3, 5};
    // the double forward matches the engine's float forward
    TensorF32 y(ys);
    if (kind == 0) max_pool2d_nchw_f32_ref(x, mp, y.mut_view());
    if (kind == 1) avg_pool2d_nchw_f32_ref(x, ap, y.mut_view());
    if (kind == 2) adaptive_avg_pool2d_nchw_f32_ref(x, 3, 5, y.mut_view());
    CHECK(rel_err(y, pool_d(xd, kind, ys)) <= kGradRelTol);

    const TensorF32 gy = random_tensor(ys, 21);
    const VecD gyd = to_double(gy);
    const VecD fd = finite_diff([&](const VecD& v) { return dot(gyd, pool_d(v, kind, ys)); }, xd);
    TensorF32 g(xs), r(xs), g1(xs);
    auto fast = [&](TensorF32& out) {
      if (kind == 0) max_pool2d_backward_nchw_f32(x, gy, mp, out.mut_view());
      if (kind == 1) avg_pool2d_backward_nchw_f32(gy, ap, out.mut_view());
      if (kind == 2) adaptive_avg_pool2d_backward_nchw_f32(gy, out.mut_view());
    };
    fast(g);
    at_threads(1, [&] { fast(g1); });
    if (kind == 0) max_pool2d_backward_nchw_f32_ref(x, gy, mp, r.mut_view());
    if (kind == 1) avg_pool2d_backward_nchw_f32_ref(gy, ap, r.mut_view());
    if (kind == 2) adaptive_avg_pool2d_backward_nchw_f32_ref(gy, r.mut_view());
    CHECK(rel_err(g, fd) <= kGradRelTol);
    CHECK(bit_identical(g, r));
    CHECK(bit_identical(g, g1));
  }
}

TEST_CASE("fake-quant STE gradient: passes inside the clamp range, zero outside (written formula)") {
  // Per-channel on axis 1, asymmetric (zp 3 and -2), 4-bit signed [-8, 7], scales 0.5 and 0.25.
  QParams p;
  p.scale = {0.5f, 0.25f};
  p.zero_point = {3, -2};
  p.qmin = -8;
  p.qmax = 7;
  p.axis = 1;
  const Shape xs{3, 2, 40};
  TensorF32 x(xs);
  for (int64_t i = 0; i < x.size(); ++i)
    x[i] = -6.0f + 0.3f * static_cast<float>(i % 40) + 0.01f * static_cast<float>(i / 80);
  const TensorF32 gy = random_tensor(xs, 31);
  TensorF32 g(xs), r(xs), g1(xs);
  fake_quantize_backward_ste_f32(x, gy, p, g.mut_view());
  fake_quantize_backward_ste_f32_ref(x, gy, p, r.mut_view());
  at_threads(1, [&] { fake_quantize_backward_ste_f32(x, gy, p, g1.mut_view()); });
  CHECK(bit_identical(g, r));
  CHECK(bit_identical(g, g1));
  int inside = 0, outside = 0;
  for (int64_t i = 0; i < x.size(); ++i) {
    const int64_t c = (i / 40) % 2;
    // the mask, computed independently in double: qmin <= round(x / s) + zp <= qmax
    const double q = std::nearbyint(static_cast<double>(x[i]) / p.scale[static_cast<size_t>(c)]) +
                     p.zero_point[static_cast<size_t>(c)];
    const bool pass = q >= p.qmin && q <= p.qmax;
    (pass ? inside : outside)++;
    CHECK(g[i] == (pass ? gy[i] : 0.0f));
  }
  CHECK(inside > 0);
  CHECK(outside > 0);
  // where it passes, fake_quantize is the identity plus a constant offset per rounding step, i.e.
  // the forward's clamp is inactive: check against the forward itself at the boundary codes.
  TensorF32 y(xs);
  fake_quantize_f32_ref(x, p, y.data());
  for (int64_t i = 0; i < x.size(); ++i) {
    const size_t c = static_cast<size_t>((i / 40) % 2);
    const float lo = p.scale[c] * static_cast<float>(p.qmin - p.zero_point[c]);
    const float hi = p.scale[c] * static_cast<float>(p.qmax - p.zero_point[c]);
    if (g[i] == 0.0f && gy[i] != 0.0f) CHECK((y[i] == lo || y[i] == hi));
  }
}
