// The C API (include/mqcalib/mqcalib_c.h) through the shared library, as a C caller sees it: every
// entry point's errors (NULL handles, wrong shapes, NaN, unknown names, calls out of order), the three
// data sources giving the same params, and two handles on two threads giving the same results as one
// after the other; the setters of data-free synthesis, outlier fixing and sensitivity against the C++
// API's Pipeline on the same options.
#include <doctest/doctest.h>
#include <unistd.h>
#include <zlib.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "mqcalib/mqcalib.h"
#include "mqcalib/mqcalib_c.h"

namespace {

std::string root() {
  const char* r = std::getenv("MQCALIB_SOURCE_ROOT");
  return r ? r : ".";
}
std::string model() { return root() + "/examples/zoo/resnet20.pt"; }
const char* kTrain = "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz";
constexpr int64_t kSamples = 96, kPixels = 28 * 28;

// The first kSamples training images, preprocessed as the zoo models were trained.
const std::vector<float>& images() {
  static const std::vector<float> x = [] {
    gzFile f = gzopen(kTrain, "rb");
    std::vector<unsigned char> raw(16 + kSamples * kPixels);
    REQUIRE(f);
    REQUIRE(gzread(f, raw.data(), static_cast<unsigned>(raw.size())) == static_cast<int>(raw.size()));
    gzclose(f);
    std::vector<float> out(static_cast<size_t>(kSamples * kPixels));
    for (size_t i = 0; i < out.size(); ++i) out[i] = (static_cast<float>(raw[16 + i]) / 255.0f - 0.2860f) / 0.3530f;
    return out;
  }();
  return x;
}

struct Handle {
  mqc_pipeline* p = nullptr;
  Handle() { REQUIRE(mqc_pipeline_create(model().c_str(), &p) == MQC_OK); }
  ~Handle() { mqc_pipeline_free(p); }
  void feed(int64_t batch = 32) {
    for (int64_t b = 0; b < kSamples; b += batch)
      REQUIRE(mqc_add_calibration_batch(p, images().data() + b * kPixels, std::min(batch, kSamples - b), 1, 28, 28) ==
              MQC_OK);
  }
  std::vector<float> all_scales() const {
    int64_t n = 0;
    REQUIRE(mqc_tensor_count(p, &n) == MQC_OK);
    std::vector<float> out;
    for (int64_t i = 0; i < n; ++i) {
      mqc_tensor_info info;
      REQUIRE(mqc_tensor_info_at(p, i, &info) == MQC_OK);
      std::vector<float> s(static_cast<size_t>(info.channels));
      std::vector<int32_t> z(s.size());
      REQUIRE(mqc_tensor_params(p, i, s.data(), z.data(), info.channels) == MQC_OK);
      out.insert(out.end(), s.begin(), s.end());
    }
    return out;
  }
};

bool mentions(const mqc_pipeline* p, const char* text) { return std::strstr(mqc_last_error(p), text) != nullptr; }

}  // namespace

TEST_CASE("c api: version, status and enum names round-trip") {
  CHECK(std::string(mqc_version()) == MQC_VERSION_STRING);
  CHECK(std::string(mqc_status_name(MQC_ERROR_STATE)) == "bad state");
  for (int b = 0; b < MQC_BACKEND_COUNT; ++b) {
    mqc_backend back;
    REQUIRE(mqc_backend_from_name(mqc_backend_name(static_cast<mqc_backend>(b)), &back) == MQC_OK);
    CHECK(back == b);
  }
  mqc_backend ort;
  CHECK(mqc_backend_from_name("onnxruntime", &ort) == MQC_OK);
  CHECK(ort == MQC_BACKEND_ORT);
  mqc_observer kl;
  CHECK(mqc_observer_from_name("kl", &kl) == MQC_OK);
  CHECK(kl == MQC_OBSERVER_KL);
  mqc_method m;
  CHECK(mqc_method_from_name("adaround", &m) == MQC_OK);
  CHECK(mqc_method_from_name("brecqq", &m) == MQC_ERROR_INVALID_ARGUMENT);
  mqc_granularity g;
  CHECK(mqc_granularity_from_name("block", &g) == MQC_OK);
  CHECK(g == MQC_GRANULARITY_BLOCK);
  CHECK(mqc_backend_name(static_cast<mqc_backend>(99)) == nullptr);
  CHECK(mqc_backend_from_name(nullptr, &ort) == MQC_ERROR_NULL_ARGUMENT);
}

