// mqcalib/src/api/c_api.cpp: the C API (include/mqcalib/mqcalib_c.h) over the C++ API's Pipeline.
// Every entry point catches everything: no exception crosses the C boundary.
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

#include "api/c_api_handle.h"
#include "mqcalib/mqcalib_c.h"

namespace {

thread_local std::string g_create_error;

}  // namespace

using namespace mqcalib::c_api;

extern "C" {

const char* mqc_version(void) { return MQCALIB_VERSION; }  // the build's; tests check it equals MQC_VERSION_STRING

const char* mqc_last_error(const mqc_pipeline* p) { return p ? p->error.c_str() : "mqc_last_error: NULL handle"; }

const char* mqc_create_error(void) { return g_create_error.c_str(); }

mqc_status mqc_pipeline_create(const char* model_path, mqc_pipeline** out) {
  g_create_error.clear();
  if (!out) {
    g_create_error = "mqc_pipeline_create: out is NULL";
    return MQC_ERROR_NULL_ARGUMENT;
  }
  *out = nullptr;
  if (!model_path) {
    g_create_error = "mqc_pipeline_create: model_path is NULL";
    return MQC_ERROR_NULL_ARGUMENT;
  }
  try {
    std::FILE* f = std::fopen(model_path, "rb");
    if (!f) {
      g_create_error =
          std::string("mqc_pipeline_create: cannot open model '") + model_path + "': " + std::strerror(errno);
      return MQC_ERROR_IO;
    }
    std::fclose(f);
    auto* p = new mqc_pipeline();
    p->options.model = model_path;
    p->options.a_observer = "kl";
    *out = p;
    return MQC_OK;
  } catch (const std::bad_alloc&) {
    g_create_error = "mqc_pipeline_create: out of memory";
    return MQC_ERROR_OUT_OF_MEMORY;
  } catch (const std::exception& e) {
    g_create_error = std::string("mqc_pipeline_create: ") + e.what();
    return MQC_ERROR_FAILED;
  }
}

void mqc_pipeline_free(mqc_pipeline* p) { delete p; }

mqc_status mqc_set_backend(mqc_pipeline* p, mqc_backend backend) {
  return guarded(p, "mqc_set_backend", [&] {
    need_settable(p);
    const char* name = mqc_backend_name(backend);
    need(name != nullptr, ErrorKind::Invalid, "backend " + std::to_string(static_cast<int>(backend)) + " out of range");
    p->options.backend = name;
    return MQC_OK;
  });
}

mqc_status mqc_set_bits(mqc_pipeline* p, int weight_bits, int activation_bits) {
  return guarded(p, "mqc_set_bits", [&] {
    need_settable(p);
    for (int b : {weight_bits, activation_bits})
      need(b == 0 || (b >= 2 && b <= 16), ErrorKind::Invalid,
           "bits " + std::to_string(b) + " outside 2..16 (0: the backend's)");
    p->options.w_bits = weight_bits;
    p->options.a_bits = activation_bits;
    return MQC_OK;
  });
}

mqc_status mqc_set_observer(mqc_pipeline* p, mqc_target target, mqc_observer observer) {
  return guarded(p, "mqc_set_observer", [&] {
    need_settable(p);
    const char* name = mqc_observer_name(observer);
    need(name != nullptr, ErrorKind::Invalid,
         "observer " + std::to_string(static_cast<int>(observer)) + " out of range");
    need(target == MQC_TARGET_WEIGHTS || target == MQC_TARGET_ACTIVATIONS, ErrorKind::Invalid, "target out of range");
    (target == MQC_TARGET_WEIGHTS ? p->options.w_observer : p->options.a_observer) = name;
    return MQC_OK;
  });
}

mqc_status mqc_set_method(mqc_pipeline* p, mqc_method method) {
  return guarded(p, "mqc_set_method", [&] {
    need_settable(p);
    const char* name = mqc_method_name(method);
    need(name != nullptr, ErrorKind::Invalid, "method " + std::to_string(static_cast<int>(method)) + " out of range");
    p->options.method = name;
    return MQC_OK;
  });
}

mqc_status mqc_set_granularity(mqc_pipeline* p, mqc_granularity granularity) {
  return guarded(p, "mqc_set_granularity", [&] {
    need_settable(p);
    const char* name = mqc_granularity_name(granularity);
    need(name != nullptr, ErrorKind::Invalid, "granularity out of range");
    p->options.granularity = granularity == MQC_GRANULARITY_DEFAULT ? "" : name;
    return MQC_OK;
  });
}

mqc_status mqc_set_iterations(mqc_pipeline* p, int iterations) {
  return guarded(p, "mqc_set_iterations", [&] {
    need_settable(p);
    need(iterations >= 1, ErrorKind::Invalid, "iterations " + std::to_string(iterations) + " must be >= 1");
    p->options.adaround_iters = iterations;
    return MQC_OK;
  });
}

mqc_status mqc_set_seed(mqc_pipeline* p, uint64_t seed) {
  return guarded(p, "mqc_set_seed", [&] {
    need_settable(p);
    p->options.seed = seed;
    return MQC_OK;
  });
}

mqc_status mqc_set_threads(mqc_pipeline* p, int threads) {
  return guarded(p, "mqc_set_threads", [&] {
    need(threads >= 0, ErrorKind::Invalid, "threads " + std::to_string(threads) + " must be >= 0");
    p->options.threads = threads;
    return MQC_OK;
  });
}

mqc_status mqc_set_cache_budget_mib(mqc_pipeline* p, int64_t mib) {
  return guarded(p, "mqc_set_cache_budget_mib", [&] {
    need_settable(p);
    need(mib >= 0, ErrorKind::Invalid, "cache budget " + std::to_string(mib) + " MiB must be >= 0");
    p->options.cache_budget_mib = mib;
    return MQC_OK;
  });
}

mqc_status mqc_set_first_last_8bit(mqc_pipeline* p, int enabled) {
  return guarded(p, "mqc_set_first_last_8bit", [&] {
    need_settable(p);
    p->options.first_last_8bit = enabled != 0;
    return MQC_OK;
  });
}

mqc_status mqc_skip_layer(mqc_pipeline* p, const char* layer) {
  return guarded(p, "mqc_skip_layer", [&] {
    need_settable(p);
    need(layer != nullptr, ErrorKind::Invalid, "layer is NULL");
    p->options.skip.push_back(layer);
    return MQC_OK;
  });
}

mqc_status mqc_set_layer_bits(mqc_pipeline* p, const char* layer, int bits) {
  return guarded(p, "mqc_set_layer_bits", [&] {
    need_settable(p);
    need(layer != nullptr, ErrorKind::Invalid, "layer is NULL");
    need(bits >= 2 && bits <= 16, ErrorKind::Invalid, "bits " + std::to_string(bits) + " outside 2..16");
    p->options.layer_bits[layer] = bits;
    return MQC_OK;
  });
}

}  // extern "C"
