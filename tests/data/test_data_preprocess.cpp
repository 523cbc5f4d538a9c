// Tests of preprocessing numerics (torchvision convention), resize / center crop against hand
// computations, option validation, deterministic sampling and thread-count-independent batches.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <set>

#include "core/parallel.h"
#include "data/dataset.h"
#include "data_test_util.h"

using namespace mqcalib;
using namespace data_test;

namespace {
constexpr float kTol = 1e-6f;        // float32 arithmetic on values of order 1
constexpr float kResizeTol = 1e-4f;  // float32 results of double-accumulated sums on values up to 255
}  // namespace

TEST_CASE("finish_sample: ToTensor then Normalize, hand-computed") {
  // (v/255 - 0.5) / 0.25 for v = 0, 51, 128, 255: -2, -1.2, (128/255 - 0.5) * 4 = 0.00784313..., 2.
  std::vector<float> raw = {0, 51, 128, 255};
  Preprocess pp;
  pp.mean = {0.5f};
  pp.std = {0.25f};
  std::vector<float> out(4);
  finish_sample(raw, 1, 2, 2, /*from_uint8=*/true, pp, "test", out.data());
  CHECK(std::fabs(out[0] - (-2.0f)) <= kTol);
  CHECK(std::fabs(out[1] - (-1.2f)) <= kTol);
  CHECK(std::fabs(out[2] - 0.0078431373f) <= kTol);
  CHECK(std::fabs(out[3] - 2.0f) <= kTol);

  // float source: no /255, only (x - mean) / std. (0.3 - 0.1) / 0.5 = 0.4
  std::vector<float> f = {0.3f};
  Preprocess fp;
  fp.mean = {0.1f};
  fp.std = {0.5f};
  finish_sample(f, 1, 1, 1, /*from_uint8=*/false, fp, "test", out.data());
  CHECK(std::fabs(out[0] - 0.4f) <= kTol);

  // scale_to_unit off: uint8 values stay in [0, 255]. (51 - 1) / 2 = 25.
  std::vector<float> u = {51};
  Preprocess up;
  up.scale_to_unit = false;
  up.mean = {1};
  up.std = {2};
  finish_sample(u, 1, 1, 1, true, up, "test", out.data());
  CHECK(out[0] == 25.0f);

  // ImageNet per-channel constants on value 255 (1.0): (1 - 0.485)/0.229 = 2.2489083,
  // (1 - 0.456)/0.224 = 2.4285714, (1 - 0.406)/0.225 = 2.64.
  std::vector<float> w = {255, 255, 255};
  Preprocess ip;
  ip.mean = {0.485f, 0.456f, 0.406f};
  ip.std = {0.229f, 0.224f, 0.225f};
  finish_sample(w, 3, 1, 1, true, ip, "test", out.data());
  CHECK(std::fabs(out[0] - 2.2489083f) <= 1e-5f);
  CHECK(std::fabs(out[1] - 2.4285714f) <= 1e-5f);
  CHECK(std::fabs(out[2] - 2.64f) <= 1e-5f);
}

TEST_CASE("validate_preprocess names the option") {
  Preprocess pp;
  pp.std = {0.5f, 0.0f, 0.5f};
  CHECK_ERROR_MENTIONS(validate_preprocess(pp, 3, "src"), "--std", "is 0");
  pp.std = {0.5f, 0.5f};
  CHECK_ERROR_MENTIONS(validate_preprocess(pp, 3, "src"), "--std", "2 values", "3 channels");
  pp.std = {0.5f};
  CHECK_NOTHROW(validate_preprocess(pp, 3, "src"));
  pp.mean = {0.1f, 0.2f, 0.3f};
  CHECK_ERROR_MENTIONS(validate_preprocess(pp, 1, "src"), "--mean", "3 values", "1 channel");
  pp.mean = {NAN};
  CHECK_ERROR_MENTIONS(validate_preprocess(pp, 1, "src"), "--mean", "finite");
  pp.mean = {};
  pp.resize = -1;
  CHECK_ERROR_MENTIONS(validate_preprocess(pp, 1, "src"), "--resize");
  pp.resize = 0;
  pp.center_crop = -3;
  CHECK_ERROR_MENTIONS(validate_preprocess(pp, 1, "src"), "--center-crop");
  CHECK(parse_color_mode("BGR") == Preprocess::ColorMode::BGR);
  CHECK(parse_layout("nhwc") == Preprocess::Layout::NHWC);
  CHECK_ERROR_MENTIONS(parse_color_mode("cmyk"), "--color", "cmyk");
  CHECK_ERROR_MENTIONS(parse_layout("chwn"), "--layout", "chwn");
}

