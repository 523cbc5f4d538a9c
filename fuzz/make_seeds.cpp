// mqcalib/fuzz/make_seeds.cpp: writes the seed corpora of the fuzz targets from the test data
// (Fashion-MNIST's first images and labels, the export tests' records, small synthetic files built
// with the tests' independent writers). Run by the fuzz build: make_seeds OUTDIR FASHION_MNIST_DIR.
#include <zlib.h>

#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "data/data_test_util.h"
#include "export/export_records.h"
#include "export/params_json.h"

namespace fs = std::filesystem;
using namespace data_test;

namespace {

// The first `n` records of a gzip IDX file, with the count in its header set to n.
std::vector<uint8_t> idx_prefix(const std::string& gz, size_t header, size_t record, uint32_t n) {
  gzFile f = gzopen(gz.c_str(), "rb");
  if (!f) throw std::runtime_error("cannot open " + gz);
  std::vector<uint8_t> b(header + record * n);
  const int got = gzread(f, b.data(), static_cast<unsigned>(b.size()));
  gzclose(f);
  if (got != static_cast<int>(b.size())) throw std::runtime_error("short read " + gz);
  b[4] = static_cast<uint8_t>(n >> 24), b[5] = static_cast<uint8_t>(n >> 16);
  b[6] = static_cast<uint8_t>(n >> 8), b[7] = static_cast<uint8_t>(n);
  return b;
}

void seed(const std::string& dir, const std::string& name, const std::vector<uint8_t>& b) {
  fs::create_directories(dir);
  write_bytes(dir + "/" + name, b);
}

void seed_text(const std::string& dir, const std::string& name, const std::string& s) {
  seed(dir, name, std::vector<uint8_t>(s.begin(), s.end()));
}

std::vector<uint8_t> gz_bytes(const std::string& tmp, const std::vector<uint8_t>& b) {
  write_gz(tmp, b);
  std::vector<uint8_t> out = read_bytes(tmp);
  fs::remove(tmp);
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: make_seeds OUTDIR FASHION_MNIST_DIR\n");
    return 2;
  }
  const std::string out = argv[1], fm = std::string(argv[2]) + "/";
  const auto images = idx_prefix(fm + "t10k-images-idx3-ubyte.gz", 16, 784, 2);
  const auto labels = idx_prefix(fm + "t10k-labels-idx1-ubyte.gz", 8, 1, 20);
  const std::vector<uint8_t> small = idx_bytes(0x08, {2, 2, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12});
  seed(out + "/idx", "fashion2", images);
  seed(out + "/idx", "labels20", labels);
  seed(out + "/idx", "small", small);
  seed(out + "/idx_gz", "fashion2.gz", gz_bytes(out + "/t.gz", images));
  seed(out + "/idx_gz", "labels20.gz", gz_bytes(out + "/t.gz", labels));
  seed(out + "/idx_gz", "small_plain", small);  // compressed by the target

  const std::vector<float> f = {0.f, 0.25f, 0.5f, 1.f, -1.f, 2.f, 3.f, 4.f, 5.f, 6.f, 7.f, 8.f};
  seed(out + "/npy", "f32_nchw_v1.npy", npy_bytes("<f4", {1, 3, 2, 2}, f32_payload(f)));
  seed(out + "/npy", "u8_nhw_v2.npy", npy_bytes("|u1", {3, 2, 2}, std::vector<uint8_t>(12, 9), false, 2));
  seed(out + "/npy", "labels_i8.npy",
       npy_bytes("<i8", {2}, std::vector<uint8_t>{3, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0}));
  seed(out + "/npy", "labels_u1.npy", npy_bytes("|u1", {4, 1}, {1, 2, 3, 4}));

  fs::create_directories(out + "/image");
  std::vector<uint8_t> px;
  for (int i = 0; i < 4 * 3 * 3; ++i) px.push_back(static_cast<uint8_t>(i * 7));
  write_png(out + "/image/rgb.png", 4, 3, 3, px);
  write_png(out + "/image/gray.png", 4, 3, 1, std::vector<uint8_t>(px.begin(), px.begin() + 12));
  write_png(out + "/image/fashion0.png", 28, 28, 1, std::vector<uint8_t>(images.begin() + 16, images.begin() + 800));
  if (!stbi_write_jpg((out + "/image/rgb.jpg").c_str(), 4, 3, 3, px.data(), 90))
    throw std::runtime_error("stbi_write_jpg");

  seed(out + "/labels", "idx20", labels);
  seed_text(out + "/labels", "text", "3\n1\n 4 \r\n12\n\n");
  seed(out + "/labels", "text.gz", gz_bytes(out + "/t.gz", std::vector<uint8_t>{'7', '\n', '2', '\n'}));

  using namespace mqcalib::export_test;
  mqcalib::QuantRecord rec = tensorrt_record();
  rec.weight_codes["conv1.weight"].file = "weights/ok.npy";
  seed_text(out + "/params_json", "tensorrt_codes.json", mqcalib::params_json_text(rec));
  rec.weight_codes["conv1.weight"].file = "weights/out.npy";
  seed_text(out + "/params_json", "symlink_out.json", mqcalib::params_json_text(rec));
  seed_text(out + "/params_json", "snpe.json", mqcalib::params_json_text(snpe_record()));
  seed_text(out + "/params_json", "ncnn.json", mqcalib::params_json_text(ncnn_record()));

  std::vector<uint8_t> codes;
  for (int32_t v : {1, -2, 3, -4, 5, -6})
    for (int k = 0; k < 4; ++k) codes.push_back(static_cast<uint8_t>(static_cast<uint32_t>(v) >> (8 * k)));
  seed(out + "/weight_codes", "ok.npy", npy_bytes("<i4", {2, 3}, codes));
  seed(out + "/weight_codes", "other_shape.npy", npy_bytes("<i4", {6}, codes));

  seed_text(out + "/config", "quick.cfg",
            "# a quick run\nmodel = m.pt\nmethod = adaround\niters = 2000\nlambda = 0.01\n"
            "layer-bits = fc=8\nlayer-bits = conv1=4\nskip = fc\nfirst-last-8bit = true\n");
  seed_text(out + "/config", "numbers.cfg",
            "model=x\nthreads = 2\ncalib-size=256\nseed=18446744073709551615\npercentile=99.9\n");
  return 0;
}
