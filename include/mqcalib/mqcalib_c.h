/* mqcalib/include/mqcalib/mqcalib_c.h: the C API (C99), a stable ABI for deployment tools.
 *
 * The same pipeline as `mqcalib quantize` and the C++ API (mqcalib/mqcalib.h), behind opaque handles:
 *
 *   mqc_pipeline* p = NULL;
 *   if (mqc_pipeline_create("resnet20.pt", &p) != MQC_OK) { puts(mqc_create_error()); return 1; }
 *   mqc_set_backend(p, MQC_BACKEND_TENSORRT);
 *   mqc_set_observer(p, MQC_TARGET_ACTIVATIONS, MQC_OBSERVER_KL);
 *   for (each batch) mqc_add_calibration_batch(p, data, n, 1, 28, 28);   // float32 NCHW, preprocessed
 *   if (mqc_calibrate(p) != MQC_OK) { puts(mqc_last_error(p)); ... }
 *   int64_t i; mqc_tensor_find(p, "layer1.0.relu", &i);
 *   float scale; int32_t zp; mqc_tensor_params(p, i, &scale, &zp, 1);
 *   mqc_write_file(p, "calib.cache", "out/calib.cache");
 *   mqc_pipeline_free(p);
 *
 * Rules: every call returns an mqc_status (MQC_OK = 0); on failure mqc_last_error(handle) holds a message
 * naming the bad input (valid until the next call on that handle). No C++ exception ever crosses this
 * boundary. Handles are independent: two handles may be used on two threads at once and give the same
 * results as one after the other; one handle must not be used by two threads at once. A call changes
 * no process-wide state (the thread count it uses is set on the calling thread for the call only, and
 * nothing is cached beyond the handle). Strings returned by the library stay valid until the handle is
 * freed (names) or until the next call on it (error messages).
 */
#ifndef MQCALIB_MQCALIB_C_H
#define MQCALIB_MQCALIB_C_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MQC_API __attribute__((visibility("default")))

#define MQC_VERSION_MAJOR 0
#define MQC_VERSION_MINOR 2
#define MQC_VERSION_PATCH 0
#define MQC_VERSION_STRING "0.2.0"

typedef enum mqc_status {
  MQC_OK = 0,
  MQC_ERROR_NULL_ARGUMENT = 1,    /* a required pointer or handle is NULL */
  MQC_ERROR_INVALID_ARGUMENT = 2, /* a value out of range, an unknown name, an option that cannot run */
  MQC_ERROR_BAD_DATA = 3,         /* a batch of the wrong shape, NaN or Inf in a batch, labels out of range */
  MQC_ERROR_NOT_FOUND = 4,        /* no tensor of that name or index */
  MQC_ERROR_STATE = 5,            /* a call out of order (results before mqc_calibrate, settings after it) */
  MQC_ERROR_IO = 6,               /* a file that cannot be read or written */
  MQC_ERROR_FAILED = 7,           /* the pipeline failed (the model cannot be imported, ...): see the message */
  MQC_ERROR_OUT_OF_MEMORY = 8
} mqc_status;

typedef struct mqc_pipeline mqc_pipeline;

typedef enum mqc_backend {
  MQC_BACKEND_TENSORRT,
  MQC_BACKEND_SNPE,
  MQC_BACKEND_QNN,
  MQC_BACKEND_FBGEMM,
  MQC_BACKEND_TVM,
  MQC_BACKEND_ACL,
  MQC_BACKEND_PPL,
  MQC_BACKEND_VITIS,
  MQC_BACKEND_ORT,
  MQC_BACKEND_OPENVINO,
  MQC_BACKEND_NCNN,
  MQC_BACKEND_MNN,
  MQC_BACKEND_TENGINE,
  MQC_BACKEND_ACADEMIC,
  MQC_BACKEND_COUNT
} mqc_backend;

typedef enum mqc_observer {
  MQC_OBSERVER_MINMAX,
  MQC_OBSERVER_EMA,
  MQC_OBSERVER_PERCENTILE,
  MQC_OBSERVER_MSE,
  MQC_OBSERVER_KL,
  MQC_OBSERVER_ACIQ,
  MQC_OBSERVER_COUNT
} mqc_observer;

typedef enum mqc_method {
  MQC_METHOD_NEAREST,
  MQC_METHOD_ADAROUND,
  MQC_METHOD_BRECQ,
  MQC_METHOD_QDROP,
  MQC_METHOD_COUNT
} mqc_method;

typedef enum mqc_granularity {
  MQC_GRANULARITY_DEFAULT, /* the method's own (layer for adaround, block for brecq and qdrop) */
  MQC_GRANULARITY_LAYER,
  MQC_GRANULARITY_BLOCK,
  MQC_GRANULARITY_STAGE,
  MQC_GRANULARITY_NETWORK,
  MQC_GRANULARITY_COUNT
} mqc_granularity;

typedef enum mqc_target { MQC_TARGET_WEIGHTS, MQC_TARGET_ACTIVATIONS } mqc_target;

