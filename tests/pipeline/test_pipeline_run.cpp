// The pipeline object on the bundled ResNet-20 (torch suite: the load stage imports TorchScript): the
// calibration source is decoded once per run whatever the method, stages out of order are errors
// naming the missing stage, and the record it keeps is the one evaluation rebuilds.
#include <doctest/doctest.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>

#include "backends/backend.h"
#include "exec/executor.h"
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

TEST_CASE("pipeline: data-free (BN ranges, equalization, analytic bias correction) on ResNet-20; eval rebuilds it") {
  PipelineConfig c = config("nearest");
  c.calib.path.clear();
  c.data_free.enabled = true;
  c.data_free.input_shape = {1, 28, 28};
  c.transforms.equalize = true;
  c.transforms.bias_correction = true;
  const std::string out = (std::filesystem::temp_directory_path() / "mqcalib_pipeline_data_free").string();
  std::filesystem::remove_all(out);
  c.out_dir = out;
  QuantizationPipeline p(c);
  p.run();
  const QuantRecord& rec = p.record();
  CHECK(rec.provenance.activation_ranges == "bn_stats");
  CHECK(rec.provenance.range_sigmas == 6.0);
  CHECK(rec.provenance.calib_samples == 0);
  CHECK(rec.provenance.bias_correction == "analytic");
  CHECK(rec.provenance.equalization.size() == 9);  // each BasicBlock's conv1 -> relu -> conv2
  CHECK(rec.provenance.relu6_policy == "relu");
  CHECK_FALSE(rec.float_weights.empty());
  for (const TensorQuant& t : rec.tensors)
    if (t.role == TensorRole::Activation) CHECK(t.observer == "bn_stats");
  bool noted = false;
  for (const std::string& n : p.report().export_notes) noted = noted || n.find("calib.cache") != std::string::npos;
  CHECK(noted);
  // mqcalib eval's path: the model file + params.json (+ folded/*.npy) give the same simulation.
  const RecordedSimulation rs = load_recorded_simulation(c.model, out + "/params.json", {1, 28, 28});
  TensorF32 x({4, 1, 28, 28});
  for (int64_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>((i * 37 % 101) / 50.0 - 0.8);
  const TensorF32 a = Executor(rs.simulation.graph).run({x}, rs.simulation.activations.hook())[0];
  const TensorF32 b = Executor(p.simulation().graph).run({x}, p.simulation().activations.hook())[0];
  CHECK(a.vec() == b.vec());
  std::filesystem::remove_all(out);
}

TEST_CASE("pipeline: data-free options are validated naming the option") {
  PipelineConfig c = config("nearest");
  c.data_free.enabled = true;
  CHECK_THROWS_WITH(QuantizationPipeline{c}, doctest::Contains("--calib"));  // both given
  c.calib.path.clear();
  CHECK_THROWS_WITH(QuantizationPipeline{c}, doctest::Contains("--input-shape"));
  c.data_free.input_shape = {1, 28};
  CHECK_THROWS_WITH(QuantizationPipeline{c}, doctest::Contains("--input-shape"));
  c.data_free.input_shape = {1, 28, 28};
  c.reconstruct.method = "adaround";
  CHECK_THROWS_WITH(QuantizationPipeline{c}, doctest::Contains("adaround"));
  c.reconstruct.method = "nearest";
  c.data_free.range_sigmas = 0;
  CHECK_THROWS_WITH(QuantizationPipeline{c}, doctest::Contains("--bn-range-sigmas"));
  c.data_free.range_sigmas = 6;
  QuantizationPipeline p(c);
  p.load();
  CHECK_THROWS_WITH(p.read_samples(), doctest::Contains("data-free"));
}
