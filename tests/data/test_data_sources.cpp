// Tests of the data sources: the real Fashion-MNIST test set (IDX .gz), IDX / .npy / image
// folders / labels written by the test from the format specifications, and every malformed input
// the issue lists (each must be an mqcalib::Error naming the file).
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>

#include "data/dataset.h"
#include "data_test_util.h"

using namespace mqcalib;
using namespace data_test;

namespace {

const std::string kFashionDir = "/usr/share/datasets/fashion-mnist/";
constexpr float kTol = 1e-6f;           // float32 arithmetic on values of order 1
constexpr float kJpegTol = 4.0f / 255;  // JPEG is lossy even at quality 100 (chroma rounding)

}  // namespace

// ---------------------------------------------------------------- Fashion-MNIST (real data) ----

TEST_CASE("Fashion-MNIST t10k images and labels, read from the shipped .gz files") {
  Preprocess raw_pp;
  raw_pp.scale_to_unit = false;  // raw byte values, exact in float
  auto ds = open_dataset(kFashionDir + "t10k-images-idx3-ubyte.gz", raw_pp);
  CHECK(ds->size() == 10000);
  CHECK(ds->sample_shape() == Shape{1, 28, 28});
  const std::vector<int64_t> picks = {0, 1, 1234, 9999};
  const TensorF32 b = load_batch(*ds, picks);
  REQUIRE(b.shape() == Shape{4, 1, 28, 28});

  // Reference values obtained once with /usr/bin/python3 (gzip + struct, no numpy):
  //   d = gzip.open('t10k-images-idx3-ubyte.gz').read(); px(i, y, x) = d[16 + i*784 + y*28 + x]
  //   header (2051, 10000, 28, 28); sum(image 0) = 33456, sum(image 1) = 100994, sum(image 9999) = 24390
  struct Px {
    int batch_pos, y, x;
    float value;
  };
  const Px pxs[] = {{0, 14, 14, 110}, {0, 20, 10, 126}, {0, 7, 25, 37}, {0, 7, 19, 3},
                    {2, 5, 20, 129},  {3, 14, 14, 132}, {3, 27, 27, 0}, {1, 10, 10, 0}};
  for (const Px& p : pxs) {
    INFO("batch pos " << p.batch_pos << " y " << p.y << " x " << p.x);
    CHECK(b[p.batch_pos * 784 + p.y * 28 + p.x] == p.value);
  }
  const double kSums[4] = {33456, 100994, -1, 24390};
  for (int i : {0, 1, 3}) {
    double s = 0;
    for (int k = 0; k < 784; ++k) s += b[i * 784 + k];
    CHECK(s == kSums[i]);
  }

  // Default preprocessing: x / 255 in float32, as torchvision's ToTensor.
  auto unit = open_dataset(kFashionDir + "t10k-images-idx3-ubyte.gz", Preprocess{});
  const TensorF32 u = load_batch(*unit, {0});
  CHECK(u[14 * 28 + 14] == 110.0f / 255.0f);
  CHECK(u[7 * 28 + 25] == 37.0f / 255.0f);

  // Labels (python3: l = gzip.open('t10k-labels-idx1-ubyte.gz').read(); header (2049, 10000);
  // list(l[8:18]) = [9, 2, 1, 1, 6, 1, 4, 6, 5, 7]; l[-1] = 5).
  const std::vector<int64_t> labels = load_labels(kFashionDir + "t10k-labels-idx1-ubyte.gz");
  REQUIRE(labels.size() == 10000);
  const std::vector<int64_t> first10(labels.begin(), labels.begin() + 10);
  CHECK(first10 == std::vector<int64_t>{9, 2, 1, 1, 6, 1, 4, 6, 5, 7});
  CHECK(labels.back() == 5);
  CHECK_NOTHROW(check_labels(*ds, labels, "t10k-labels"));
  CHECK_NOTHROW(check_sample_shape(*ds, Shape{1, 28, 28}));
  CHECK_ERROR_MENTIONS(check_sample_shape(*ds, Shape{3, 32, 32}), "t10k-images-idx3-ubyte.gz", "[1, 28, 28]");
  CHECK_ERROR_MENTIONS(check_labels(*ds, std::vector<int64_t>(9999, 0), "short.txt"), "short.txt", "9999", "10000");
}