TEST_CASE("c api: NULL handles and arguments are errors, never crashes") {
  mqc_pipeline* p = reinterpret_cast<mqc_pipeline*>(1);
  CHECK(mqc_pipeline_create(nullptr, &p) == MQC_ERROR_NULL_ARGUMENT);
  CHECK(p == nullptr);
  CHECK(mqc_pipeline_create(model().c_str(), nullptr) == MQC_ERROR_NULL_ARGUMENT);
  CHECK(std::string(mqc_create_error()).find("NULL") != std::string::npos);
  CHECK(mqc_pipeline_create("/no/such/model.pt", &p) == MQC_ERROR_IO);
  CHECK(std::string(mqc_create_error()).find("/no/such/model.pt") != std::string::npos);
  mqc_pipeline_free(nullptr);
  int64_t n = 0;
  CHECK(mqc_set_backend(nullptr, MQC_BACKEND_TENSORRT) == MQC_ERROR_NULL_ARGUMENT);
  CHECK(mqc_calibrate(nullptr) == MQC_ERROR_NULL_ARGUMENT);
  CHECK(mqc_tensor_count(nullptr, &n) == MQC_ERROR_NULL_ARGUMENT);
  CHECK(mqc_add_calibration_batch(nullptr, images().data(), 1, 1, 28, 28) == MQC_ERROR_NULL_ARGUMENT);
  CHECK(mqc_write_outputs(nullptr, "x") == MQC_ERROR_NULL_ARGUMENT);
  CHECK(std::string(mqc_last_error(nullptr)).find("NULL") != std::string::npos);
  Handle h;
  CHECK(mqc_add_calibration_batch(h.p, nullptr, 1, 1, 28, 28) == MQC_ERROR_INVALID_ARGUMENT);
  CHECK(mqc_skip_layer(h.p, nullptr) == MQC_ERROR_INVALID_ARGUMENT);
  CHECK(mqc_set_calibration_callback(h.p, 1, 28, 28, nullptr, nullptr) == MQC_ERROR_INVALID_ARGUMENT);
}

TEST_CASE("c api: bad values, shapes and NaN are named; calls out of order are state errors") {
  Handle h;
  CHECK(mqc_set_bits(h.p, 1, 8) == MQC_ERROR_INVALID_ARGUMENT);
  CHECK(mentions(h.p, "bits 1"));
  CHECK(mqc_set_backend(h.p, static_cast<mqc_backend>(42)) == MQC_ERROR_INVALID_ARGUMENT);
  CHECK(mqc_set_iterations(h.p, 0) == MQC_ERROR_INVALID_ARGUMENT);
  int64_t n = 0;
  CHECK(mqc_tensor_count(h.p, &n) == MQC_ERROR_STATE);
  CHECK(mqc_calibrate(h.p) == MQC_ERROR_STATE);  // no data yet
  CHECK(mentions(h.p, "no calibration data"));
  CHECK(mqc_add_calibration_batch(h.p, images().data(), 0, 1, 28, 28) == MQC_ERROR_BAD_DATA);
  REQUIRE(mqc_add_calibration_batch(h.p, images().data(), 4, 1, 28, 28) == MQC_OK);
  CHECK(mqc_add_calibration_batch(h.p, images().data(), 4, 1, 14, 56) == MQC_ERROR_BAD_DATA);
  CHECK(mentions(h.p, "first batch"));
  std::vector<float> bad(images().begin(), images().begin() + 3 * kPixels);
  bad[2 * kPixels + 7] = std::numeric_limits<float>::quiet_NaN();
  CHECK(mqc_add_calibration_batch(h.p, bad.data(), 3, 1, 28, 28) == MQC_ERROR_BAD_DATA);
  CHECK(mentions(h.p, "sample 2 holds NaN"));
  CHECK(mqc_skip_layer(h.p, "no_such_layer") == MQC_OK);  // names are checked against the model by calibrate
  CHECK(mqc_calibrate(h.p) == MQC_ERROR_INVALID_ARGUMENT);
  CHECK(mentions(h.p, "no_such_layer"));

  Handle wrong;  // 3-channel data for a 1-channel model: a clear error, not a crash
  std::vector<float> rgb(static_cast<size_t>(4 * 3 * kPixels), 0.5f);
  REQUIRE(mqc_add_calibration_batch(wrong.p, rgb.data(), 4, 3, 28, 28) == MQC_OK);
  CHECK(mqc_calibrate(wrong.p) != MQC_OK);
  CHECK(std::strlen(mqc_last_error(wrong.p)) > 0);
}

