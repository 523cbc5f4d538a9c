// mqcalib/src/api/c_api_options.cpp: the C API's setters for data-free synthesis, outlier fixing and
// sensitivity / mixed precision (declarations: mqcalib_c.h), onto the C++ QuantizeOptions. Each checks
// its values here, naming the bad one; what needs the model (layer names, budgets) mqc_calibrate checks.
#include <cmath>
#include <set>
#include <string>

#include "api/c_api_handle.h"

using namespace mqcalib::c_api;

namespace {

// Bounds of the values a setter takes (the pipeline's own where it has one).
constexpr int64_t kMaxSamples = int64_t{1} << 20;  // synthesized images, sensitivity samples
constexpr int kMaxIterations = 1 << 24;            // Adam iterations per synthesis batch
constexpr int64_t kMaxSynthBatch = 4096;           // the pipeline's --synth-batch bound
constexpr float kMaxLr = 100.0f;                   // an Adam step beyond it is a typo
constexpr int kMaxShapeDim = 65536;                // the pipeline's --input-shape bound
constexpr int kMaxChannels = 4096;                 // as mqc_set_calibration_file

void need_flag(int enabled, const char* what) {
  need(enabled == 0 || enabled == 1, ErrorKind::Invalid,
       std::string(what) + " " + std::to_string(enabled) + " must be 0 (off) or 1 (on)");
}

void need_in(int64_t v, int64_t lo, int64_t hi, const std::string& what) {
  need(v >= lo && v <= hi, ErrorKind::Invalid,
       what + " " + std::to_string(v) + " outside " + std::to_string(lo) + ".." + std::to_string(hi));
}

}  // namespace

extern "C" {

mqc_status mqc_set_bits_set(mqc_pipeline* p, const int* bits, int count) {
  return guarded(p, "mqc_set_bits_set", [&] {
    need_settable(p);
    need(bits != nullptr, ErrorKind::Invalid, "bits is NULL");
    need_in(count, 1, 15, "count");
    std::set<int> seen;
    for (int i = 0; i < count; ++i) {
      need_in(bits[i], 2, 16, "bits[" + std::to_string(i) + "]");
      need(seen.insert(bits[i]).second, ErrorKind::Invalid,
           "bits[" + std::to_string(i) + "] " + std::to_string(bits[i]) + " is given twice");
    }
    p->options.bits_set.assign(bits, bits + count);
    return MQC_OK;
  });
}

mqc_status mqc_set_sensitivity_metric(mqc_pipeline* p, mqc_sensitivity_metric metric, int64_t samples) {
  return guarded(p, "mqc_set_sensitivity_metric", [&] {
    need_settable(p);
    const char* name = mqc_sensitivity_metric_name(metric);
    need(name != nullptr, ErrorKind::Invalid, "metric " + std::to_string(static_cast<int>(metric)) + " out of range");
    need_in(samples, 1, kMaxSamples, "samples");
    p->options.sensitivity_metric = name;
    p->options.sensitivity_samples = samples;
    return MQC_OK;
  });
}

mqc_status mqc_set_measure_sensitivity(mqc_pipeline* p, int enabled) {
  return guarded(p, "mqc_set_measure_sensitivity", [&] {
    need_settable(p);
    need_flag(enabled, "enabled");
    p->options.sensitivity = enabled == 1;
    return MQC_OK;
  });
}

mqc_status mqc_set_fix_outliers(mqc_pipeline* p, int enabled) {
  return guarded(p, "mqc_set_fix_outliers", [&] {
    need_settable(p);
    need_flag(enabled, "enabled");
    p->options.fix_outliers = enabled == 1;
    return MQC_OK;
  });
}

mqc_status mqc_set_data_free(mqc_pipeline* p, int64_t c, int64_t h, int64_t w, const float* mean, const float* std,
                             int channels) {
  return guarded(p, "mqc_set_data_free", [&] {
    need_settable(p);
    need_in(c, 1, kMaxShapeDim, "c");
    need_in(h, 1, kMaxShapeDim, "h");
    need_in(w, 1, kMaxShapeDim, "w");
    need(mean != nullptr && std != nullptr, ErrorKind::Invalid, "mean and std must not be NULL");
    need_in(channels, 1, kMaxChannels, "channels");
    need(channels == 1 || channels == c, ErrorKind::Invalid,
         "channels " + std::to_string(channels) + ": expected 1 or c (" + std::to_string(c) + ")");
    for (int i = 0; i < channels; ++i) {
      need(std::isfinite(mean[i]), ErrorKind::Invalid, "mean[" + std::to_string(i) + "] is NaN or Inf");
      need(std::isfinite(std[i]) && std[i] > 0.0f, ErrorKind::Invalid,
           "std[" + std::to_string(i) + "] " + std::to_string(std[i]) + " must be a finite value > 0");
    }
    p->options.data_free = true;
    p->options.input_shape = {c, h, w};
    p->options.calib.mean.assign(mean, mean + channels);
    p->options.calib.std.assign(std, std + channels);
    return MQC_OK;
  });
}

mqc_status mqc_set_synthesis(mqc_pipeline* p, int64_t samples, int iterations, int64_t batch, float lr) {
  return guarded(p, "mqc_set_synthesis", [&] {
    need_settable(p);
    need_in(samples, 0, kMaxSamples, "samples");
    need_in(iterations, 1, kMaxIterations, "iterations");
    need_in(batch, 1, kMaxSynthBatch, "batch");
    need(std::isfinite(lr) && lr > 0.0f && lr <= kMaxLr, ErrorKind::Invalid,
         "lr " + std::to_string(lr) + " must be in (0, " + std::to_string(kMaxLr) + "]");
    p->options.synthesize = samples;
    p->options.synth_iters = iterations;
    p->options.synth_batch = batch;
    p->options.synth_lr = lr;
    return MQC_OK;
  });
}

}  // extern "C"