// ------------------------------------------------------------------------------------- IDX ----

TEST_CASE("IDX images, plain and gzip, identical content") {
  TempDir tmp;
  std::vector<uint8_t> payload;
  for (int i = 0; i < 3 * 2 * 3; ++i) payload.push_back(static_cast<uint8_t>(i * 14));
  const auto bytes = idx_bytes(0x08, {3, 2, 3}, payload);
  write_bytes(tmp.file("imgs-idx3-ubyte"), bytes);
  write_gz(tmp.file("imgs-idx3-ubyte.gz"), bytes);
  write_bytes(tmp.file("noname.bin"), bytes);  // recognised by its magic number
  for (const std::string name : {"imgs-idx3-ubyte", "imgs-idx3-ubyte.gz", "noname.bin"}) {
    INFO(name);
    Preprocess pp;
    pp.scale_to_unit = false;
    auto ds = open_dataset(tmp.file(name), pp);
    CHECK(ds->size() == 3);
    CHECK(ds->sample_shape() == Shape{1, 2, 3});
    const TensorF32 b = load_batch(*ds, {2, 0});
    for (int k = 0; k < 6; ++k) {
      CHECK(b[k] == static_cast<float>((12 + k) * 14));
      CHECK(b[6 + k] == static_cast<float>(k * 14));
    }
  }
}

TEST_CASE("malformed IDX files are errors naming the file and the problem") {
  TempDir tmp;
  // Header says 3 images of 2x2 (12 bytes) but only 10 follow.
  write_bytes(tmp.file("trunc-idx3-ubyte"), idx_bytes(0x08, {3, 2, 2}, std::vector<uint8_t>(10, 1)));
  CHECK_ERROR_MENTIONS(open_dataset(tmp.file("trunc-idx3-ubyte"), Preprocess{}), "trunc-idx3-ubyte", "truncated");
  // Header cut inside the dimensions.
  write_bytes(tmp.file("hdr-idx3-ubyte"), {0, 0, 8, 3, 0, 0});
  CHECK_ERROR_MENTIONS(open_dataset(tmp.file("hdr-idx3-ubyte"), Preprocess{}), "hdr-idx3-ubyte", "truncated");
  // A gzip stream cut in half (the real file's first half; the header is intact, the payload cut).
  auto gz = read_bytes(kFashionDir + "t10k-images-idx3-ubyte.gz");
  gz.resize(gz.size() / 2);
  write_bytes(tmp.file("cut-idx3-ubyte.gz"), gz);
  CHECK_ERROR_MENTIONS(open_dataset(tmp.file("cut-idx3-ubyte.gz"), Preprocess{}), "cut-idx3-ubyte.gz", "gzip");
  // Wrong magic: not IDX at all.
  write_text(tmp.file("gif-idx3-ubyte"), "GIF89a and some more bytes");
  CHECK_ERROR_MENTIONS(open_dataset(tmp.file("gif-idx3-ubyte"), Preprocess{}), "gif-idx3-ubyte", "wrong magic");
  // Wrong magic: a labels file (0x00000801) given as images.
  write_bytes(tmp.file("lab-idx1-ubyte"), idx_bytes(0x08, {4}, {1, 2, 3, 4}));
  CHECK_ERROR_MENTIONS(open_dataset(tmp.file("lab-idx1-ubyte"), Preprocess{}), "lab-idx1-ubyte", "wrong magic",
                       "0x00000801", "labels");
  // Wrong dtype byte: 0x0D = float32.
  write_bytes(tmp.file("f32-idx3-ubyte"), idx_bytes(0x0D, {1, 2, 2}, std::vector<uint8_t>(16, 0)));
  CHECK_ERROR_MENTIONS(open_dataset(tmp.file("f32-idx3-ubyte"), Preprocess{}), "f32-idx3-ubyte", "dtype", "0x0D");
  // Missing file.
  CHECK_ERROR_MENTIONS(open_dataset(tmp.file("missing.gz"), Preprocess{}), "missing.gz", "does not exist");
  // Unknown format.
  write_text(tmp.file("data.csv"), "1,2,3\n");
  CHECK_ERROR_MENTIONS(open_dataset(tmp.file("data.csv"), Preprocess{}), "data.csv", "unrecognised format");
}