TEST_CASE("resized_hw follows torchvision's Resize(int)") {
  int64_t h = 0, w = 0;
  resized_hw(32, 48, 24, &h, &w);  // short side h: w = int(24 * 48 / 32) = 36
  CHECK((h == 24 && w == 36));
  resized_hw(300, 200, 224, &h, &w);  // short side w: h = int(224 * 300 / 200) = 336
  CHECK((h == 336 && w == 224));
  resized_hw(7, 5, 3, &h, &w);  // h = int(3 * 7 / 5) = int(4.2) = 4
  CHECK((h == 4 && w == 3));
  resized_hw(10, 10, 4, &h, &w);
  CHECK((h == 4 && w == 4));
}

TEST_CASE("antialiased bilinear resize vs hand computation") {
  // Downscale 2x4 -> 1x2 (factor 2 on both axes). PIL coefficients, support = 2, tri((x - c + .5)/2):
  //   columns, out 0: centre 1, taps x=0,1,2 weights .75 .75 .25 -> 3/7 3/7 1/7
  //            out 1: centre 3, taps x=1,2,3 weights .25 .75 .75 -> 1/7 3/7 3/7
  //   rows,    out 0: centre 1, taps y=0,1 weights .75 .75 -> 1/2 1/2
  // row0 [0 10 20 30] -> 50/7, 160/7; row1 [40 50 60 70] -> 330/7, 440/7; mean of rows -> 190/7, 300/7.
  const std::vector<float> in = {0, 10, 20, 30, 40, 50, 60, 70};
  std::vector<float> out(2);
  resize_bilinear_chw_f32(in.data(), 1, 2, 4, out.data(), 1, 2);
  CHECK(std::fabs(out[0] - 190.0f / 7) <= kResizeTol);
  CHECK(std::fabs(out[1] - 300.0f / 7) <= kResizeTol);

  // Upscale 2x2 -> 4x4 (scale 0.5, support 1): output i takes [1], [.75 .25], [.25 .75], [1].
  // [[0 40] [80 120]]: rows [0 10 30 40], [80 90 110 120]; then the same weights down the columns.
  const std::vector<float> in2 = {0, 40, 80, 120};
  std::vector<float> up(16);
  resize_bilinear_chw_f32(in2.data(), 1, 2, 2, up.data(), 4, 4);
  const float expect[16] = {0, 10, 30, 40, 20, 30, 50, 60, 60, 70, 90, 100, 80, 90, 110, 120};
  for (int i = 0; i < 16; ++i) {
    INFO("i = " << i);
    CHECK(std::fabs(up[static_cast<size_t>(i)] - expect[i]) <= kResizeTol);
  }

  // Same size: identity (tri(0) = 1, neighbours tri(+-1) = 0), on two channels.
  std::vector<float> two(2 * 3 * 3);
  for (size_t i = 0; i < two.size(); ++i) two[i] = static_cast<float>(i * i % 17);
  std::vector<float> same(two.size());
  resize_bilinear_chw_f32(two.data(), 2, 3, 3, same.data(), 3, 3);
  CHECK(same == two);
}

TEST_CASE("center crop: torchvision offsets (Python round, half to even) and values") {
  CHECK(center_crop_offset(5, 3) == 1);  // round(1.0)
  CHECK(center_crop_offset(6, 3) == 2);  // round(1.5) = 2
  CHECK(center_crop_offset(8, 3) == 2);  // round(2.5) = 2
  CHECK(center_crop_offset(3, 2) == 0);  // round(0.5) = 0
  CHECK(center_crop_offset(256, 224) == 16);
  std::vector<float> img(5 * 6);
  for (int i = 0; i < 30; ++i) img[static_cast<size_t>(i)] = static_cast<float>(i);  // value y*6 + x
  std::vector<float> out(9);
  center_crop_chw_f32(img.data(), 1, 5, 6, 3, out.data());  // top 1, left 2
  CHECK(out == std::vector<float>{8, 9, 10, 14, 15, 16, 20, 21, 22});
  Preprocess pp;
  pp.resize = 4;
  pp.center_crop = 5;  // 4x6 after resize: crop 5 > 4
  CHECK_ERROR_MENTIONS(preprocessed_shape(3, 8, 12, pp, "image 'x.png'"), "--center-crop", "x.png");
  pp.center_crop = 4;
  CHECK(preprocessed_shape(3, 8, 12, pp, "x") == Shape{3, 4, 4});
}

