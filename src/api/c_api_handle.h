// mqcalib/src/api/c_api_handle.h: the C API's handle and the guard every entry point runs in (internal).
#pragma once

#include <array>
#include <new>
#include <optional>
#include <string>
#include <vector>

#include "core/error.h"
#include "mqcalib/mqcalib.h"
#include "mqcalib/mqcalib_c.h"

struct mqc_pipeline {
  mqcalib::QuantizeOptions options;
  std::vector<std::vector<float>> batches;  // added before mqc_calibrate
  std::vector<std::array<int64_t, 4>> batch_shapes;
  mqc_next_batch_fn callback = nullptr;
  void* callback_user = nullptr;
  std::array<int64_t, 3> callback_shape{};
  std::optional<mqcalib::Pipeline> pipeline;   // made by mqc_calibrate
  std::vector<mqcalib::TensorParams> tensors;  // the record, after mqc_calibrate
  std::string error;
};

namespace mqcalib::c_api {

using mqcalib::Error;
using mqcalib::ErrorKind;

inline mqc_status status_of(ErrorKind k) {
  switch (k) {
    case ErrorKind::Invalid:
      return MQC_ERROR_INVALID_ARGUMENT;
    case ErrorKind::BadData:
      return MQC_ERROR_BAD_DATA;
    case ErrorKind::NotFound:
      return MQC_ERROR_NOT_FOUND;
    case ErrorKind::State:
      return MQC_ERROR_STATE;
    case ErrorKind::Io:
      return MQC_ERROR_IO;
    case ErrorKind::Failed:
      break;
  }
  return MQC_ERROR_FAILED;
}

// Runs f on a live handle: NULL handle, exceptions and their messages become statuses.
template <class P, class F>
mqc_status guarded(P* p, const char* fn, F&& f) {
  if (!p) return MQC_ERROR_NULL_ARGUMENT;
  p->error.clear();
  try {
    return f();
  } catch (const Error& e) {
    p->error = std::string(fn) + ": " + e.what();
    return status_of(e.kind());
  } catch (const std::bad_alloc&) {
    p->error = std::string(fn) + ": out of memory";
    return MQC_ERROR_OUT_OF_MEMORY;
  } catch (const std::exception& e) {
    p->error = std::string(fn) + ": " + e.what();
    return MQC_ERROR_FAILED;
  } catch (...) {
    p->error = std::string(fn) + ": unknown error";
    return MQC_ERROR_FAILED;
  }
}

inline void need(bool ok, ErrorKind kind, const std::string& what) {
  if (!ok) throw Error(kind, what);
}

inline void need_settable(const mqc_pipeline* p) {
  need(!p->pipeline, ErrorKind::State, "settings must come before mqc_calibrate");
}

inline const mqcalib::Pipeline& calibrated(const mqc_pipeline* p) {
  need(p->pipeline && p->pipeline->calibrated(), ErrorKind::State, "mqc_calibrate has not run (or failed)");
  return *p->pipeline;
}

inline void check_batch(const float* data, int64_t n, int64_t c, int64_t h, int64_t w) {
  need(data != nullptr, ErrorKind::Invalid, "data is NULL");
  need(n >= 1 && c >= 1 && h >= 1 && w >= 1, ErrorKind::BadData,
       "shape [" + std::to_string(n) + ", " + std::to_string(c) + ", " + std::to_string(h) + ", " + std::to_string(w) +
           "] is not a batch of images (each dim >= 1)");
  need(n <= (int64_t{1} << 20) && c * h * w <= (int64_t{1} << 26), ErrorKind::BadData, "batch too large");
}

}  // namespace mqcalib::c_api
