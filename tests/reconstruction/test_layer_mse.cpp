// Fused reconstruction loss and weight gradient (reconstruction/layer_mse.h): the fast kernel against
// its _ref twin (composed of the reference conv / linear / activation kernels) on every geometry the
// fast kernel branches on (im2col GEMM with several samples per chunk, pointwise, grouped, depthwise
// with multiplier / stride / dilation / asymmetric padding, linear across chunks), each fused
// activation kind, with and without bias; loss-only calls; 1 and 2 threads bit-identical; errors.
#include <doctest/doctest.h>

#include <cmath>
#include <optional>
#include <string>
#include <vector>

#include "exec/test_util.h"
#include "reconstruction/layer_mse.h"
#include "reconstruction/recon_test_util.h"

using namespace mqcalib;
using namespace mqcalib::test;

namespace {

// Fast (GEMM / channels-last order, lane sums) vs reference (loop order) float kernels: relative to
// the largest |gradient|, and to the loss.
constexpr double kGradTwinRelTol = 2e-5;
constexpr double kLossTwinRelTol = 1e-5;

// Fluent tester: describe the layer, then test() compares fast and _ref and checks thread invariance.
class LayerMseTester {
 public:
  LayerMseTester& conv(Shape x, Shape w, Conv2dParams p) {
    kind_ = LayerKind::Conv2d;
    xs_ = std::move(x);
    ws_ = std::move(w);
    p_ = p;
    return *this;
  }
  LayerMseTester& linear(int64_t n, int64_t in, int64_t out) {
    kind_ = LayerKind::Linear;
    path_ = LayerMsePath::Linear;
    xs_ = {n, in};
    ws_ = {out, in};
    return *this;
  }
  LayerMseTester& act(std::optional<Activation> a) {
    act_ = a;
    return *this;
  }
  LayerMseTester& no_bias() {
    bias_ = false;
    return *this;
  }
  LayerMseTester& path(LayerMsePath p) {
    path_ = p;
    return *this;
  }

  void test() const {
    const TensorF32 x = random_tensor(xs_, 11, -1.0f, 2.0f), w = random_tensor(ws_, 12, -0.5f, 0.5f);
    const TensorF32 b = random_tensor({ws_[0]}, 13, -0.5f, 0.5f);
    LayerSpec l;
    l.kind = kind_;
    l.conv = p_;
    l.weight = w;
    l.bias = bias_ ? b.data() : nullptr;
    l.activation = act_;
    l.name = "tested";
    const TensorF32 t = random_tensor(layer_output_shape(l, xs_), 14, -0.5f, 2.0f);
    CHECK(layer_mse_path(l, xs_) == path_);
    TensorF32 g_ref(ws_), g1(ws_), g2(ws_);
    const double loss_ref = layer_mse_f32_ref(l, w.data(), x, t, g_ref.data());
    double loss1 = 0.0, loss2 = 0.0, loss_only = 0.0;
    at_threads(1, [&] { loss1 = layer_mse_f32(l, w.data(), x, t, g1.data()); });
    at_threads(2, [&] {
      loss2 = layer_mse_f32(l, w.data(), x, t, g2.data());
      loss_only = layer_mse_f32(l, w.data(), x, t, nullptr);
    });
    CHECK(loss_ref > 0.0);
    CHECK(std::fabs(loss1 - loss_ref) <= kLossTwinRelTol * loss_ref);
    CHECK(max_rel_diff(g1, g_ref) <= kGradTwinRelTol);
    CHECK(max_abs(g_ref.data(), g_ref.size()) > 0.0f);
    CHECK(loss1 == loss2);
    CHECK(loss_only == loss1);
    CHECK(bit_identical(g1, g2));
  }

 private:
  LayerKind kind_ = LayerKind::Conv2d;
  Shape xs_, ws_;
  Conv2dParams p_;
  std::optional<Activation> act_;
  bool bias_ = true;
  LayerMsePath path_ = LayerMsePath::ConvIm2colGemm;  // the kernel the case must exercise
};

}  // namespace