// ------------------------------------------------------------------------------------- NPY ----

namespace {
// The reference sample values: element (n, c, y, x) of a [2, 3, 2, 4] array.
int ref_u8(int n, int c, int y, int x) { return n * 100 + c * 10 + y * 4 + x; }
float ref_f32(int n, int c, int y, int x) { return 0.001f * static_cast<float>(ref_u8(n, c, y, x)) - 0.05f; }
constexpr int kN = 2, kC = 3, kH = 2, kW = 4;
}  // namespace

TEST_CASE(".npy round trip: float32 and uint8, NCHW and NHWC, format 1.0 and 2.0") {
  TempDir tmp;
  std::vector<float> f_nchw, f_nhwc;
  std::vector<uint8_t> u_nchw, u_nhwc;
  for (int n = 0; n < kN; ++n)
    for (int c = 0; c < kC; ++c)
      for (int y = 0; y < kH; ++y)
        for (int x = 0; x < kW; ++x) {
          f_nchw.push_back(ref_f32(n, c, y, x));
          u_nchw.push_back(static_cast<uint8_t>(ref_u8(n, c, y, x)));
        }
  for (int n = 0; n < kN; ++n)
    for (int y = 0; y < kH; ++y)
      for (int x = 0; x < kW; ++x)
        for (int c = 0; c < kC; ++c) {
          f_nhwc.push_back(ref_f32(n, c, y, x));
          u_nhwc.push_back(static_cast<uint8_t>(ref_u8(n, c, y, x)));
        }
  write_bytes(tmp.file("f_nchw.npy"), npy_bytes("<f4", {kN, kC, kH, kW}, f32_payload(f_nchw)));
  write_bytes(tmp.file("f_nhwc.npy"), npy_bytes("<f4", {kN, kH, kW, kC}, f32_payload(f_nhwc), false, 2));
  write_bytes(tmp.file("u_nchw.npy"), npy_bytes("|u1", {kN, kC, kH, kW}, u_nchw, false, 2));
  write_bytes(tmp.file("u_nhwc.npy"), npy_bytes("|u1", {kN, kH, kW, kC}, u_nhwc));

  struct Case {
    const char* file;
    Preprocess::Layout layout;
    bool u8;
  };
  for (const Case& cs :
       {Case{"f_nchw.npy", Preprocess::Layout::NCHW, false}, Case{"f_nhwc.npy", Preprocess::Layout::NHWC, false},
        Case{"u_nchw.npy", Preprocess::Layout::NCHW, true}, Case{"u_nhwc.npy", Preprocess::Layout::NHWC, true}}) {
    INFO(cs.file);
    Preprocess pp;
    pp.npy_layout = cs.layout;
    auto ds = open_dataset(tmp.file(cs.file), pp);
    CHECK(ds->size() == kN);
    CHECK(ds->sample_shape() == Shape{kC, kH, kW});
    const TensorF32 b = load_batch(*ds, {1, 0});
    for (int n = 0; n < kN; ++n)
      for (int c = 0; c < kC; ++c)
        for (int y = 0; y < kH; ++y)
          for (int x = 0; x < kW; ++x) {
            const int src_n = n == 0 ? 1 : 0;  // batch order {1, 0}
            // float32 is taken as is; uint8 is scaled by 1/255 (scale_to_unit default).
            const float expect = cs.u8 ? static_cast<float>(ref_u8(src_n, c, y, x)) / 255.0f : ref_f32(src_n, c, y, x);
            CHECK(b[((n * kC + c) * kH + y) * kW + x] == expect);
          }
  }

  // Per-channel normalization on the uint8 file: value 51 = 0.2 after /255.
  // mean {0.5, 0.25, 0}, std {0.5, 0.25, 2}: (0.2-0.5)/0.5 = -0.6, (0.2-0.25)/0.25 = -0.2, 0.2/2 = 0.1.
  std::vector<uint8_t> u51(1 * 3 * 1 * 1, 51);
  write_bytes(tmp.file("u51.npy"), npy_bytes("|u1", {1, 3, 1, 1}, u51));
  Preprocess pp;
  pp.mean = {0.5f, 0.25f, 0.0f};
  pp.std = {0.5f, 0.25f, 2.0f};
  const TensorF32 nb = load_batch(*open_dataset(tmp.file("u51.npy"), pp), {0});
  CHECK(std::fabs(nb[0] - (-0.6f)) <= kTol);
  CHECK(std::fabs(nb[1] - (-0.2f)) <= kTol);
  CHECK(std::fabs(nb[2] - 0.1f) <= kTol);
  // Wrong count of --mean values for 3 channels.
  pp.mean = {0.5f, 0.5f};
  CHECK_ERROR_MENTIONS(open_dataset(tmp.file("u51.npy"), pp), "--mean", "u51.npy", "3 channels");

  // 3-D [N, H, W]: one channel, whatever the layout option says.
  std::vector<uint8_t> hw = {0, 255, 51, 102, 204, 153};
  write_bytes(tmp.file("hw.npy"), npy_bytes("|u1", {2, 1, 3}, hw));
  Preprocess nhwc;
  nhwc.npy_layout = Preprocess::Layout::NHWC;
  auto d3 = open_dataset(tmp.file("hw.npy"), nhwc);
  CHECK(d3->sample_shape() == Shape{1, 1, 3});
  const TensorF32 b3 = load_batch(*d3, {0, 1});
  for (int i = 0; i < 6; ++i) CHECK(b3[i] == static_cast<float>(hw[static_cast<size_t>(i)]) / 255.0f);
}

