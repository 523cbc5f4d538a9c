// mqcalib/src/export/exporters.h: all exporters, and the backend -> native formats table.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "export/atomic_file.h"
#include "export/encodings.h"
#include "export/ncnn_table.h"
#include "export/params_json.h"
#include "export/quant_record.h"
#include "export/tensorrt_cache.h"

namespace mqcalib {

enum class NativeFormat { TensorRtCache, ClipRangesJson, EncodingsJson, NcnnTable };

// File name written into the output directory: "calib.cache", "clip_ranges.json",
// "encodings.json", "ncnn.table".
std::string_view file_name(NativeFormat format);

// The runtime files a backend reads (a table, kNativeFormats in exporters.cpp):
//   tensorrt -> calib.cache, clip_ranges.json;  snpe, qnn -> encodings.json;  ncnn -> ncnn.table;
//   every other backend -> none (params.json is the record; the planned QDQ ONNX export covers them).
std::vector<NativeFormat> native_formats(std::string_view backend);

// Settings of the native formats that are not in the record.
struct NativeFormatOptions {
  int trt_version = TensorRtCacheOptions{}.version;  // calib.cache header TRT-<version>-... (--trt-version)
};

// The backend's native files as (file name, bytes), all rendered before any is written. A record a
// format cannot express throws (notes null) or is skipped with the reason appended to `notes`.
std::vector<std::pair<std::string, std::string>> render_native_formats(const QuantRecord& record,
                                                                       std::string_view backend,
                                                                       std::vector<std::string>* notes = nullptr,
                                                                       const NativeFormatOptions& options = {});

// The output note for a record whose result needs FP weights other than the model file's
// (QuantRecord::float_weights, op_changes: equalization, bias correction, AdaRound): none of the native
// formats carries weights (a TensorRT calibration cache, clip ranges, SNPE encodings and an ncnn table
// hold only ranges and scales), so each native file written (`native_files`) is valid only for a model
// built with those weights. "" when the record needs none.
std::string deployment_weights_note(const QuantRecord& record, const std::vector<std::string>& native_files);

// Writes the backend's native files into `dir` (which must exist) and returns their file names.
// All files are rendered before any is written. A record a format cannot express (e.g. 4-bit layers
// for TensorRT/ncnn, asymmetric activations for TensorRT) throws mqcalib::Error naming the tensor
// when `notes` is null; with `notes`, that format is skipped and the reason is appended to `notes`.
std::vector<std::string> write_native_formats(const QuantRecord& record, std::string_view backend,
                                              const std::string& dir, std::vector<std::string>* notes = nullptr);

}  // namespace mqcalib