TEST_CASE("SplitMix64 matches the reference generator") {
  // First outputs of Vigna's splitmix64.c for seed 1234567 (also reproduced with a 10-line
  // Python implementation).
  SplitMix64 r(1234567);
  CHECK(r.next() == 6457827717110365317ULL);
  CHECK(r.next() == 3203168211198807973ULL);
  CHECK(r.next() == 9817491932198370423ULL);
  CHECK(r.next() == 4593380528125082431ULL);
  CHECK(r.next() == 16408922859458223821ULL);
}

TEST_CASE("sample_indices: deterministic, distinct, sorted, portable") {
  // Reference from an independent Python implementation of splitmix64 + rejection-sampled bound +
  // partial Fisher-Yates (sorted result), run once with /usr/bin/python3:
  CHECK(sample_indices(100, 5, 42) == std::vector<int64_t>{2, 9, 13, 83, 86});
  CHECK(sample_indices(10000, 8, 0) == std::vector<int64_t>{1441, 2485, 3385, 5137, 5952, 7535, 8315, 9827});
  CHECK(sample_indices(60000, 6, 2024) == std::vector<int64_t>{909, 21463, 37662, 51629, 53461, 57185});

  const auto a = sample_indices(10000, 1024, 7);
  const auto b = sample_indices(10000, 1024, 7);
  CHECK(a == b);
  REQUIRE(a.size() == 1024);
  const std::set<int64_t> uniq(a.begin(), a.end());
  CHECK(uniq.size() == 1024);
  CHECK(std::is_sorted(a.begin(), a.end()));
  CHECK(a.front() >= 0);
  CHECK(a.back() < 10000);
  CHECK(sample_indices(10000, 1024, 8) != a);
  // Roughly uniform: a random 1024 out of 10000 has about half below 5000 (binomial sd 16).
  const auto below = std::count_if(a.begin(), a.end(), [](int64_t i) { return i < 5000; });
  CHECK(std::abs(static_cast<double>(below) - 512.0) < 6 * 16.0);

  CHECK(sample_indices(5, 5, 1) == std::vector<int64_t>{0, 1, 2, 3, 4});
  CHECK(sample_indices(5, 1024, 1) == std::vector<int64_t>{0, 1, 2, 3, 4});
  CHECK(sample_indices(5, 0, 1).empty());
  CHECK(sample_indices(0, 3, 1).empty());
  const auto all_but_one = sample_indices(50, 49, 3);
  CHECK(std::set<int64_t>(all_but_one.begin(), all_but_one.end()).size() == 49);
}

TEST_CASE("load_batch is the same at any thread count") {
  TempDir tmp;
  const int n = 37, c = 3, h = 9, w = 11;
  std::vector<uint8_t> px(static_cast<size_t>(n * c * h * w));
  for (size_t i = 0; i < px.size(); ++i) px[i] = static_cast<uint8_t>((i * 2654435761u) >> 24);
  write_bytes(tmp.file("x.npy"), npy_bytes("|u1", {n, h, w, c}, px));
  Preprocess pp;
  pp.npy_layout = Preprocess::Layout::NHWC;
  pp.mean = {0.4f, 0.5f, 0.6f};
  pp.std = {0.2f, 0.3f, 0.25f};
  pp.resize = 5;
  pp.center_crop = 4;
  auto ds = open_dataset(tmp.file("x.npy"), pp);
  CHECK(ds->sample_shape() == Shape{3, 4, 4});
  const auto idx = sample_indices(n, 20, 11);
  const int saved = num_threads();
  set_num_threads(1);
  const TensorF32 one = load_batch(*ds, idx);
  set_num_threads(2);
  const TensorF32 two = load_batch(*ds, idx);
  set_num_threads(saved);
  REQUIRE(one.size() == two.size());
  CHECK(std::memcmp(one.data(), two.data(), sizeof(float) * static_cast<size_t>(one.size())) == 0);
  // And each sample equals a single load of it.
  std::vector<float> single(static_cast<size_t>(ds->sample_numel()));
  ds->load(idx[3], single.data());
  CHECK(std::memcmp(single.data(), one.data() + 3 * ds->sample_numel(), sizeof(float) * single.size()) == 0);
}