TEST_CASE("malformed .npy files are errors naming the file") {
  TempDir tmp;
  const std::vector<float> v(2 * 1 * 2 * 2, 0.5f);
  write_bytes(tmp.file("fortran.npy"), npy_bytes("<f4", {2, 1, 2, 2}, f32_payload(v), /*fortran=*/true));
  CHECK_ERROR_MENTIONS(open_dataset(tmp.file("fortran.npy"), Preprocess{}), "fortran.npy", "fortran_order");
  write_bytes(tmp.file("f8.npy"), npy_bytes("<f8", {2, 1, 2, 2}, std::vector<uint8_t>(64, 0)));
  CHECK_ERROR_MENTIONS(open_dataset(tmp.file("f8.npy"), Preprocess{}), "f8.npy", "'<f8'");
  auto trunc = npy_bytes("<f4", {2, 1, 2, 2}, f32_payload(v));
  trunc.resize(trunc.size() - 5);
  write_bytes(tmp.file("trunc.npy"), trunc);
  CHECK_ERROR_MENTIONS(open_dataset(tmp.file("trunc.npy"), Preprocess{}), "trunc.npy", "truncated");
  write_bytes(tmp.file("rank2.npy"), npy_bytes("<f4", {2, 4}, f32_payload(std::vector<float>(8, 0.f))));
  CHECK_ERROR_MENTIONS(open_dataset(tmp.file("rank2.npy"), Preprocess{}), "rank2.npy", "2 dimensions");
  write_text(tmp.file("text.npy"), "this is not numpy data at all");
  CHECK_ERROR_MENTIONS(open_dataset(tmp.file("text.npy"), Preprocess{}), "text.npy", "magic");
  // Shape mismatch with the model: [1, 2, 2] samples, model wants [1, 28, 28].
  write_bytes(tmp.file("ok.npy"), npy_bytes("<f4", {2, 1, 2, 2}, f32_payload(v)));
  auto ds = open_dataset(tmp.file("ok.npy"), Preprocess{});
  CHECK_ERROR_MENTIONS(check_sample_shape(*ds, Shape{1, 28, 28}), "ok.npy", "[1, 2, 2]", "[1, 28, 28]");
  CHECK_NOTHROW(check_sample_shape(*ds, Shape{1, -1, -1}));
  CHECK_ERROR_MENTIONS(load_batch(*ds, {0, 2}), "ok.npy", "index 2");
}