TEST_CASE("c api: calibrate, read params by name and index, export, evaluate on caller batches") {
  Handle h;
  REQUIRE(mqc_set_backend(h.p, MQC_BACKEND_TENSORRT) == MQC_OK);
  h.feed();
  REQUIRE(mqc_calibrate(h.p) == MQC_OK);
  CHECK(mqc_set_seed(h.p, 3) == MQC_ERROR_STATE);
  CHECK(mqc_calibrate(h.p) == MQC_ERROR_STATE);
  int64_t i = -1;
  REQUIRE(mqc_tensor_find(h.p, "layer1.0.conv1.weight", &i) == MQC_OK);
  mqc_tensor_info info;
  REQUIRE(mqc_tensor_info_at(h.p, i, &info) == MQC_OK);
  CHECK(std::string(info.name) == "layer1.0.conv1.weight");
  CHECK(info.role == MQC_ROLE_WEIGHT);
  CHECK(info.channels == 16);
  CHECK(info.axis == 0);
  CHECK(info.qmin == -127);
  std::vector<float> s(16);
  std::vector<int32_t> z(16, 7);
  CHECK(mqc_tensor_params(h.p, i, s.data(), z.data(), 15) == MQC_ERROR_INVALID_ARGUMENT);
  REQUIRE(mqc_tensor_params(h.p, i, s.data(), z.data(), 16) == MQC_OK);
  for (int c = 0; c < 16; ++c) {
    CHECK(s[static_cast<size_t>(c)] > 0.0f);
    CHECK(z[static_cast<size_t>(c)] == 0);
  }
  CHECK(mqc_tensor_find(h.p, "no.such.tensor", &i) == MQC_ERROR_NOT_FOUND);
  CHECK(mentions(h.p, "no.such.tensor"));
  CHECK(mqc_tensor_info_at(h.p, 100000, &info) == MQC_ERROR_NOT_FOUND);
  CHECK(mqc_write_file(h.p, "encodings.json", "/tmp/x.json") != MQC_OK);  // not a TensorRT file
  mqc_evaluation e;
  CHECK(mqc_get_evaluation(h.p, &e) == MQC_ERROR_STATE);
  std::vector<int64_t> labels(32, 3);
  REQUIRE(mqc_evaluate_batch(h.p, images().data(), labels.data(), 32, 1, 28, 28) == MQC_OK);
  REQUIRE(mqc_get_evaluation(h.p, &e) == MQC_OK);
  CHECK(e.samples == 32);
  labels[5] = 10;  // the model has 10 classes
  CHECK(mqc_evaluate_batch(h.p, images().data(), labels.data(), 32, 1, 28, 28) == MQC_ERROR_BAD_DATA);
  CHECK(mentions(h.p, "label 10"));
}