typedef enum mqc_role { MQC_ROLE_WEIGHT, MQC_ROLE_BIAS, MQC_ROLE_ACTIVATION } mqc_role;

/* What per-layer sensitivity measures (the bits budget minimises its sum): nsr, the logits' noise-to-signal
 * power ratio; kl, the KL divergence of the softmax from the FP model's. */
typedef enum mqc_sensitivity_metric {
  MQC_SENSITIVITY_NSR,
  MQC_SENSITIVITY_KL,
  MQC_SENSITIVITY_COUNT
} mqc_sensitivity_metric;

/* ---- version, status, names ---------------------------------------------------------------------- */
MQC_API const char* mqc_version(void); /* MQC_VERSION_STRING of the library actually linked */
MQC_API const char* mqc_status_name(mqc_status status);
/* The message of the last failed call on `p` ("" after a successful one; a fixed text for p == NULL). */
MQC_API const char* mqc_last_error(const mqc_pipeline* p);
/* The message of the last failed mqc_pipeline_create on the calling thread. */
MQC_API const char* mqc_create_error(void);

/* name <-> enum, for tools that take strings ("tensorrt", "ort", "kl", "adaround", "block", ...). */
MQC_API mqc_status mqc_backend_from_name(const char* name, mqc_backend* out);
MQC_API const char* mqc_backend_name(mqc_backend backend); /* NULL when out of range */
MQC_API mqc_status mqc_observer_from_name(const char* name, mqc_observer* out);
MQC_API const char* mqc_observer_name(mqc_observer observer);
MQC_API mqc_status mqc_method_from_name(const char* name, mqc_method* out);
MQC_API const char* mqc_method_name(mqc_method method);
MQC_API mqc_status mqc_granularity_from_name(const char* name, mqc_granularity* out);
MQC_API const char* mqc_granularity_name(mqc_granularity granularity);
MQC_API mqc_status mqc_sensitivity_metric_from_name(const char* name, mqc_sensitivity_metric* out);
MQC_API const char* mqc_sensitivity_metric_name(mqc_sensitivity_metric metric);

/* ---- handles --------------------------------------------------------------------------------------- */
/* A pipeline for a TorchScript model file (checked now, imported by mqc_calibrate). */
MQC_API mqc_status mqc_pipeline_create(const char* model_path, mqc_pipeline** out);
MQC_API void mqc_pipeline_free(mqc_pipeline* p); /* NULL is a no-op */

/* ---- settings (before mqc_calibrate; MQC_ERROR_STATE after) ------------------------------------------ */
MQC_API mqc_status mqc_set_backend(mqc_pipeline* p, mqc_backend backend);
MQC_API mqc_status mqc_set_bits(mqc_pipeline* p, int weight_bits, int activation_bits); /* 0: the backend's */
MQC_API mqc_status mqc_set_observer(mqc_pipeline* p, mqc_target target, mqc_observer observer);
MQC_API mqc_status mqc_set_method(mqc_pipeline* p, mqc_method method);
MQC_API mqc_status mqc_set_granularity(mqc_pipeline* p, mqc_granularity granularity);
MQC_API mqc_status mqc_set_iterations(mqc_pipeline* p, int iterations);
MQC_API mqc_status mqc_set_seed(mqc_pipeline* p, uint64_t seed);
MQC_API mqc_status mqc_set_threads(mqc_pipeline* p, int threads); /* 0: the calling thread's OpenMP count */
MQC_API mqc_status mqc_set_cache_budget_mib(mqc_pipeline* p, int64_t mib);
MQC_API mqc_status mqc_set_first_last_8bit(mqc_pipeline* p, int enabled);
MQC_API mqc_status mqc_skip_layer(mqc_pipeline* p, const char* layer);               /* keep it in fp32 */
MQC_API mqc_status mqc_set_layer_bits(mqc_pipeline* p, const char* layer, int bits); /* weight and input */
/* Mixed precision: per-layer weight bits from {2, 3, 4, 8} with the least summed sensitivity within the
 * budget: "3" (average weight bits) or a weight size ("70KB", "68KiB", "70000B"); "" turns it off. */
MQC_API mqc_status mqc_set_bits_budget(mqc_pipeline* p, const char* budget);
/* The weight bits the budget chooses from (count values in 2..16, default {2, 3, 4, 8}). */
MQC_API mqc_status mqc_set_bits_set(mqc_pipeline* p, const int* bits, int count);
/* What the budget minimises, compared on `samples` calibration samples (default kl, 256); also what
 * mqc_set_measure_sensitivity measures. */
MQC_API mqc_status mqc_set_sensitivity_metric(mqc_pipeline* p, mqc_sensitivity_metric metric, int64_t samples);
/* enabled 1: mqc_calibrate also quantizes each layer alone at its bits and measures what it does to the
 * logits (report.json's sensitivity section, written by mqc_write_outputs). 0: off (the default). */
MQC_API mqc_status mqc_set_measure_sensitivity(mqc_pipeline* p, int enabled);
/* enabled 1: mqc_calibrate applies the outlier findings' advice (per-channel weights, a tighter observer, a
 * layer kept at 8 bits) and calibrates again; the tensors read back are the fixed run's. 0: off. */
