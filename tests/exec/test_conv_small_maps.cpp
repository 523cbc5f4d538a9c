// The conv GEMM on small maps at batch 32 (exec/conv_gemm.cpp): packed panels copied as column runs
// (runs up to 8 floats with one copy per tap, longer ones in a loop, the direct 1x1 path without
// reading past x), the shared-padding grid of stride-1 convs (applied and not applied), both mode
// choices (fewer than 128 output channels: wide from 70% useful columns; 128 or more: packed below
// 90%) and the panel split over 1, 2 and 3 threads. Every case against conv2d_nchw_f32_ref (and
// its reference epilogue), bit for bit, at each thread count. Odd channel counts leave partial
// row tiles and a partial last panel.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "core/parallel.h"
#include "exec/kernels.h"
#include "exec/test_util.h"

using namespace mqcalib;
using namespace mqcalib::test;

namespace {

struct SmallMapCase {
  const char* name;
  Shape x, w;
  Conv2dParams p;
};

const std::vector<SmallMapCase>& small_map_cases() {
  static const std::vector<SmallMapCase> cases = {
      {"4x4 131 ch (packed, many rows)", {32, 67, 4, 4}, {131, 67, 3, 3}, conv_params(1, 1)},
      {"7x7 53 ch (wide, shared padding)", {32, 37, 7, 7}, {53, 37, 3, 3}, conv_params(1, 1)},
      {"7x7 129 ch (packed, runs of 7)", {32, 33, 7, 7}, {129, 33, 3, 3}, conv_params(1, 1)},
      {"2x2 35 ch (packed, runs of 2)", {32, 65, 2, 2}, {35, 65, 3, 3}, conv_params(1, 1)},
      {"14x14 129 ch (packed, runs of 14)", {5, 9, 14, 14}, {129, 9, 3, 3}, conv_params(1, 1)},
      {"4x4 s2 130 ch (packed phases)", {32, 31, 4, 4}, {130, 31, 3, 3}, conv_params(2, 1)},
      {"7x7 s2 67 ch", {32, 29, 7, 7}, {67, 29, 3, 3}, conv_params(2, 1)},
      {"5x5 pad 2 = dil (K-1) (shared)", {32, 7, 5, 5}, {19, 7, 3, 3}, conv_params(1, 2)},
      {"5x5 pad 3 > dil (K-1) (not shared)", {32, 7, 5, 5}, {19, 7, 3, 3}, conv_params(1, 3)},
      {"6x6 5x5 pad 1 (shared, pad < K-1)", {32, 5, 6, 6}, {23, 5, 5, 5}, conv_params(1, 1)},
      {"6x6 dil 2 pad 2 (shared)", {32, 5, 6, 6}, {131, 5, 3, 3}, conv_params(1, 2, 2)},
      {"3x3 1x1 (direct, panels across samples)", {32, 19, 3, 3}, {37, 19, 1, 1}, conv_params(1, 0)},
      {"1x1 map 1x1 (linear-like)", {33, 77, 1, 1}, {130, 77, 1, 1}, conv_params(1, 0)},
      {"groups 3 on 4x4", {32, 9, 4, 4}, {135, 3, 3, 3}, conv_params(1, 1, 1, 3)},
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

TEST_CASE("conv2d on small maps at batch 32: fast == reference bit for bit at 1, 2 and 3 threads") {
  uint32_t seed = 301;
  for (const SmallMapCase& c : small_map_cases()) {
    CAPTURE(std::string(c.name));
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