namespace {

struct Feed {
  int64_t next = 0;
  static int64_t call(void* user, float* buffer, int64_t capacity) {
    Feed* f = static_cast<Feed*>(user);
    const int64_t n = std::min<int64_t>(std::min<int64_t>(capacity, 17), kSamples - f->next);
    std::memcpy(buffer, images().data() + f->next * kPixels, sizeof(float) * static_cast<size_t>(n * kPixels));
    f->next += n;
    return n;
  }
  static int64_t broken(void*, float*, int64_t) { return -1; }
};

}  // namespace

TEST_CASE("c api: memory batches of any size and a callback give the same params") {
  Handle a, b, c;
  a.feed(32);
  b.feed(7);
  Feed f;
  REQUIRE(mqc_set_calibration_callback(c.p, 1, 28, 28, &Feed::call, &f) == MQC_OK);
  for (Handle* h : {&a, &b, &c}) REQUIRE(mqc_calibrate(h->p) == MQC_OK);
  CHECK(a.all_scales() == b.all_scales());
  CHECK(a.all_scales() == c.all_scales());
  Handle d;
  REQUIRE(mqc_set_calibration_callback(d.p, 1, 28, 28, &Feed::broken, nullptr) == MQC_OK);
  CHECK(mqc_calibrate(d.p) == MQC_ERROR_BAD_DATA);
  CHECK(mentions(d.p, "returned -1"));
}

TEST_CASE("c api: two handles on two threads give the results of one after the other") {
  auto run = [](mqc_backend backend, std::vector<float>* out) {
    Handle h;
    REQUIRE(mqc_set_backend(h.p, backend) == MQC_OK);
    REQUIRE(mqc_set_threads(h.p, 1) == MQC_OK);
    h.feed();
    REQUIRE(mqc_calibrate(h.p) == MQC_OK);
    *out = h.all_scales();
  };
  std::vector<float> seq_a, seq_b, par_a, par_b;
  run(MQC_BACKEND_TENSORRT, &seq_a);
  run(MQC_BACKEND_SNPE, &seq_b);
  std::thread ta(run, MQC_BACKEND_TENSORRT, &par_a), tb(run, MQC_BACKEND_SNPE, &par_b);
  ta.join();
  tb.join();
  CHECK(!seq_a.empty());
  CHECK(par_a == seq_a);
  CHECK(par_b == seq_b);
}

namespace {

constexpr float kMean = 0.2860f, kStd = 0.3530f;

// The C++ API on the options a C handle was given, fed the same batches: the C API's reference.
std::vector<float> cpp_scales(mqcalib::QuantizeOptions o, bool feed, bool fix_outliers,
                              std::vector<int>* bits = nullptr) {
  o.model = model();
  mqcalib::Pipeline p(o);
  for (int64_t b = 0; feed && b < kSamples; b += 32)
    p.add_calibration_batch(images().data() + b * kPixels, 32, 1, 28, 28);
  p.calibrate();
  if (fix_outliers) p.fix_outliers();
  std::vector<float> out;
  for (const mqcalib::TensorParams& t : p.tensors()) {
    out.insert(out.end(), t.scales.begin(), t.scales.end());
    if (bits) bits->push_back(t.bits);
  }
  return out;
}

std::vector<int> c_bits(const Handle& h) {
  int64_t n = 0;
  REQUIRE(mqc_tensor_count(h.p, &n) == MQC_OK);
  std::vector<int> out;
  for (int64_t i = 0; i < n; ++i) {
    mqc_tensor_info info;
    REQUIRE(mqc_tensor_info_at(h.p, i, &info) == MQC_OK);
    out.push_back(info.bits);
  }
  return out;
}

std::string report_json_of(const Handle& h, const std::string& name) {
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("mqc_c_api_" + name + "_" + std::to_string(getpid()));
  REQUIRE(mqc_write_outputs(h.p, dir.c_str()) == MQC_OK);
  std::ifstream f(dir / "report.json");
  std::stringstream ss;
  ss << f.rdbuf();
  std::filesystem::remove_all(dir);
  return ss.str();
}

}  // namespace

