// The conv GEMM on small maps (exec/conv_gemm.cpp), each case in the mode it names (checked
// against the mode chooser, so a case cannot drift out of the path it covers): position panels on
// sample-minor planes (batches that fill 32- and 16-column panels, a partial panel per position,
// 8-panel tasks stored by block transposes and shorter ones, phases no tap reads, dilation, groups,
// 5x5 kernels), packed panels in the class order that skips padded taps (one class, mixed panels,
// outputs whose every tap is padding, kernels of more than 64 taps that keep the plain order),
// wide panels on the shared-padding grid and the direct 1x1 path, over 1, 2 and 3 threads. Every
// case against conv2d_nchw_f32_ref (and its reference epilogue), bit for bit, at each thread count.
// Odd channel counts leave partial row tiles and a partial last panel.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "core/parallel.h"
#include "exec/conv_gemm.h"
#include "exec/conv_tap_classes.h"
#include "exec/kernels.h"
#include "exec/test_util.h"

using namespace mqcalib;
using namespace mqcalib::test;

namespace {

struct SmallMapCase {
  const char* name;
  const char* mode;  // conv2d_gemm_mode_name's, on AVX2 and AVX-512 alike
  Shape x, w;
  Conv2dParams p;
};

const std::vector<SmallMapCase>& small_map_cases() {
  static const std::vector<SmallMapCase> cases = {
      {"4x4 131 ch, batch 32", "positions", {32, 67, 4, 4}, {131, 67, 3, 3}, conv_params(1, 1)},
      {"2x2 35 ch, batch 32 (corners: 4 taps of 9)", "positions", {32, 65, 2, 2}, {35, 65, 3, 3}, conv_params(1, 1)},
      {"7x7 s2 67 ch", "positions", {32, 29, 7, 7}, {67, 29, 3, 3}, conv_params(2, 1)},
      {"batch 60 (a partial panel per position)", "positions", {60, 9, 5, 5}, {20, 9, 3, 3}, conv_params(1, 1)},
      {"batch 30", "positions", {30, 8, 6, 6}, {17, 8, 3, 3}, conv_params(1, 1)},
      {"8x8 map (8-panel tasks)", "positions", {32, 8, 8, 8}, {21, 8, 3, 3}, conv_params(1, 1)},
      {"1x1 s2 (one phase of four read)", "positions", {32, 64, 4, 4}, {33, 64, 1, 1}, conv_params(2, 0)},
      {"dil 2 pad 2", "positions", {32, 8, 6, 6}, {40, 8, 3, 3}, conv_params(1, 2, 2)},
      {"5x5 kernel pad 1", "positions", {32, 5, 6, 6}, {23, 5, 5, 5}, conv_params(1, 1)},
      {"groups 2, 72 taps", "positions", {32, 16, 4, 4}, {66, 8, 3, 3}, conv_params(1, 1, 1, 2)},
      {"4x4 131 ch, batch 20 (class order)", "packed", {20, 67, 4, 4}, {131, 67, 3, 3}, conv_params(1, 1)},
      {"7x7 129 ch, batch 20 (runs of 5)", "packed", {20, 33, 7, 7}, {129, 33, 3, 3}, conv_params(1, 1)},
      {"14x14 129 ch, batch 5 (runs of 12)", "packed", {5, 9, 14, 14}, {129, 9, 3, 3}, conv_params(1, 1)},
      {"4x4 s2 130 ch, batch 20 (phases)", "packed", {20, 31, 4, 4}, {130, 31, 3, 3}, conv_params(2, 1)},
      {"1x1 map pad 1 (one class: the centre tap)", "packed", {20, 40, 1, 1}, {130, 40, 3, 3}, conv_params(1, 1)},
      {"pad 3 on 2x2 (outputs with every tap on padding)", "packed", {20, 4, 2, 2}, {8, 4, 3, 3}, conv_params(1, 3)},
      {"9x9 kernel (81 taps: plain order)", "packed", {20, 2, 9, 9}, {10, 2, 9, 9}, conv_params(1, 4)},
      {"groups 3 on 4x4, batch 32 (27 taps)", "packed", {32, 9, 4, 4}, {135, 3, 3, 3}, conv_params(1, 1, 1, 3)},
      {"7x7 53 ch, batch 20 (shared padding)", "wide", {20, 37, 7, 7}, {53, 37, 3, 3}, conv_params(1, 1)},
      {"one input channel, batch 32 (9 taps)", "wide", {32, 1, 28, 28}, {16, 1, 3, 3}, conv_params(1, 1)},
      {"5x5 pad 2 = dil (K-1) (shared)", "wide", {32, 7, 5, 5}, {19, 7, 3, 3}, conv_params(1, 2)},
      {"5x5 pad 3 > dil (K-1) (not shared)", "packed", {32, 7, 5, 5}, {19, 7, 3, 3}, conv_params(1, 3)},
      {"3x3 1x1 (direct, panels across samples)", "direct", {32, 19, 3, 3}, {37, 19, 1, 1}, conv_params(1, 0)},
      {"1x1 map 1x1 (linear-like)", "direct", {33, 77, 1, 1}, {130, 77, 1, 1}, conv_params(1, 0)},
  };
  return cases;
}

// The fast conv with bias and relu at `threads` threads.
TensorF32 fast_conv(const TensorF32& x, const TensorF32& w, const TensorF32& b, const Conv2dParams& p, int threads) {
  const Activation relu = Activation::Relu;
  ConvEpilogue ep;
  ep.bias = b.data();
  ep.act = &relu;
  const int saved = num_threads();
  set_num_threads(threads);
  TensorF32 y(conv2d_output_shape(x.shape(), w.shape(), p));
  conv2d_nchw_f32(x, w, ep, p, y.mut_view());
  set_num_threads(saved);
  return y;
}

}  // namespace

