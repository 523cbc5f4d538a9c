// conv2d backward: input, weight and bias gradients of the fast kernels and the _ref twins against
// central finite differences in double precision, fast vs _ref, and 1 vs 2 threads bit-identical.
#include <doctest/doctest.h>
#include <omp.h>

#include <string>
#include <vector>

#include "exec/kernels.h"
#include "exec/test_util.h"
#include "reconstruction/conv_backward.h"
#include "reconstruction/grad_check.h"

using namespace mqcalib;
using namespace mqcalib::test;

namespace {

// float32 gradients vs double finite differences, relative to the largest |gradient|.
constexpr double kGradRelTol = 1e-5;
// Sanity check of the double forward used for the differences vs the engine's float forward.
constexpr double kForwardRelTol = 1e-5;
// Fast vs reference (loop order) float kernels: the fast ones sum in another order (GEMM, or for
// stride 1 the engine's forward conv of the transposed weight over the taps (o, i', j') ascending).
constexpr double kTwinRelTol = 1e-5;

struct Case {
  const char* name;
  Shape x, w;
  Conv2dParams p;
};

std::vector<Case> cases() {
  Conv2dParams asym;
  asym.stride_h = 1;
  asym.stride_w = 2;
  asym.pad_h = 2;
  asym.pad_w = 0;
  asym.dil_h = 2;
  Conv2dParams dw_asym = asym;
  dw_asym.groups = 2;
  return {
      {"3x3 s1 p1", {2, 3, 6, 7}, {4, 3, 3, 3}, conv_params(1, 1)},
      {"3x3 s1 p1, one input channel (a grayscale stem)", {3, 1, 7, 6}, {5, 1, 3, 3}, conv_params(1, 1)},
      {"3x3 s1 p0 (transposed padding 2)", {2, 3, 6, 6}, {4, 3, 3, 3}, conv_params(1, 0)},
      {"1x1 s1 p1: padding beyond the kernel (GEMM + col2im path)", {2, 3, 4, 5}, {4, 3, 1, 1}, conv_params(1, 1)},
      {"3x3 s2 p1, 5 samples (2 chunks)", {5, 2, 7, 6}, {3, 2, 3, 3}, conv_params(2, 1)},
      {"3x3 dilation 2", {2, 2, 8, 8}, {3, 2, 3, 3}, conv_params(1, 2, 2)},
      {"groups 2", {2, 4, 5, 5}, {6, 2, 3, 3}, conv_params(1, 1, 1, 2)},
      {"depthwise 3x3 s1", {2, 4, 6, 6}, {4, 1, 3, 3}, conv_params(1, 1, 1, 4)},
      {"depthwise 3x3 s2, multiplier 2", {3, 3, 7, 7}, {6, 1, 3, 3}, conv_params(2, 1, 1, 3)},
      {"depthwise 3x3 s1 dilation 2", {2, 3, 7, 8}, {3, 1, 3, 3}, conv_params(1, 2, 2, 3)},
      {"depthwise 3x3 s3 p0, odd width", {2, 2, 9, 11}, {2, 1, 3, 3}, conv_params(3, 0, 1, 2)},
      {"depthwise 2x3 asymmetric stride/pad/dilation", {2, 2, 6, 9}, {2, 1, 2, 3}, dw_asym},
      {"pointwise 1x1", {2, 5, 4, 3}, {3, 5, 1, 1}, conv_params(1, 0)},
      {"1x1 stride 2", {2, 3, 5, 5}, {4, 3, 1, 1}, conv_params(2, 0)},
      {"5x5 s2 p2", {2, 2, 9, 8}, {3, 2, 5, 5}, conv_params(2, 2)},
      {"asymmetric 2x3", {2, 2, 6, 9}, {2, 2, 2, 3}, asym},
  };
}

struct Grads {
  TensorF32 gx, gw, gb;
};

Grads run(const TensorF32& x, const TensorF32& w, const TensorF32& gy, const Conv2dParams& p, bool ref) {
  Grads g{TensorF32(x.shape()), TensorF32(w.shape()), TensorF32({w.dim(0)})};
  if (ref) {
    conv2d_backward_input_nchw_f32_ref(gy, w, p, g.gx.mut_view());
    conv2d_backward_weight_nchw_f32_ref(x, gy, p, g.gw.mut_view(), g.gb.data());
  } else {
    conv2d_backward_input_nchw_f32(gy, w, p, g.gx.mut_view());
    conv2d_backward_weight_nchw_f32(x, gy, p, g.gw.mut_view(), g.gb.data());
  }
  return g;
}

}  // namespace

