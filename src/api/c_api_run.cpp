// mqcalib/src/api/c_api_run.cpp: the C API's data, stages and results (declarations: mqcalib_c.h).
#include <algorithm>
#include <cmath>

#include "api/c_api_handle.h"

using namespace mqcalib::c_api;

namespace {

// (C++ linkage: it returns a reference, so it is defined outside the extern "C" block.)
const mqcalib::TensorParams& tensor_at(const mqc_pipeline* p, int64_t index) {
  calibrated(p);
  need(index >= 0 && index < static_cast<int64_t>(p->tensors.size()), ErrorKind::NotFound,
       "tensor index " + std::to_string(index) + " out of 0.." + std::to_string(p->tensors.size()));
  return p->tensors[static_cast<size_t>(index)];
}

}  // namespace

extern "C" {

mqc_status mqc_add_calibration_batch(mqc_pipeline* p, const float* data, int64_t n, int64_t c, int64_t h, int64_t w) {
  return guarded(p, "mqc_add_calibration_batch", [&] {
    need_settable(p);
    check_batch(data, n, c, h, w);
    if (!p->batch_shapes.empty()) {
      const auto& f = p->batch_shapes.front();
      need(f[1] == c && f[2] == h && f[3] == w, ErrorKind::BadData,
           "batch " + std::to_string(p->batch_shapes.size()) + " has samples of " + std::to_string(c) + "x" +
               std::to_string(h) + "x" + std::to_string(w) + " but the first batch's are " + std::to_string(f[1]) +
               "x" + std::to_string(f[2]) + "x" + std::to_string(f[3]));
    }
    const int64_t count = n * c * h * w;
    for (int64_t i = 0; i < count; ++i)
      need(std::isfinite(data[i]), ErrorKind::BadData,
           "batch " + std::to_string(p->batch_shapes.size()) + ", sample " + std::to_string(i / (c * h * w)) +
               " holds NaN or Inf");
    p->batches.emplace_back(data, data + count);
    p->batch_shapes.push_back({n, c, h, w});
    return MQC_OK;
  });
}

mqc_status mqc_set_calibration_callback(mqc_pipeline* p, int64_t c, int64_t h, int64_t w, mqc_next_batch_fn next,
                                        void* user) {
  return guarded(p, "mqc_set_calibration_callback", [&] {
    need_settable(p);
    need(next != nullptr, ErrorKind::Invalid, "the callback is NULL");
    need(c >= 1 && h >= 1 && w >= 1, ErrorKind::BadData, "sample shape must be >= 1 in every dim");
    p->callback = next;
    p->callback_user = user;
    p->callback_shape = {c, h, w};
    return MQC_OK;
  });
}

mqc_status mqc_set_calibration_file(mqc_pipeline* p, const char* path, int64_t samples, const float* mean,
                                    const float* std, int channels) {
  return guarded(p, "mqc_set_calibration_file", [&] {
    need_settable(p);
    need(path != nullptr, ErrorKind::Invalid, "path is NULL");
    need(samples >= 1, ErrorKind::Invalid, "samples must be >= 1");
    need(channels >= 1 && channels <= 4096, ErrorKind::Invalid, "channels must be in 1..4096");
    need(mean != nullptr && std != nullptr, ErrorKind::Invalid, "mean and std must not be NULL");
    p->options.calib.path = path;
    p->options.calib.mean.assign(mean, mean + channels);
    p->options.calib.std.assign(std, std + channels);
    p->options.calib_size = samples;
    return MQC_OK;
  });
}

mqc_status mqc_calibrate(mqc_pipeline* p) {
  return guarded(p, "mqc_calibrate", [&] {
    need(!p->pipeline, ErrorKind::State, "mqc_calibrate has run already on this handle");
    const bool has_data = p->callback || !p->batches.empty() || !p->options.calib.path.empty();
    need(has_data || p->options.data_free, ErrorKind::State,
         "no calibration data: add batches, set a callback or a file first");
    need(!has_data || !p->options.data_free, ErrorKind::Invalid,
         "mqc_set_data_free takes no calibration data (batches, a callback or a file were given)");
    try {
      p->pipeline.emplace(p->options);
    } catch (const Error& e) {
      throw Error(e.kind() == ErrorKind::Failed ? ErrorKind::Invalid : e.kind(), e.what());
    }
    mqcalib::Pipeline& pl = *p->pipeline;
    if (p->callback) {
      mqc_next_batch_fn fn = p->callback;
      void* user = p->callback_user;
      pl.set_calibration_callback(p->callback_shape[0], p->callback_shape[1], p->callback_shape[2],
                                  [fn, user](float* buffer, int64_t capacity) {
                                    const int64_t n = fn(user, buffer, capacity);
                                    if (n < 0)
                                      throw Error(ErrorKind::BadData,
                                                  "the calibration callback returned " + std::to_string(n));
                                    return n;
                                  });
    }
    for (size_t b = 0; b < p->batches.size(); ++b) {
      const auto& s = p->batch_shapes[b];
      pl.add_calibration_batch(p->batches[b].data(), s[0], s[1], s[2], s[3]);
    }
    p->batches.clear();
    p->batch_shapes.clear();
    try {
      pl.calibrate();
      if (p->options.fix_outliers) pl.fix_outliers();        // mqc_set_fix_outliers
      if (p->options.sensitivity) pl.measure_sensitivity();  // mqc_set_measure_sensitivity
    } catch (...) {
      p->pipeline.reset();  // a failed run leaves the handle as it was before the call (data aside)
      throw;
    }
    p->tensors = pl.tensors();
    return MQC_OK;
  });
}

mqc_status mqc_tensor_count(const mqc_pipeline* p, int64_t* count) {
  return guarded(const_cast<mqc_pipeline*>(p), "mqc_tensor_count", [&] {
    need(count != nullptr, ErrorKind::Invalid, "count is NULL");
    calibrated(p);
    *count = static_cast<int64_t>(p->tensors.size());
    return MQC_OK;
  });
}

mqc_status mqc_tensor_info_at(const mqc_pipeline* p, int64_t index, mqc_tensor_info* out) {
  return guarded(const_cast<mqc_pipeline*>(p), "mqc_tensor_info_at", [&] {
    need(out != nullptr, ErrorKind::Invalid, "out is NULL");
    const mqcalib::TensorParams& t = tensor_at(p, index);
    out->name = t.name.c_str();
    out->layer = t.layer.c_str();
    out->role = t.kind == mqcalib::TensorKind::Weight ? MQC_ROLE_WEIGHT
                : t.kind == mqcalib::TensorKind::Bias ? MQC_ROLE_BIAS
                                                      : MQC_ROLE_ACTIVATION;
    out->bits = t.bits;
    out->is_signed = t.is_signed;
    out->is_symmetric = t.symmetric;
    out->axis = t.axis;
    out->channels = static_cast<int64_t>(t.scales.size());
    out->qmin = t.qmin;
    out->qmax = t.qmax;
    return MQC_OK;
  });
}

mqc_status mqc_tensor_find(const mqc_pipeline* p, const char* name, int64_t* index) {
  return guarded(const_cast<mqc_pipeline*>(p), "mqc_tensor_find", [&] {
    need(name != nullptr && index != nullptr, ErrorKind::Invalid, "name and index must not be NULL");
    calibrated(p);
    for (size_t i = 0; i < p->tensors.size(); ++i)
      if (p->tensors[i].name == name) {
        *index = static_cast<int64_t>(i);
        return MQC_OK;
      }
    throw Error(ErrorKind::NotFound, std::string("no quantized tensor named '") + name + "'");
  });
}

mqc_status mqc_tensor_params(const mqc_pipeline* p, int64_t index, float* scales, int32_t* zero_points,
                             int64_t capacity) {
  return guarded(const_cast<mqc_pipeline*>(p), "mqc_tensor_params", [&] {
    need(scales != nullptr && zero_points != nullptr, ErrorKind::Invalid, "scales and zero_points must not be NULL");
    const mqcalib::TensorParams& t = tensor_at(p, index);
    need(capacity >= static_cast<int64_t>(t.scales.size()), ErrorKind::Invalid,
         "tensor '" + t.name + "' has " + std::to_string(t.scales.size()) + " channels, capacity " +
             std::to_string(capacity));
    std::copy(t.scales.begin(), t.scales.end(), scales);
    std::copy(t.zero_points.begin(), t.zero_points.end(), zero_points);
    return MQC_OK;
  });
}

mqc_status mqc_write_outputs(mqc_pipeline* p, const char* dir) {
  return guarded(p, "mqc_write_outputs", [&] {
    need(dir != nullptr, ErrorKind::Invalid, "dir is NULL");
    calibrated(p);
    p->pipeline->write_outputs(dir);
    return MQC_OK;
  });
}

mqc_status mqc_write_file(const mqc_pipeline* p, const char* file_name, const char* path) {
  return guarded(const_cast<mqc_pipeline*>(p), "mqc_write_file", [&] {
    need(file_name != nullptr && path != nullptr, ErrorKind::Invalid, "file_name and path must not be NULL");
    calibrated(p).write_file(file_name, path);
    return MQC_OK;
  });
}

mqc_status mqc_evaluate_batch(mqc_pipeline* p, const float* data, const int64_t* labels, int64_t n, int64_t c,
                              int64_t h, int64_t w) {
  return guarded(p, "mqc_evaluate_batch", [&] {
    check_batch(data, n, c, h, w);
    need(labels != nullptr, ErrorKind::Invalid, "labels is NULL");
    calibrated(p);
    p->pipeline->evaluate_batch(data, labels, n, c, h, w);
    return MQC_OK;
  });
}

mqc_status mqc_get_evaluation(const mqc_pipeline* p, mqc_evaluation* out) {
  return guarded(const_cast<mqc_pipeline*>(p), "mqc_get_evaluation", [&] {
    need(out != nullptr, ErrorKind::Invalid, "out is NULL");
    const mqcalib::QuantizeResult r = calibrated(p).result();
    need(r.eval.has_value(), ErrorKind::State, "no evaluation batch yet");
    *out = mqc_evaluation{r.eval->samples, r.eval->fp_top1, r.eval->q_top1, r.eval->agreement};
    return MQC_OK;
  });
}

}  // extern "C"
