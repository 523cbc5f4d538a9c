// mqcalib/src/api/c_api_names.cpp: the C API's enum <-> name tables (one table per enum, in enum order).
#include <cstring>

#include "api/c_api_handle.h"

namespace {

// The names follow the engine's: the backend table (src/backends), the observer registry (calibrators/),
// the method table (src/pipeline/reconstruct_methods.cpp), the granularities of reconstruction units,
// the sensitivity metrics (src/pipeline/sensitivity.h).
const char* const kBackends[MQC_BACKEND_COUNT] = {"tensorrt", "snpe", "qnn",     "fbgemm",  "tvm",
                                                  "acl",      "ppl",  "vitis",   "ort",     "openvino",
                                                  "ncnn",     "mnn",  "tengine", "academic"};
const char* const kObservers[MQC_OBSERVER_COUNT] = {"minmax", "ema", "percentile", "mse", "kl", "aciq"};
const char* const kMethods[MQC_METHOD_COUNT] = {"nearest", "adaround", "brecq", "qdrop"};
const char* const kGranularities[MQC_GRANULARITY_COUNT] = {"default", "layer", "block", "stage", "network"};
const char* const kSensitivityMetrics[MQC_SENSITIVITY_COUNT] = {"nsr", "kl"};
const char* const kStatus[] = {"ok",        "null argument", "invalid argument", "bad data",     "not found",
                               "bad state", "i/o error",     "failed",           "out of memory"};

template <int N>
const char* name_at(const char* const (&table)[N], int i) {
  return i >= 0 && i < N ? table[i] : nullptr;
}

template <class E, int N>
mqc_status from_name(const char* const (&table)[N], const char* name, E* out) {
  if (!name || !out) return MQC_ERROR_NULL_ARGUMENT;
  for (int i = 0; i < N; ++i)
    if (std::strcmp(table[i], name) == 0) {
      *out = static_cast<E>(i);
      return MQC_OK;
    }
  return MQC_ERROR_INVALID_ARGUMENT;
}

}  // namespace

extern "C" {

const char* mqc_status_name(mqc_status s) { return name_at(kStatus, static_cast<int>(s)); }
const char* mqc_backend_name(mqc_backend b) { return name_at(kBackends, static_cast<int>(b)); }
const char* mqc_observer_name(mqc_observer o) { return name_at(kObservers, static_cast<int>(o)); }
const char* mqc_method_name(mqc_method m) { return name_at(kMethods, static_cast<int>(m)); }
const char* mqc_granularity_name(mqc_granularity g) { return name_at(kGranularities, static_cast<int>(g)); }
const char* mqc_sensitivity_metric_name(mqc_sensitivity_metric m) {
  return name_at(kSensitivityMetrics, static_cast<int>(m));
}

mqc_status mqc_backend_from_name(const char* name, mqc_backend* out) {
  // the backend table's aliases too
  if (name && std::strcmp(name, "onnxruntime") == 0) name = "ort";
  if (name && std::strcmp(name, "openppl") == 0) name = "ppl";
  return from_name(kBackends, name, out);
}
mqc_status mqc_observer_from_name(const char* name, mqc_observer* out) { return from_name(kObservers, name, out); }
mqc_status mqc_method_from_name(const char* name, mqc_method* out) { return from_name(kMethods, name, out); }
mqc_status mqc_granularity_from_name(const char* name, mqc_granularity* out) {
  return from_name(kGranularities, name, out);
}
mqc_status mqc_sensitivity_metric_from_name(const char* name, mqc_sensitivity_metric* out) {
  return from_name(kSensitivityMetrics, name, out);
}

}  // extern "C"