TEST_CASE("conv2d backward vs double finite differences, fast and _ref") {
  uint32_t seed = 100;
  for (const Case& c : cases()) {
    CAPTURE(std::string(c.name));
    const TensorF32 x = random_tensor(c.x, seed++), w = random_tensor(c.w, seed++), b = random_tensor({c.w[0]}, seed++);
    const Shape ys = conv2d_output_shape(c.x, c.w, c.p);
    const TensorF32 gy = random_tensor(ys, seed++);
    const VecD xd = to_double(x), wd = to_double(w), bd = to_double(b), gyd = to_double(gy);

    TensorF32 y(ys);
    conv2d_nchw_f32_ref(x, w, b.data(), c.p, y.mut_view());
    CHECK(rel_err(y, conv2d_d(xd, c.x, wd, c.w, &bd, c.p)) <= kForwardRelTol);

    // L = sum(gy * conv(x, w) + b): its gradients are the backward kernels' outputs.
    const VecD fx = finite_diff([&](const VecD& v) { return dot(gyd, conv2d_d(v, c.x, wd, c.w, &bd, c.p)); }, xd);
    const VecD fw = finite_diff([&](const VecD& v) { return dot(gyd, conv2d_d(xd, c.x, v, c.w, &bd, c.p)); }, wd);
    const VecD fb = finite_diff([&](const VecD& v) { return dot(gyd, conv2d_d(xd, c.x, wd, c.w, &v, c.p)); }, bd);
    for (bool ref : {false, true}) {
      CAPTURE(ref);
      const Grads g = run(x, w, gy, c.p, ref);
      CHECK(rel_err(g.gx, fx) <= kGradRelTol);
      CHECK(rel_err(g.gw, fw) <= kGradRelTol);
      CHECK(rel_err(g.gb, fb) <= kGradRelTol);
    }
    const Grads f = run(x, w, gy, c.p, false), r = run(x, w, gy, c.p, true);
    CHECK(max_rel_diff(f.gx, r.gx) <= kTwinRelTol);
    CHECK(max_rel_diff(f.gw, r.gw) <= kTwinRelTol);
    CHECK(max_rel_diff(f.gb, r.gb) <= kTwinRelTol);
  }
}

TEST_CASE("conv2d backward: 1 and 2 threads bit-identical") {
  const std::vector<Case> cs = {
      {"3x3 s1 p1, 11 samples", {11, 8, 10, 10}, {16, 8, 3, 3}, conv_params(1, 1)},
      {"depthwise s2, 11 samples", {11, 8, 10, 10}, {8, 1, 3, 3}, conv_params(2, 1, 1, 8)},
      {"depthwise s1, 11 samples", {11, 8, 7, 7}, {8, 1, 3, 3}, conv_params(1, 1, 1, 8)},
      {"pointwise, 11 samples", {11, 8, 6, 6}, {12, 8, 1, 1}, conv_params(1, 0)},
  };
  for (const Case& c : cs) {
    CAPTURE(std::string(c.name));
    const TensorF32 x = random_tensor(c.x, 7), w = random_tensor(c.w, 8);
    const TensorF32 gy = random_tensor(conv2d_output_shape(c.x, c.w, c.p), 9);
    const int saved = omp_get_max_threads();
    omp_set_num_threads(1);
    const Grads g1 = run(x, w, gy, c.p, false);
    omp_set_num_threads(2);
    const Grads g2 = run(x, w, gy, c.p, false);
    omp_set_num_threads(saved);
    CHECK(bit_identical(g1.gx, g2.gx));
    CHECK(bit_identical(g1.gw, g2.gw));
    CHECK(bit_identical(g1.gb, g2.gb));
  }
}

TEST_CASE("conv2d backward: shape errors name the kernel and the shapes") {
  const TensorF32 x({1, 2, 5, 5}), w({3, 2, 3, 3}), gy_bad({1, 3, 4, 4});
  TensorF32 gx(x.shape()), gw(w.shape());
  CHECK_THROWS_WITH_AS(conv2d_backward_input_nchw_f32(gy_bad, w, Conv2dParams{}, gx.mut_view()),
                       doctest::Contains("conv2d_backward_input: gradient gy has shape [1, 3, 4, 4]"), Error);
  CHECK_THROWS_AS(conv2d_backward_weight_nchw_f32(x, gy_bad, Conv2dParams{}, gw.mut_view(), nullptr), Error);
}
