// The pipeline object on the bundled ResNet-20 (torch suite: the load stage imports TorchScript): the
// calibration source is decoded once per run whatever the method, stages out of order are errors
// naming the missing stage, and the record it keeps is the one evaluation rebuilds.
#include <doctest/doctest.h>

#include <atomic>
#include <cstdlib>

#include "backends/backend.h"
#include "pipeline/pipeline.h"

using namespace mqcalib;

namespace {

std::string root() {
  const char* r = std::getenv("MQCALIB_SOURCE_ROOT");
  return r ? r : ".";
}
const std::string kData = "/usr/share/datasets/fashion-mnist/";

// Counts every sample decoded from the wrapped dataset.
struct CountingDataset : Dataset {
  explicit CountingDataset(std::unique_ptr<Dataset> d) : inner(std::move(d)) {}
  int64_t size() const override { return inner->size(); }
  Shape sample_shape() const override { return inner->sample_shape(); }
  void load(int64_t i, float* out) const override {
    ++loads;
    inner->load(i, out);
  }
  std::string description() const override { return inner->description(); }
  std::unique_ptr<Dataset> inner;
  mutable std::atomic<int64_t> loads{0};
};

PipelineConfig config(const std::string& method) {
  PipelineConfig c;
  c.model = root() + "/examples/zoo/resnet20.pt";
  c.backend = find_backend("tensorrt");
  c.w_observer.name = "minmax";
  c.a_observer.name = "kl";
  c.reconstruct.method = method;
  c.reconstruct.iters = 3;
  c.calib.path = kData + "train-images-idx3-ubyte.gz";
  c.calib.preprocess.mean = {0.2860f};
  c.calib.preprocess.std = {0.3530f};
  c.calib_size = 96;
  c.batch_size = 32;
  return c;
}

}  // namespace

TEST_CASE("pipeline: the calibration source is decoded once per run, for nearest and for adaround") {
  for (const char* method : {"nearest", "adaround"}) {
    CAPTURE(method);
    const PipelineConfig c = config(method);
    CountingDataset counted(open_dataset(c.calib.path, c.calib.preprocess));
    QuantizationPipeline p(c);
    p.load();
    p.plan();
    DatasetBatches provider(counted, sample_indices(counted.size(), c.calib_size, c.seed));
    p.read_samples(provider);
    p.calibrate();
    p.analyse();
    CHECK(counted.loads == 96);
    CHECK(p.record().provenance.calib_samples == 96);
    CHECK(p.record().provenance.calib_sha256 == p.samples().sha256());
    CHECK(p.record().weight_codes.size() == (std::string(method) == "adaround" ? 22u : 0u));
    CHECK(p.report().layers.size() == 22);
  }
}

TEST_CASE("pipeline: a stage before the one it needs is an error naming that stage") {
  QuantizationPipeline p(config("nearest"));
  CHECK_THROWS_WITH(p.plan(), doctest::Contains("load"));
  CHECK_THROWS_WITH(p.read_samples(), doctest::Contains("load"));
  p.load();
  CHECK_THROWS_WITH(p.calibrate(), doctest::Contains("plan"));
  p.plan();
  CHECK_THROWS_WITH(p.calibrate(), doctest::Contains("read_samples"));
  p.read_samples();
  CHECK_THROWS_WITH(p.analyse(), doctest::Contains("calibrate"));
  CHECK_THROWS_WITH(p.write_outputs(), doctest::Contains("--out"));
  CHECK_THROWS_WITH(p.evaluate(), doctest::Contains("--eval"));
}

TEST_CASE("pipeline: the config is validated before any work, naming the option") {
  PipelineConfig c = config("nearest");
  c.calib_size = 0;
  CHECK_THROWS_WITH(QuantizationPipeline{c}, doctest::Contains("--calib-size"));
  c = config("nearest");
  c.model = root() + "/examples";
  CHECK_THROWS_WITH(QuantizationPipeline{c}, doctest::Contains("is a folder"));
  c = config("brecqq");
  CHECK_THROWS_WITH(QuantizationPipeline{c}, doctest::Contains("brecqq"));
  c = config("nearest");
  c.eval = c.calib;
  c.eval->labels = kData + "no-such-labels";
  CHECK_THROWS_WITH(QuantizationPipeline{c}, doctest::Contains("no-such-labels"));
  c = config("nearest");
  c.out_dir = root() + "/README.md/out";
  CHECK_THROWS_WITH(QuantizationPipeline{c}, doctest::Contains("--out"));
}