MQC_API mqc_status mqc_set_fix_outliers(mqc_pipeline* p, int enabled);

/* ---- data-free mode (before mqc_calibrate; docs/data_free.md) ------------------------------------------- */
/* No calibration data (add none): activation ranges from the BN statistics, the input's range from the
 * preprocessing (x/255 - mean[c]) / std[c] of pixels in [0, 1] (`channels` values each, 1: one for every
 * channel); one sample is c x h x w. Only method nearest, unless synthesis is set. */
MQC_API mqc_status mqc_set_data_free(mqc_pipeline* p, int64_t c, int64_t h, int64_t w, const float* mean,
                                     const float* std, int channels);
/* Data-free with synthetic images (ZeroQ): `samples` images optimised with Adam (`iterations` per batch of
 * `batch` images, learning rate `lr`) so that every BN layer's batch statistics match its running ones,
 * seeded by mqc_set_seed; then any observer and method run on them. samples 0 turns it off. Defaults
 * (the C++ QuantizeOptions'): 500 iterations, batch 32, lr 0.5. Needs mqc_set_data_free. */
MQC_API mqc_status mqc_set_synthesis(mqc_pipeline* p, int64_t samples, int iterations, int64_t batch, float lr);

/* ---- calibration data (one source: a callback, else memory batches, else a file; none when data-free) ---- */
/* float32 NCHW samples [n, c, h, w], preprocessed as the model expects; copied before the call returns. */
MQC_API mqc_status mqc_add_calibration_batch(mqc_pipeline* p, const float* data, int64_t n, int64_t c, int64_t h,
                                             int64_t w);
/* Called by mqc_calibrate for the next batch: write up to `capacity` samples of c*h*w floats to `buffer`,
 * return how many (0 ends the data, < 0 is an error reported by mqc_calibrate). */
typedef int64_t (*mqc_next_batch_fn)(void* user, float* buffer, int64_t capacity);
MQC_API mqc_status mqc_set_calibration_callback(mqc_pipeline* p, int64_t c, int64_t h, int64_t w,
                                                mqc_next_batch_fn next, void* user);
/* An IDX / .npy / image-folder source read by the engine: `samples` drawn with the seed, x/255 then
 * (x - mean[c]) / std[c] with `channels` values each (1: one value for every channel). */
MQC_API mqc_status mqc_set_calibration_file(mqc_pipeline* p, const char* path, int64_t samples, const float* mean,
                                            const float* std, int channels);

/* ---- stages --------------------------------------------------------------------------------------- */
/* Imports and folds the model, places the quantizers, reads the data once, observes, reconstructs with
 * the method, records. */
MQC_API mqc_status mqc_calibrate(mqc_pipeline* p);

/* ---- results (after mqc_calibrate) -------------------------------------------------------------------- */
typedef struct mqc_tensor_info {
  const char* name; /* engine tensor name, valid until mqc_pipeline_free */
  const char* layer;
  mqc_role role;
  int bits;
  int is_signed, is_symmetric;
  int axis;         /* channel axis of per-channel params; -1 per-tensor */
  int64_t channels; /* number of scales and zero points */
  int32_t qmin, qmax;
} mqc_tensor_info;

MQC_API mqc_status mqc_tensor_count(const mqc_pipeline* p, int64_t* count);
MQC_API mqc_status mqc_tensor_info_at(const mqc_pipeline* p, int64_t index, mqc_tensor_info* out);
MQC_API mqc_status mqc_tensor_find(const mqc_pipeline* p, const char* name, int64_t* index);
/* Copies the tensor's `channels` scales and zero points (capacity >= channels, else MQC_ERROR_INVALID_ARGUMENT). */
MQC_API mqc_status mqc_tensor_params(const mqc_pipeline* p, int64_t index, float* scales, int32_t* zero_points,
                                     int64_t capacity);

/* The whole output set (params.json, weight codes, native files, report.json) into `dir`. */
MQC_API mqc_status mqc_write_outputs(mqc_pipeline* p, const char* dir);
/* One file: "params.json" or a native file of the backend ("calib.cache", "clip_ranges.json",
 * "encodings.json", "ncnn.table"). */
MQC_API mqc_status mqc_write_file(const mqc_pipeline* p, const char* file_name, const char* path);

/* ---- evaluation on the caller's batches (after mqc_calibrate) ------------------------------------------ */
MQC_API mqc_status mqc_evaluate_batch(mqc_pipeline* p, const float* data, const int64_t* labels, int64_t n, int64_t c,
                                      int64_t h, int64_t w);
typedef struct mqc_evaluation {
  int64_t samples;
  double fp_top1, quant_top1, agreement; /* percent */
} mqc_evaluation;
MQC_API mqc_status mqc_get_evaluation(const mqc_pipeline* p, mqc_evaluation* out);

#ifdef __cplusplus
}
#endif

#endif /* MQCALIB_MQCALIB_C_H */