TEST_CASE("layer_mse: im2col GEMM convs, fast vs _ref, threads") {
  SUBCASE("3x3 s1 p1, relu") {
    LayerMseTester().conv({5, 3, 9, 8}, {4, 3, 3, 3}, conv_params(1, 1)).act(Activation::Relu).test();
  }
  SUBCASE("many samples per chunk, stride 2, relu6") {
    LayerMseTester().conv({37, 2, 6, 6}, {3, 2, 3, 3}, conv_params(2, 1)).act(Activation::Relu6).test();
  }
  SUBCASE("one sample per chunk (large columns), no activation") {
    LayerMseTester().conv({3, 16, 30, 30}, {8, 16, 3, 3}, conv_params(1, 1)).path(LayerMsePath::ConvDirect).test();
  }
  SUBCASE("one input channel (a stem: one group, so not depthwise), stride 2, relu6") {
    LayerMseTester().conv({5, 1, 12, 12}, {8, 1, 3, 3}, conv_params(2, 1)).act(Activation::Relu6).test();
  }
  SUBCASE("direct path: 3x3 s1 on 14x14 with 8 channels (K = 72), relu") {
    LayerMseTester()
        .conv({9, 8, 14, 14}, {7, 8, 3, 3}, conv_params(1, 1))
        .act(Activation::Relu)
        .path(LayerMsePath::ConvDirect)
        .test();
  }
  SUBCASE("direct path: stride 2, dilation 2, odd sizes, no activation") {
    LayerMseTester().conv({4, 5, 29, 27}, {6, 5, 3, 3}, conv_params(2, 2, 2)).path(LayerMsePath::ConvDirect).test();
  }
  SUBCASE("direct path: 5x5 kernel, stride 3, padding 2, hardswish") {
    LayerMseTester()
        .conv({3, 4, 47, 46}, {5, 4, 5, 5}, conv_params(3, 2))
        .act(Activation::Hardswish)
        .path(LayerMsePath::ConvDirect)
        .test();
  }
  SUBCASE("7x7 outputs (junk above the direct path's limit), relu") {
    LayerMseTester().conv({6, 8, 7, 7}, {5, 8, 3, 3}, conv_params(1, 1)).act(Activation::Relu).test();
  }
  SUBCASE("dilation 2, silu, no bias") {
    LayerMseTester().conv({3, 2, 8, 8}, {3, 2, 3, 3}, conv_params(1, 2, 2)).act(Activation::Silu).no_bias().test();
  }
  SUBCASE("groups 2, hardswish") {
    LayerMseTester().conv({4, 4, 5, 5}, {6, 2, 3, 3}, conv_params(1, 1, 1, 2)).act(Activation::Hardswish).test();
  }
  SUBCASE("pointwise, several samples per chunk, relu") {
    LayerMseTester().conv({9, 5, 4, 3}, {3, 5, 1, 1}, conv_params(1, 0)).act(Activation::Relu).test();
  }
  SUBCASE("pointwise, one sample per chunk (x used as columns), hardtanh") {
    LayerMseTester().conv({3, 80, 30, 30}, {4, 80, 1, 1}, conv_params(1, 0)).act(Activation::Hardtanh).test();
  }
  SUBCASE("1x1 stride 2, sigmoid") {
    LayerMseTester().conv({3, 3, 5, 5}, {4, 3, 1, 1}, conv_params(2, 0)).act(Activation::Sigmoid).test();
  }
  SUBCASE("asymmetric 2x3 kernel, stride, padding and dilation, tanh") {
    Conv2dParams p;
    p.stride_h = 1;
    p.stride_w = 2;
    p.pad_h = 2;
    p.pad_w = 0;
    p.dil_h = 2;
    LayerMseTester().conv({3, 2, 6, 9}, {2, 2, 2, 3}, p).act(Activation::Tanh).test();
  }
}