// ---------------------------------------------------------------------------- image folder ----

namespace {
// Image k of the folder test, 2 rows x 4 columns, RGB: r = 10x + y + k, g = 100 + x, b = 200 + y + 10k.
std::vector<uint8_t> rgb_image(int k) {
  std::vector<uint8_t> px;
  for (int y = 0; y < 2; ++y)
    for (int x = 0; x < 4; ++x) {
      px.push_back(static_cast<uint8_t>(10 * x + y + k));
      px.push_back(static_cast<uint8_t>(100 + x));
      px.push_back(static_cast<uint8_t>(200 + y + 10 * k));
    }
  return px;
}
}  // namespace

TEST_CASE("image folder: sorted PNGs, non-images ignored, RGB / BGR / grayscale") {
  TempDir tmp;
  write_png(tmp.file("b.png"), 4, 2, 3, rgb_image(1));
  write_png(tmp.file("a.png"), 4, 2, 3, rgb_image(0));
  write_png(tmp.file("c.PNG"), 4, 2, 1, {0, 10, 20, 30, 40, 50, 60, 70});  // gray
  write_text(tmp.file("notes.txt"), "not an image");
  std::filesystem::create_directory(tmp.file("sub.png"));  // a directory named like an image: ignored

  Preprocess pp;
  pp.scale_to_unit = false;
  pp.color = Preprocess::ColorMode::RGB;
  auto rgb = open_dataset(tmp.path, pp);
  REQUIRE(rgb->size() == 3);
  CHECK(rgb->sample_shape() == Shape{3, 2, 4});
  const TensorF32 b = load_batch(*rgb, {0, 1, 2});
  for (int k = 0; k < 2; ++k)  // a.png = image 0, b.png = image 1
    for (int y = 0; y < 2; ++y)
      for (int x = 0; x < 4; ++x) {
        const int64_t base = k * 24 + y * 4 + x;
        CHECK(b[base] == static_cast<float>(10 * x + y + k));
        CHECK(b[base + 8] == static_cast<float>(100 + x));
        CHECK(b[base + 16] == static_cast<float>(200 + y + 10 * k));
      }
  for (int i = 0; i < 8; ++i)  // gray c.PNG replicated into R, G, B
    for (int c = 0; c < 3; ++c) CHECK(b[48 + c * 8 + i] == static_cast<float>(10 * i));

  pp.color = Preprocess::ColorMode::BGR;
  const TensorF32 bgr = load_batch(*open_dataset(tmp.path, pp), {1});
  CHECK(bgr[0] == 210.0f);          // B of b.png at (0, 0)
  CHECK(bgr[8 + 3] == 103.0f);      // G at (0, 3)
  CHECK(bgr[16 + 4 + 2] == 22.0f);  // R at (1, 2): 10*2 + 1 + 1

  pp.color = Preprocess::ColorMode::Grayscale;
  pp.scale_to_unit = true;
  auto gray = open_dataset(tmp.path, pp);
  CHECK(gray->sample_shape() == Shape{1, 2, 4});
  const TensorF32 g = load_batch(*gray, {0, 2});
  // a.png (0, 0): r 0, g 100, b 200 -> 0.299*0 + 0.587*100 + 0.114*200 = 81.5
  CHECK(std::fabs(g[0] - 81.5f / 255.0f) <= kTol);
  // a.png (1, 3): r 31, g 103, b 201 -> 9.269 + 60.461 + 22.914 = 92.644
  CHECK(std::fabs(g[7] - 92.644f / 255.0f) <= kTol);
  CHECK(g[8 + 5] == 50.0f / 255.0f);  // gray image kept as stored
}