TEST_CASE("c api: synthesis, outlier, sensitivity and data-free setters refuse bad values, naming them") {
  Handle h;
  const float zero = 0.0f, nan = std::numeric_limits<float>::quiet_NaN();
  const int dup[] = {4, 4}, low[] = {2, 1}, ok[] = {3, 4, 8};
  // the arguments (the call) run first, then the check of its status and message
  auto refused = [&h](mqc_status status, const char* message) {
    CAPTURE(message);
    CHECK(status == MQC_ERROR_INVALID_ARGUMENT);
    CHECK(mentions(h.p, message));
  };
  refused(mqc_set_synthesis(h.p, -1, 10, 8, 0.5f), "mqc_set_synthesis: samples -1 outside 0..");
  refused(mqc_set_synthesis(h.p, 16, 0, 8, 0.5f), "mqc_set_synthesis: iterations 0");
  refused(mqc_set_synthesis(h.p, 16, 10, 0, 0.5f), "mqc_set_synthesis: batch 0");
  refused(mqc_set_synthesis(h.p, 16, 10, 5000, 0.5f), "mqc_set_synthesis: batch 5000 outside 1..4096");
  refused(mqc_set_synthesis(h.p, 16, 10, 8, nan), "mqc_set_synthesis: lr nan");
  refused(mqc_set_synthesis(h.p, 16, 10, 8, -1.0f), "mqc_set_synthesis: lr -1");
  refused(mqc_set_data_free(h.p, 0, 28, 28, &kMean, &kStd, 1), "mqc_set_data_free: c 0");
  refused(mqc_set_data_free(h.p, 1, 28, 28, &kMean, &zero, 1), "mqc_set_data_free: std[0]");
  refused(mqc_set_data_free(h.p, 1, 28, 28, &kMean, &kStd, 3), "mqc_set_data_free: channels 3");
  refused(mqc_set_data_free(h.p, 1, 28, 28, nullptr, &kStd, 1), "mqc_set_data_free: mean and std");
  refused(mqc_set_fix_outliers(h.p, 2), "mqc_set_fix_outliers: enabled 2 must be 0 (off) or 1 (on)");
  refused(mqc_set_measure_sensitivity(h.p, -1), "mqc_set_measure_sensitivity: enabled -1");
  refused(mqc_set_sensitivity_metric(h.p, static_cast<mqc_sensitivity_metric>(7), 32),
          "mqc_set_sensitivity_metric: metric 7 out of range");
  refused(mqc_set_sensitivity_metric(h.p, MQC_SENSITIVITY_KL, 0), "mqc_set_sensitivity_metric: samples 0");
  refused(mqc_set_bits_set(h.p, low, 2), "mqc_set_bits_set: bits[1] 1 outside 2..16");
  refused(mqc_set_bits_set(h.p, dup, 2), "mqc_set_bits_set: bits[1] 4 is given twice");
  refused(mqc_set_bits_set(h.p, ok, 0), "mqc_set_bits_set: count 0");
  refused(mqc_set_bits_set(h.p, nullptr, 3), "mqc_set_bits_set: bits is NULL");
  CHECK(mqc_set_synthesis(nullptr, 16, 10, 8, 0.5f) == MQC_ERROR_NULL_ARGUMENT);
  CHECK(mqc_set_fix_outliers(nullptr, 1) == MQC_ERROR_NULL_ARGUMENT);
  mqc_sensitivity_metric m;
  REQUIRE(mqc_sensitivity_metric_from_name("kl", &m) == MQC_OK);
  CHECK(m == MQC_SENSITIVITY_KL);
  CHECK(std::string(mqc_sensitivity_metric_name(MQC_SENSITIVITY_NSR)) == "nsr");
  CHECK(mqc_sensitivity_metric_from_name("mse", &m) == MQC_ERROR_INVALID_ARGUMENT);
  h.feed();
  REQUIRE(mqc_calibrate(h.p) == MQC_OK);
  CHECK(mqc_set_synthesis(h.p, 16, 10, 8, 0.5f) == MQC_ERROR_STATE);
  CHECK(mqc_set_measure_sensitivity(h.p, 1) == MQC_ERROR_STATE);
}

