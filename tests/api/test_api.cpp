// The public API end to end on the bundled ResNet-20 with a small calibration set: files written,
// params.json reproduces the simulation exactly, results independent of the thread count, and bad
// inputs rejected with messages naming them.
#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "api_test_files.h"
#include "mqcalib/mqcalib.h"

namespace fs = std::filesystem;

namespace {

using mqcalib::testing::slurp;
std::string root() { return mqcalib::testing::source_root(); }
std::string scratch(const std::string& name) { return mqcalib::testing::scratch_path(name); }
const std::string& kData = mqcalib::testing::kFashionMnist;

mqcalib::QuantizeOptions small(const std::string& backend) {
  mqcalib::QuantizeOptions o;
  o.model = root() + "/examples/zoo/resnet20.pt";
  o.calib.path = kData + "train-images-idx3-ubyte.gz";
  o.calib.mean = {0.2860f};
  o.calib.std = {0.3530f};
  o.calib_size = 128;
  o.backend = backend;
  mqcalib::DataOptions ev = o.calib;
  ev.path = kData + "t10k-images-idx3-ubyte.gz";
  ev.labels = kData + "t10k-labels-idx1-ubyte.gz";
  o.eval = ev;
  o.eval_limit = 512;
  return o;
}

}  // namespace

TEST_CASE("api: quantize writes the backend's files and params.json reproduces the simulation exactly") {
  mqcalib::QuantizeOptions o = small("tensorrt");
  o.out_dir = scratch("trt");
  const mqcalib::QuantizeResult r = mqcalib::quantize(o);
  for (const char* f : {"params.json", "report.json", "calib.cache", "clip_ranges.json"})
    CHECK_MESSAGE(fs::is_regular_file(o.out_dir + "/" + f), f);
  REQUIRE(r.eval);
  CHECK(r.eval->samples == 512);
  CHECK(r.eval->fp_top1 > 85.0);  // the bundled model is trained (93.2% on all 10k)
  CHECK(r.layers.size() == 22);   // ResNet-20: 19 convs + 2 downsample convs + fc
  for (const fs::directory_entry& f : fs::directory_iterator(o.out_dir))
    CHECK_MESSAGE(f.path().string().find(".tmp") == std::string::npos, f.path().string());

  mqcalib::EvalOptions e;
  e.model = o.model;
  e.params = o.out_dir + "/params.json";
  e.eval = *o.eval;
  e.eval_limit = 512;
  const mqcalib::EvalSummary s = mqcalib::evaluate(e);
  CHECK(s.samples == r.eval->samples);
  CHECK(s.fp_top1 == r.eval->fp_top1);
  CHECK(s.q_top1 == r.eval->q_top1);
  CHECK(s.agreement == r.eval->agreement);
}

TEST_CASE("api: params.json is byte-identical at 1 and 2 threads") {
  mqcalib::QuantizeOptions o = small("snpe");
  o.eval.reset();
  o.a_observer = "kl";
  o.threads = 1;
  o.out_dir = scratch("t1");
  mqcalib::quantize(o);
  o.threads = 2;
  o.out_dir = scratch("t2");
  mqcalib::quantize(o);
  CHECK(slurp(fs::path(o.out_dir).parent_path().string() + "/t1/params.json") == slurp(o.out_dir + "/params.json"));
  CHECK(fs::is_regular_file(o.out_dir + "/encodings.json"));
}

TEST_CASE("api: bad inputs are errors naming the input, and leave no output") {
  mqcalib::QuantizeOptions o = small("tensorrt");
  o.eval.reset();
  o.out_dir = scratch("bad");
  o.model = root() + "/no/such/model.pt";
  CHECK_THROWS_WITH(mqcalib::quantize(o), doctest::Contains("no/such/model.pt"));
  o = small("tensorrt");
  o.eval.reset();
  o.out_dir = scratch("bad");
  o.backend = "tensorrtx";
  CHECK_THROWS_WITH(mqcalib::quantize(o), doctest::Contains("tensorrtx"));
  o.backend = "tensorrt";
  o.a_observer = "kll";
  CHECK_THROWS_WITH(mqcalib::quantize(o), doctest::Contains("kll"));
  o.a_observer = "kl";
  o.calib.path = root() + "/README.md";
  CHECK_THROWS_WITH(mqcalib::quantize(o), doctest::Contains("README.md"));
  o = small("tensorrt");
  o.eval.reset();
  o.out_dir = scratch("bad");
  o.skip = {"no_such_layer"};
  CHECK_THROWS_WITH(mqcalib::quantize(o), doctest::Contains("no_such_layer"));
  CHECK(!fs::exists(o.out_dir + "/params.json"));
}

TEST_CASE("api: adaround writes its integer codes, and params.json + codes reproduce the simulation exactly") {
  mqcalib::QuantizeOptions o = small("fbgemm");
  o.calib_size = 64;
  o.eval_limit = 256;
  o.w_bits = 4;
  o.first_last_8bit = true;
  o.method = "adaround";
  o.adaround_iters = 30;  // a smoke run: the accuracy suite runs 2000
  o.out_dir = scratch("ada");
  const mqcalib::QuantizeResult r = mqcalib::quantize(o);
  REQUIRE(r.reconstruction.size() == 22);
  for (const mqcalib::ReconstructionSummary& l : r.reconstruction) {
    CAPTURE(l.layer);
    CHECK(fs::is_regular_file(o.out_dir + "/weights/" + l.layer + ".weight.npy"));
    CHECK(l.loss_nearest >= 0.0);
    CHECK(l.loss_adaround >= 0.0);
  }
  CHECK(r.reconstruction.front().bits == 8);  // first and last layer 8-bit
  CHECK(r.reconstruction[1].bits == 4);
  const std::string params = slurp(o.out_dir + "/params.json");
  CHECK(params.find("\"weight_rounding\": \"adaround\"") != std::string::npos);
  CHECK(params.find("weights/layer1.0.conv1.weight.npy") != std::string::npos);
  const std::string report = slurp(o.out_dir + "/report.json");
  CHECK(report.find("\"loss_after\"") != std::string::npos);

  mqcalib::EvalOptions e;
  e.model = o.model;
  e.params = o.out_dir + "/params.json";
  e.eval = *o.eval;
  e.eval_limit = o.eval_limit;
  const mqcalib::EvalSummary s = mqcalib::evaluate(e);
  CHECK(s.q_top1 == r.eval->q_top1);
  CHECK(s.agreement == r.eval->agreement);

  o.method = "adaroundd";
  CHECK_THROWS_WITH(mqcalib::quantize(o), doctest::Contains("adaroundd"));
}