TEST_CASE("image folder: resize and center crop through the pipeline; JPEG decodes") {
  TempDir tmp;
  // 2x4 gray image, rows [0 10 20 30] [40 50 60 70]; resize shorter side (2) to 1 -> 1x2.
  // Hand computation (PIL antialiased bilinear, see test_data_preprocess.cpp): {190/7, 300/7}.
  write_png(tmp.file("img.png"), 4, 2, 1, {0, 10, 20, 30, 40, 50, 60, 70});
  Preprocess pp;
  pp.color = Preprocess::ColorMode::Grayscale;
  pp.scale_to_unit = false;
  pp.resize = 1;
  auto ds = open_dataset(tmp.path, pp);
  CHECK(ds->sample_shape() == Shape{1, 1, 2});
  const TensorF32 r = load_batch(*ds, {0});
  CHECK(std::fabs(r[0] - 190.0f / 7) <= 1e-4f);
  CHECK(std::fabs(r[1] - 300.0f / 7) <= 1e-4f);
  // Center crop 2 of the 2x4 image: left = round((4 - 2) / 2) = 1 -> columns 1, 2.
  pp.resize = 0;
  pp.center_crop = 2;
  const TensorF32 c = load_batch(*open_dataset(tmp.path, pp), {0});
  CHECK(c.to_vector() == std::vector<float>{10, 20, 50, 60});
  pp.center_crop = 3;  // larger than the 2-pixel height
  CHECK_ERROR_MENTIONS(open_dataset(tmp.path, pp), "--center-crop", "img.png");

  TempDir jdir;
  std::vector<uint8_t> px(8 * 8 * 3);
  for (size_t i = 0; i < px.size(); i += 3) px[i] = 200, px[i + 1] = 100, px[i + 2] = 50;
  REQUIRE(stbi_write_jpg(jdir.file("photo.jpg").c_str(), 8, 8, 3, px.data(), 100));
  Preprocess jp;
  auto jds = open_dataset(jdir.path, jp);
  CHECK(jds->sample_shape() == Shape{3, 8, 8});
  const TensorF32 j = load_batch(*jds, {0});
  CHECK(std::fabs(j[0] - 200.0f / 255) <= kJpegTol);
  CHECK(std::fabs(j[64 + 9] - 100.0f / 255) <= kJpegTol);
  CHECK(std::fabs(j[128 + 63] - 50.0f / 255) <= kJpegTol);
}

TEST_CASE("image folder errors: empty folder, undecodable image, mixed sizes") {
  TempDir empty;
  CHECK_ERROR_MENTIONS(open_dataset(empty.path, Preprocess{}), empty.path, "empty");
  write_text(empty.file("readme.txt"), "only text here");
  CHECK_ERROR_MENTIONS(open_dataset(empty.path, Preprocess{}), empty.path, "empty");

  TempDir bad;
  write_png(bad.file("a.png"), 2, 2, 3, std::vector<uint8_t>(12, 7));
  write_text(bad.file("broken.png"), "this is not a PNG");
  CHECK_ERROR_MENTIONS(open_dataset(bad.path, Preprocess{}), "broken.png", "cannot decode");

  TempDir mixed;
  write_png(mixed.file("a.png"), 4, 4, 3, std::vector<uint8_t>(48, 1));
  write_png(mixed.file("b.png"), 6, 4, 3, std::vector<uint8_t>(72, 1));
  CHECK_ERROR_MENTIONS(open_dataset(mixed.path, Preprocess{}), "b.png", "--resize");
  Preprocess fix;
  fix.resize = 4;
  fix.center_crop = 4;  // 4x4 and 4x6 -> both [3, 4, 4]
  auto ds = open_dataset(mixed.path, fix);
  CHECK(ds->sample_shape() == Shape{3, 4, 4});
  const TensorF32 b = load_batch(*ds, {0, 1});
  for (float v : b.vec()) CHECK(std::fabs(v - 1.0f / 255) <= kTol);  // a constant image stays constant
}