TEST_CASE("conv2d on small maps in every GEMM mode: fast == reference bit for bit at 1, 2 and 3 threads") {
  uint32_t seed = 301;
  for (const SmallMapCase& c : small_map_cases()) {
    CAPTURE(std::string(c.name));
    CHECK(std::string(exec_detail::conv2d_gemm_mode_name(c.x, c.w, c.p, conv2d_output_shape(c.x, c.w, c.p))) == c.mode);
    const TensorF32 x = random_tensor(c.x, seed++), w = random_tensor(c.w, seed++), b = random_tensor({c.w[0]}, seed++);
    TensorF32 want(conv2d_output_shape(c.x, c.w, c.p));
    conv2d_nchw_f32_ref(x, w, b.data(), c.p, want.mut_view());
    const Activation relu = Activation::Relu;
    ConvEpilogue ep;
    ep.act = &relu;
    conv_epilogue_nchw_f32_ref(ep, want.mut_view());
    for (int threads : {1, 2, 3}) {
      CAPTURE(threads);
      CHECK(bit_identical(fast_conv(x, w, b, c.p, threads), want));
    }
  }
}

TEST_CASE("linear at batch 33 with 130 outputs: fast == reference bit for bit at 1, 2 and 3 threads") {
  const TensorF32 x = random_tensor({33, 77}, 401), w = random_tensor({130, 77}, 402), b = random_tensor({130}, 403);
  TensorF32 want({33, 130});
  linear_f32_ref(x, w, b.data(), want.mut_view());
  const int saved = num_threads();
  for (int threads : {1, 2, 3}) {
    CAPTURE(threads);
    set_num_threads(threads);
    TensorF32 y({33, 130});
    linear_f32(x, w, b.data(), y.mut_view());
    CHECK(bit_identical(y, want));
  }
  set_num_threads(saved);
}

TEST_CASE("tap masks of a 3x3 pad 1 conv on a 4x4 map, by hand") {
  // bit i * 3 + j: tap (i, j) inside the input. Corner (0, 0): taps (1..2, 1..2); top edge (0, 1):
  // rows 1..2, every column; the middle: all nine.
  const Shape x{32, 8, 4, 4}, w{16, 8, 3, 3};
  const exec_detail::ConvGeom g = exec_detail::conv_geom(x, w, conv_params(1, 1), conv2d_output_shape(x, w, conv_params(1, 1)));
  uint64_t full = 0;
  const std::vector<uint64_t> m = exec_detail::position_tap_masks(g, &full);
  REQUIRE(m.size() == 16);
  CHECK(full == 0x1FFu);
  CHECK(m[0] == 0x1B0u);   // (0,0): bits 4 5 7 8
  CHECK(m[1] == 0x1F8u);   // (0,1): bits 3..8
  CHECK(m[3] == 0x0D8u);   // (0,3): bits 3 4 6 7
  CHECK(m[5] == 0x1FFu);   // (1,1)
  CHECK(m[15] == 0x01Bu);  // (3,3): bits 0 1 3 4
  int64_t ka[72];
  CHECK(exec_detail::panel_tap_list(g, m[0], ka) == 8 * 4);
  CHECK(ka[0] == 4);
  CHECK(ka[3] == 8);
  CHECK(ka[4] == 9 + 4);  // channel 1's first
  // the packed class order, 32-column panels. Batch 2: one panel holds every class, nothing to skip,
  // the plain order. Batch 8: four panels, the top row's (rows 1..2 of the taps), two with every
  // tap, the bottom row's (rows 0..1): 30 tap columns of 36.
  const auto classes = [&](int64_t n) {
    const Shape xn{n, 8, 4, 4};
    return exec_detail::tap_classes(
        exec_detail::conv_geom(xn, w, conv_params(1, 1), conv2d_output_shape(xn, w, conv_params(1, 1)), true), 32);
  };
  CHECK(classes(2).order.empty());
  CHECK(classes(2).panel_mask.empty());
  const exec_detail::TapClasses tc = classes(8);
  REQUIRE(tc.order.size() == 128);
  CHECK(tc.order[0] == 0);  // class (top, left): sample 0's (0, 0), then sample 1's
  CHECK(tc.order[1] == 16);
  CHECK(tc.order[8] == 1);  // class (top, middle)
  CHECK(tc.panel_mask == std::vector<uint64_t>{0x1F8u, 0x1FFu, 0x1FFu, 0x03Fu});
}
