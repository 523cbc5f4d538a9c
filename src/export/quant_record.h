// mqcalib/src/export/quant_record.h: the canonical in-memory record of a quantization run.
//
// The pipeline fills one QuantRecord (every quantized tensor with its scheme, parameters, observed
// range and observer, plus the provenance of the run); every exporter reads only this record:
// params.json (the canonical file, readable back with read_params_json), the TensorRT calibration
// cache and clip ranges, SNPE/QNN/AIMET encodings and the ncnn table (REFERENCE.md section 7).
//
// Names: `tensor` is the engine's tensor name (weights "<layer>.weight", biases "<layer>.bias",
// activations the IR value name, e.g. "layer1.0.relu"); `layer` is the IR node name. These names
// are the keys of every exported file, and the planned ONNX export carries the same names.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/qscheme.h"
#include "core/tensor.h"

namespace mqcalib {

enum class TensorRole { Weight, Bias, Activation };

// "weight", "bias", "activation" (the spelling used in params.json).
std::string_view to_string(TensorRole role);

struct TensorQuant {
  std::string tensor;  // engine tensor name, e.g. "layer1.0.conv1.weight" or activation "layer1.0.relu"
  std::string layer;   // node name (for activations: a node that reads it, or produces it for add/cat)
  TensorRole role = TensorRole::Activation;
  QScheme scheme;        // for int32 biases bits = 32 (outside QScheme::validate's 2..16 on purpose)
  QParams params;        // what the simulation used, bit for bit
  Range observed;        // the observer's range (the clip range), before choose_qparams widened it to 0
  std::string observer;  // observer name ("kl", "minmax", ...) or how the params were derived
};

// One equalized layer pair (DFQ cross-layer equalization, graph/equalize.h).
struct EqualizationRecord {
  std::string first, second;  // layer names
  std::string join;           // as found: "none" | "relu" | "relu6" (replaced by relu, see op_changes)
  std::vector<float> scales;  // s_i: first's output row i was divided by it, second's input channel i multiplied
};

// The data preprocessing the record was calibrated with, as fields (`mqcalib eval` takes it from here
// and refuses options that contradict it). Names as the public DataOptions spell them.
struct PreprocessRecord {
  // A user-provided constructor, not default member initializers: GCC 12 reports the value-initialized
  // aggregate's non-empty strings as maybe-uninitialized at -O3 (a false positive, fatal with -Werror).
  PreprocessRecord() : mean{0.0f}, std{1.0f}, color("gray"), layout("nchw") {}
  std::vector<float> mean;  // (x/255 - mean) / std, one value or one per channel
  std::vector<float> std;
  std::string color;        // gray | rgb | bgr (image folders)
  int resize = 0;           // image folders: shorter side (0: keep)
  int center_crop = 0;      // image folders: center crop (0: none)
  std::string layout;       // .npy: nchw | nhwc
  bool operator==(const PreprocessRecord& o) const {
    return mean == o.mean && std == o.std && color == o.color && resize == o.resize && center_crop == o.center_crop &&
           layout == o.layout;
  }
};

struct Provenance {
  std::string tool_version;
  std::string model_path;
  std::string model_sha256;  // hex, of the model file
  std::string backend;
  std::string preprocessing;    // e.g. "scale 1/255, mean [0.286], std [0.353]"
  PreprocessRecord preprocess;  // the same as fields
  std::string layout;           // e.g. "NCHW [1, 28, 28]"
  uint64_t seed = 0;
  int64_t calib_samples = 0;
  std::string calib_sha256;                 // hex, of the preprocessed float32 calibration samples in order
  std::vector<std::string> skipped_layers;  // kept in fp32
  std::map<std::string, int> layer_bits;    // per-layer bit overrides (weight and input)
  std::map<std::string, int> layer_a_bits;  // per-layer input bit overrides (mixed precision)
  std::string command_line;
  std::string weight_rounding = "nearest";  // the reconstruction method: "nearest", "adaround", ... (its
                                            // integer codes are in QuantRecord::weight_codes)
  // How the run got along without calibration data (docs/data_free.md); defaults: a run on real data.
  std::string activation_ranges = "observer";  // "observer" (on calibration samples) | "bn_stats"
  double range_sigmas = 0.0;                   // n of the bn_stats ranges (beta +- n |gamma|); 0: unused
  int64_t synthetic_samples = 0;               // images synthesized from BN statistics (0: none)
  uint64_t synthesis_seed = 0;
  int synthesis_iterations = 0;
  std::vector<EqualizationRecord> equalization;  // empty: not equalized
  std::string relu6_policy;                      // equalization across relu6: "relu" (replaced) | "skip"; "" unused
  double high_bias_sigmas = 0.0;                 // high-bias absorption's c = max(0, beta - n gamma); 0: none
  std::string bias_correction = "none";          // "none" | "analytic" (BN statistics) | "empirical" (data)
};

// The integer codes of a weight rounded other than to nearest of its FP value (AdaRound, the block
// methods): the simulation uses s * (code - zp). Stored beside params.json as a .npy of int32 with the
// weight's shape (export/npy_i32.h).
struct WeightCodes {
  std::string file;            // relative to params.json's folder, "weights/<tensor>.npy"
  Shape shape;                 // the weight's shape
  std::vector<int32_t> codes;  // numel(shape) codes; empty in a record parsed from text until loaded
};

// A folded FP weight or bias the result was computed with where it differs from the model file's plain
// BN fold (equalization, high-bias absorption, bias correction), or, for a weight rounded other than to
// nearest (AdaRound...), the weight s * (code - zp) whose nearest rounding with the recorded params gives
// the codes back. Stored beside params.json as a float32 .npy (export/npy_f32.h). A runtime that takes
// the model's own weights (a TensorRT engine built with calib.cache, SNPE with encodings.json) runs
// another network unless these replace them.
struct FloatTensor {
  std::string file;           // relative to params.json's folder, "folded/<tensor>.npy"
  Shape shape;                // the tensor's shape
  std::vector<float> values;  // numel(shape) values; empty in a record parsed from text until loaded
};

struct QuantRecord {
  Provenance provenance;
  std::vector<TensorQuant> tensors;
  // Weighted layer -> the activation tensor it reads (its quantized input), for formats keyed by
  // layer (the ncnn table's "<layer> <input scale>" line). Optional: when a layer is missing, the
  // exporters fall back to the activation record whose `layer` is that layer.
  std::map<std::string, std::string> layer_inputs;
  // Weight tensor -> its integer codes, for weights whose rounding is not round-to-nearest of the FP
  // weight. Weights not listed: nearest. params.json lists tensor -> file.
  std::map<std::string, WeightCodes> weight_codes;
  // Weight / bias tensor ("<layer>.weight", "<layer>.bias") -> the folded FP values the result needs
  // (FloatTensor). Tensors not listed: the model file's own, BN folded.
  std::map<std::string, FloatTensor> float_weights;
  // Node -> the op it runs as instead of the model's (equalization's relu6 -> relu: "relu").
  std::map<std::string, std::string> op_changes;
};

}  // namespace mqcalib