// ---------------------------------------------------------------------------------- labels ----

TEST_CASE("labels: text, .npy (int64 / int32 / uint8), IDX plain and gzip") {
  TempDir tmp;
  write_text(tmp.file("labels.txt"), "3\n1\n 4 \r\n12\n\n\n");
  CHECK(load_labels(tmp.file("labels.txt")) == std::vector<int64_t>{3, 1, 4, 12});

  std::vector<uint8_t> i64, i32;
  for (int64_t v : {7, 0, 300}) {
    for (int k = 0; k < 8; ++k) i64.push_back(static_cast<uint8_t>(v >> (8 * k)));
    for (int k = 0; k < 4; ++k) i32.push_back(static_cast<uint8_t>(v >> (8 * k)));
  }
  write_bytes(tmp.file("l64.npy"), npy_bytes("<i8", {3}, i64));
  write_bytes(tmp.file("l32.npy"), npy_bytes("<i4", {3, 1}, i32));
  write_bytes(tmp.file("lu8.npy"), npy_bytes("|u1", {3}, {7, 0, 255}));
  CHECK(load_labels(tmp.file("l64.npy")) == std::vector<int64_t>{7, 0, 300});
  CHECK(load_labels(tmp.file("l32.npy")) == std::vector<int64_t>{7, 0, 300});
  CHECK(load_labels(tmp.file("lu8.npy")) == std::vector<int64_t>{7, 0, 255});

  const auto idx = idx_bytes(0x08, {4}, {9, 2, 1, 1});
  write_bytes(tmp.file("l-idx1-ubyte"), idx);
  write_gz(tmp.file("l-idx1-ubyte.gz"), idx);
  CHECK(load_labels(tmp.file("l-idx1-ubyte")) == std::vector<int64_t>{9, 2, 1, 1});
  CHECK(load_labels(tmp.file("l-idx1-ubyte.gz")) == std::vector<int64_t>{9, 2, 1, 1});
}

TEST_CASE("malformed labels are errors naming the file (and line)") {
  TempDir tmp;
  write_text(tmp.file("bad.txt"), "1\n2\ncat\n4\n");
  CHECK_ERROR_MENTIONS(load_labels(tmp.file("bad.txt")), "bad.txt", "line 3", "'cat'");
  write_text(tmp.file("neg.txt"), "1\n-2\n");
  CHECK_ERROR_MENTIONS(load_labels(tmp.file("neg.txt")), "neg.txt", "line 2", "negative");
  write_text(tmp.file("float.txt"), "1\n2.5\n");
  CHECK_ERROR_MENTIONS(load_labels(tmp.file("float.txt")), "float.txt", "line 2");
  write_text(tmp.file("gap.txt"), "1\n\n2\n");
  CHECK_ERROR_MENTIONS(load_labels(tmp.file("gap.txt")), "gap.txt", "line 2", "empty line");
  write_text(tmp.file("nothing.txt"), "\n\n");
  CHECK_ERROR_MENTIONS(load_labels(tmp.file("nothing.txt")), "nothing.txt", "no labels");
  write_bytes(tmp.file("f.npy"), npy_bytes("<f4", {2}, f32_payload({1.f, 2.f})));
  CHECK_ERROR_MENTIONS(load_labels(tmp.file("f.npy")), "f.npy", "'<f4'");
  write_bytes(tmp.file("img-idx3-ubyte"), idx_bytes(0x08, {1, 2, 2}, {1, 2, 3, 4}));
  CHECK_ERROR_MENTIONS(load_labels(tmp.file("img-idx3-ubyte")), "img-idx3-ubyte", "wrong magic", "images");
  write_bytes(tmp.file("short-idx1-ubyte"), idx_bytes(0x08, {5}, {1, 2}));
  CHECK_ERROR_MENTIONS(load_labels(tmp.file("short-idx1-ubyte")), "short-idx1-ubyte", "truncated");
  CHECK_ERROR_MENTIONS(load_labels(tmp.file("none.txt")), "none.txt", "does not exist");
}
