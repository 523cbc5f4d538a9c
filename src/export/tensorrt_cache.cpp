// mqcalib/src/export/tensorrt_cache.cpp (formats: tensorrt_cache.h, REFERENCE.md section 7)
#include "export/tensorrt_cache.h"

#include <cmath>
#include <nlohmann/json.hpp>
#include <set>

#include "core/error.h"
#include "export/atomic_file.h"
#include "export/format_util.h"

namespace mqcalib {

namespace {

// TensorRT's activation grid: int8, amax / 127 (REFERENCE.md section 2, tensorrt row).
constexpr int kTrtBits = 8;
constexpr double kTrtQmax = 127.0;

// Implicit quantization runs every quantized weight as int8 symmetric (TensorRT computes the scales
// itself): a weight on another grid (4-bit mixed precision, 7-bit reduce_range, asymmetric or
// unsigned) would be simulated one way and deployed another, so it throws naming the tensor
// (exporters.h: "4-bit layers for TensorRT/ncnn" cannot be expressed).
void check_trt_weights(const QuantRecord& rec, const char* file) {
  for (const TensorQuant& t : rec.tensors) {
    if (t.role != TensorRole::Weight) continue;
    const QScheme& s = t.scheme;
    std::string why;
    if (s.bits != kTrtBits || s.reduce_range)
      why = std::to_string(s.reduce_range ? s.bits - 1 : s.bits) + "-bit grid (TensorRT runs int8 weights only)";
    else if (s.signedness != Signedness::Signed || s.symmetry != Symmetry::Symmetric)
      why = "not signed symmetric (TensorRT weights are int8 symmetric)";
    for (size_t c = 0; why.empty() && c < t.params.zero_point.size(); ++c)
      if (t.params.zero_point[c] != 0)
        why = "zero point " + std::to_string(t.params.zero_point[c]) + " (TensorRT needs 0)";
    if (!why.empty()) throw Error(std::string(file) + ": cannot express " + describe_tensor(t) + ": " + why);
  }
}

// The activations TensorRT can take, in record order; throws naming the first one it cannot (or the
// first weight it cannot run, check_trt_weights).
std::vector<const TensorQuant*> trt_activations(const QuantRecord& rec, const char* file) {
  check_trt_weights(rec, file);
  std::vector<const TensorQuant*> out;
  std::set<std::string> seen;
  for (const TensorQuant& t : rec.tensors) {
    if (t.role != TensorRole::Activation) continue;
    const QScheme& s = t.scheme;
    const QParams& p = t.params;
    std::string why;
    if (s.bits != kTrtBits)
      why = std::to_string(s.bits) + "-bit (TensorRT runs int8 activations only)";
    else if (s.signedness != Signedness::Signed || s.symmetry != Symmetry::Symmetric)
      why = "not signed symmetric (TensorRT activations are int8 symmetric)";
    else if (p.scale.size() != 1 || p.zero_point.size() != 1)
      why = "not per-tensor";
    else if (p.zero_point[0] != 0)
      why = "zero point " + std::to_string(p.zero_point[0]) + " (TensorRT needs 0)";
    else if (!(std::isfinite(p.scale[0]) && p.scale[0] > 0))
      why = "scale is not finite and positive";
    if (!why.empty()) throw Error(std::string(file) + ": cannot express " + describe_tensor(t) + ": " + why);
    if (!seen.insert(t.tensor).second) throw Error(std::string(file) + ": activation '" + t.tensor + "' appears twice");
    out.push_back(&t);
  }
  return out;
}

const char* algorithm_name(const QuantRecord& rec, TrtCalibrator c) {
  if (c == TrtCalibrator::Auto) {
    bool all_minmax = false;
    for (const TensorQuant& t : rec.tensors) {
      if (t.role != TensorRole::Activation) continue;
      if (t.observer != "minmax") return "EntropyCalibration2";
      all_minmax = true;
    }
    return all_minmax ? "MinMaxCalibration" : "EntropyCalibration2";
  }
  return c == TrtCalibrator::MinMaxCalibration ? "MinMaxCalibration" : "EntropyCalibration2";
}

}  // namespace

std::string tensorrt_cache_text(const QuantRecord& rec, const TensorRtCacheOptions& o) {
  if (o.version <= 0) throw Error("calib.cache: TensorRT version " + std::to_string(o.version) + " must be positive");
  std::string out = "TRT-" + std::to_string(o.version) + "-" + algorithm_name(rec, o.calibrator) + "\n";
  for (const TensorQuant* t : trt_activations(rec, "calib.cache")) {
    if (t->tensor.find_first_of(":\n") != std::string::npos)
      throw Error("calib.cache: tensor name '" + t->tensor +
                  "' contains ':' or a newline, which the cache cannot hold");
    out += t->tensor + ": " + float_bits_hex(t->params.scale[0]) + "\n";
  }
  return out;
}

void write_tensorrt_cache(const QuantRecord& rec, const std::string& path, const TensorRtCacheOptions& o) {
  write_file_atomic(path, tensorrt_cache_text(rec, o));
}

std::string clip_ranges_json_text(const QuantRecord& rec) {
  nlohmann::ordered_json ranges = nlohmann::ordered_json::object();
  for (const TensorQuant* t : trt_activations(rec, "clip_ranges.json"))
    ranges[t->tensor] = static_cast<double>(t->params.scale[0]) * kTrtQmax;  // exact in double
  nlohmann::ordered_json root;
  root["tensorrt"]["blob_range"] = ranges;
  return root.dump(2) + "\n";
}

void write_clip_ranges_json(const QuantRecord& rec, const std::string& path) {
  write_file_atomic(path, clip_ranges_json_text(rec));
}

}  // namespace mqcalib