TEST_CASE("c api: data-free with synthesis gives the C++ API's params (and not the BN-range ones)") {
  Handle synth, bn_ranges, both;
  for (Handle* h : {&synth, &bn_ranges, &both}) REQUIRE(mqc_set_data_free(h->p, 1, 28, 28, &kMean, &kStd, 1) == MQC_OK);
  REQUIRE(mqc_set_synthesis(synth.p, 8, 3, 4, 0.25f) == MQC_OK);
  REQUIRE(mqc_calibrate(synth.p) == MQC_OK);
  REQUIRE(mqc_calibrate(bn_ranges.p) == MQC_OK);
  mqcalib::QuantizeOptions o;
  o.data_free = true;
  o.input_shape = {1, 28, 28};
  o.calib.mean = {kMean};
  o.calib.std = {kStd};
  CHECK(bn_ranges.all_scales() == cpp_scales(o, false, false));
  o.synthesize = 8;
  o.synth_iters = 3;
  o.synth_batch = 4;
  o.synth_lr = 0.25f;
  CHECK(synth.all_scales() == cpp_scales(o, false, false));
  CHECK(synth.all_scales() != bn_ranges.all_scales());
  both.feed();  // data-free takes no calibration data
  CHECK(mqc_calibrate(both.p) == MQC_ERROR_INVALID_ARGUMENT);
  CHECK(mentions(both.p, "takes no calibration data"));
}

TEST_CASE("c api: fix-outliers, a bits budget with its metric, and measured sensitivity as the C++ API runs them") {
  Handle fixed, mixed, measured;
  REQUIRE(mqc_set_fix_outliers(fixed.p, 1) == MQC_OK);
  const int set[] = {3, 4, 8};
  REQUIRE(mqc_set_bits_set(mixed.p, set, 3) == MQC_OK);
  REQUIRE(mqc_set_sensitivity_metric(mixed.p, MQC_SENSITIVITY_KL, 32) == MQC_OK);
  REQUIRE(mqc_set_bits_budget(mixed.p, "4") == MQC_OK);
  REQUIRE(mqc_set_measure_sensitivity(measured.p, 1) == MQC_OK);
  REQUIRE(mqc_set_sensitivity_metric(measured.p, MQC_SENSITIVITY_NSR, 32) == MQC_OK);
  for (Handle* h : {&fixed, &mixed, &measured}) {
    h->feed();
    REQUIRE(mqc_calibrate(h->p) == MQC_OK);
  }
  mqcalib::QuantizeOptions o;
  CHECK(fixed.all_scales() == cpp_scales(o, true, true));
  o.bits_set = {3, 4, 8};
  o.sensitivity_metric = "kl";
  o.sensitivity_samples = 32;
  o.bits_budget = "4";
  std::vector<int> bits;
  CHECK(mixed.all_scales() == cpp_scales(o, true, false, &bits));
  CHECK(c_bits(mixed) == bits);
  bool below_8 = false;
  for (int b : c_bits(mixed)) below_8 = below_8 || b < 8;
  CHECK(below_8);  // the budget (4 bits on average) took effect
  const std::string with = report_json_of(measured, "measured"), without = report_json_of(fixed, "fixed");
  CHECK(with.find("\"sensitivity\": {") != std::string::npos);
  CHECK(without.find("\"sensitivity\": {") == std::string::npos);
  CHECK(without.find("\"outlier_fix\"") != std::string::npos);
}
