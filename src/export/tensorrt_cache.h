// mqcalib/src/export/tensorrt_cache.h: TensorRT implicit-quantization calibration cache (calib.cache)
// and MQBench-style clip ranges (clip_ranges.json). Formats: REFERENCE.md section 7.
//
// calib.cache:
//   TRT-<version>-EntropyCalibration2          (or MinMaxCalibration)
//   <activation tensor>: <8 hex digits>        one line per activation, record order
// The hex digits are the float32 bit pattern of the tensor's scale, most significant byte first
// (printf "%08x" of the bits; 1.0f -> 3f800000), as TensorRT writes them. TensorRT's scale is
// amax / 127 (REFERENCE.md section 2, tensorrt row); the cache carries the simulation's scale itself,
// so TensorRT dequantizes with exactly the scale the simulation used.
// Only activations go into the cache: TensorRT computes weight scales itself (per-channel absmax),
// so a weight observer other than minmax is not reproduced by implicit quantization (the planned
// explicit Q/DQ ONNX export carries weight scales).
//
// clip_ranges.json: {"tensorrt": {"blob_range": {tensor: amax}}} for ITensor::setDynamicRange(-amax,
// amax), with amax = 127 * scale (computed in double, exact) so that TensorRT's amax / 127 gives the
// simulated scale back. MQBench writes max(-clip_min, clip_max) of its grid instead (128 * scale for
// [-128,127]); we write 127 * scale on purpose so both files describe one scale.
//
// TensorRT executes int8 symmetric per-tensor activations only: an activation that is not signed,
// symmetric, zero point 0, per-tensor, 8-bit throws mqcalib::Error naming the tensor. Likewise a
// weight that is not 8-bit signed symmetric with zero point 0 (e.g. a 4-bit layer): TensorRT would
// run it in int8 while the simulation used another grid.
#pragma once

#include <string>

#include "export/quant_record.h"

namespace mqcalib {

enum class TrtCalibrator {
  Auto,  // MinMaxCalibration when every activation observer is "minmax", else EntropyCalibration2
  EntropyCalibration2,
  MinMaxCalibration,
};

struct TensorRtCacheOptions {
  // TensorRT writes NV_TENSORRT_VERSION into the header (major*1000 + minor*100 + patch for
  // TensorRT 8.x, from NvInferVersion.h: 8.6.0 -> 8600) and may refuse a cache whose header does
  // not match the running version or the calibrator's algorithm. 8600 = TensorRT 8.6; set it to
  // the version that will read the cache.
  int version = 8600;
  TrtCalibrator calibrator = TrtCalibrator::Auto;
};

std::string tensorrt_cache_text(const QuantRecord& record, const TensorRtCacheOptions& options = {});
void write_tensorrt_cache(const QuantRecord& record, const std::string& path, const TensorRtCacheOptions& options = {});

std::string clip_ranges_json_text(const QuantRecord& record);
void write_clip_ranges_json(const QuantRecord& record, const std::string& path);

}  // namespace mqcalib