TEST_CASE("layer_mse: depthwise convs, fast vs _ref, threads") {
  SUBCASE("3x3 s1 p1, 13 channels (vector tail), relu6") {
    LayerMseTester()
        .conv({3, 13, 7, 7}, {13, 1, 3, 3}, conv_params(1, 1, 1, 13))
        .act(Activation::Relu6)
        .path(LayerMsePath::Depthwise)
        .test();
  }
  SUBCASE("3x3 s2 p1, 16 channels, relu") {
    LayerMseTester()
        .conv({4, 16, 14, 14}, {16, 1, 3, 3}, conv_params(2, 1, 1, 16))
        .act(Activation::Relu)
        .path(LayerMsePath::Depthwise)
        .test();
  }
  SUBCASE("multiplier 2, stride 2, no bias") {
    LayerMseTester()
        .conv({3, 3, 7, 7}, {6, 1, 3, 3}, conv_params(2, 1, 1, 3))
        .no_bias()
        .path(LayerMsePath::Depthwise)
        .test();
  }
  SUBCASE("dilation 2, hardswish") {
    LayerMseTester()
        .conv({2, 9, 8, 7}, {9, 1, 3, 3}, conv_params(1, 2, 2, 9))
        .act(Activation::Hardswish)
        .path(LayerMsePath::Depthwise)
        .test();
  }
  SUBCASE("5x5 s3 p0, odd width, silu") {
    LayerMseTester()
        .conv({2, 10, 11, 13}, {10, 1, 5, 5}, conv_params(3, 0, 1, 10))
        .act(Activation::Silu)
        .path(LayerMsePath::Depthwise)
        .test();
  }
  SUBCASE("asymmetric stride, padding and dilation") {
    Conv2dParams p;
    p.stride_h = 2;
    p.stride_w = 1;
    p.pad_h = 0;
    p.pad_w = 2;
    p.dil_w = 2;
    p.groups = 8;
    LayerMseTester().conv({2, 8, 9, 6}, {8, 1, 2, 3}, p).act(Activation::Relu).path(LayerMsePath::Depthwise).test();
  }
}

TEST_CASE("layer_mse: linear, fast vs _ref, threads") {
  SUBCASE("one chunk, relu") { LayerMseTester().linear(6, 10, 5).act(Activation::Relu).test(); }
  SUBCASE("several chunks (large inputs), no activation") { LayerMseTester().linear(9, 20000, 3).test(); }
  SUBCASE("hardsigmoid, no bias") { LayerMseTester().linear(33, 7, 4).act(Activation::Hardsigmoid).no_bias().test(); }
}

TEST_CASE("layer_mse: hand-computed 1x1 case") {
  // x = [1, 2] (one sample, 2 channels, 1x1), w = [[3, -1]], b = 0.5, relu, t = 2:
  // z = 3 - 2 + 0.5 = 1.5, y = 1.5, rec = (1.5 - 2)^2 / 1 = 0.25, gw = 2 (y - t) x = [-1, -2].
  const TensorF32 x({1, 2, 1, 1}, std::vector<float>{1.0f, 2.0f});
  const TensorF32 w({1, 2, 1, 1}, std::vector<float>{3.0f, -1.0f});
  const TensorF32 t({1, 1, 1, 1}, std::vector<float>{2.0f});
  const float b = 0.5f;
  LayerSpec l;
  l.weight = w;
  l.bias = &b;
  l.activation = Activation::Relu;
  std::vector<float> gw(2), gr(2);
  CHECK(layer_mse_f32(l, w.data(), x, t, gw.data()) == doctest::Approx(0.25));
  CHECK(layer_mse_f32_ref(l, w.data(), x, t, gr.data()) == doctest::Approx(0.25));
  CHECK(gw[0] == doctest::Approx(-1.0));
  CHECK(gw[1] == doctest::Approx(-2.0));
  CHECK(gr[0] == doctest::Approx(-1.0));
  CHECK(gr[1] == doctest::Approx(-2.0));
}

TEST_CASE("layer_mse: errors name the layer") {
  const TensorF32 x({2, 3, 5, 5}), w({4, 3, 3, 3});
  LayerSpec l;
  l.weight = w;
  l.conv = conv_params(1, 1);
  l.name = "features.3.conv";
  std::vector<float> gw(static_cast<size_t>(w.size()));
  auto message = [&](const TensorF32& t, float* g) {
    try {
      layer_mse_f32(l, w.data(), x, t, g);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  const std::string bad_target = message(TensorF32({2, 4, 4, 5}), gw.data());
  CHECK(bad_target.find("features.3.conv") != std::string::npos);
  CHECK(bad_target.find("[2, 4, 5, 5]") != std::string::npos);
  l.activation = Activation::GeluErf;
  const TensorF32 t({2, 4, 5, 5});
  CHECK(message(t, gw.data()).find("GELU") != std::string::npos);
  CHECK(message(t, nullptr).empty());  // the loss alone needs no backward
}
