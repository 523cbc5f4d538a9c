// mqcalib/src/export/run_report.h: what one quantize run reports (report.json, the CLI's tables, the
// API's QuantizeResult): plain rows the pipeline fills; report_json.h defines the file's schema.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "export/report_sections.h"

namespace mqcalib {

// One quantized conv / linear.
struct LayerReport {
  std::string layer;
  int w_bits = 0, a_bits = 0;
  double weight_sqnr_db = 0;  // quantized vs folded FP weight; +inf when exact
  double input_sqnr_db = 0;   // its input activation's quantization SQNR on the calibration data
};

// One quantized activation.
struct ActivationReport {
  std::string tensor;
  double sqnr_db = 0;
  float observed_min = 0, observed_max = 0;  // min-max over the first calibration batches
  float clip_min = 0, clip_max = 0;          // the range the observer kept
};

// An outlier finding (pipeline/outliers.h): what is wrong, in words and numbers, and what to do.
struct OutlierFinding {
  std::string layer;
  std::string tensor;
  std::string kind;  // weight_per_tensor_gap | weight_max_over_std | channel_range_spread | activation_heavy_tail
  double value = 0;  // the number the threshold was applied to
  std::string explanation;
  std::string advice;
};

// One reconstruction unit's outcome (a layer for layer-wise methods).
struct UnitReport {
  std::string unit;                 // unit name (the layer for layer-wise methods)
  std::vector<std::string> layers;  // the weighted layers it holds
  int bits = 0;                     // weight bits (the widest in the unit)
  double loss_before = 0;           // reconstruction loss with round-to-nearest weights
  double loss_after = 0;            // ... with the method's result
  double soft_fraction = 0;         // rounding variables still soft at the end
  int iterations = 0;
  double seconds = 0;
};

struct EvalReport {
  int64_t samples = 0;
  double fp_top1 = 0, quant_top1 = 0, agreement = 0;  // percent
  std::optional<double> fp_top1_op_changes;           // FP with the record's op changes (relu6 -> relu) only
};

// Where activation ranges came from and what changed the FP weights (docs/data_free.md).
struct TransformSummary {
  std::string activation_ranges = "observer";  // "observer" (calibration samples) | "bn_stats" (data-free)
  double range_sigmas = 0;                     // n of the bn_stats ranges
  std::vector<std::string> equalized_pairs;    // "first -> second (join)"
  int equalization_sweeps = 0;
  double equalization_last_change = 0;      // max |s - 1| of the last sweep
  std::vector<std::string> relu6_replaced;  // nodes now relu
  std::vector<std::string> relu6_skipped;   // pairs left alone
  std::vector<std::string> absorbed;        // "first -> second" with a high bias absorbed
  std::string bias_correction = "none";     // none | analytic | empirical
  std::vector<std::string> bias_corrected;  // layers
  std::vector<std::pair<std::string, std::string>> bias_correction_skipped;  // (layer, reason)
};

// The simulation against the integer executor (pipeline/verify.h, `mqcalib verify`).
struct TensorAgreement {
  std::string tensor;
  std::string origin;      // exec/int_model.h QuantOrigin ("planned", "alias-backward", ...), or "output"
  int64_t elements = 0;    // compared, over all samples
  double max_lsb = 0;      // largest |sim - int| in LSBs of the tensor's grid
  double frac_differ = 0;  // fraction of elements whose codes differ (float outputs: by more than 1/2 LSB)
};

struct VerifyReport {
  std::string backend, requant;
  int64_t samples = 0;
  double sim_top1 = 0, int_top1 = 0, top1_agreement = 0;  // percent
  std::vector<TensorAgreement> tensors;                    // graph order
  std::string first_parting;           // first tensor with any difference ("" when none)
  std::string first_over_one_lsb;      // first tensor differing by more than 1 LSB ("" when none)
  std::vector<std::string> float_ops;  // nodes the integer executor ran through the float path
  // Quantized convs whose output has no quantizer (not even through a ReLU): a runtime has no grid
  // to requantize them to and runs them in float (QDQ: DQ -> Conv without Q). A placement gap.
  std::vector<std::string> float_output_convs;
};

struct RunReport {
  std::string tool_version, model, backend;
  std::vector<std::string> backend_notes;
  std::string w_observer, a_observer;
  int64_t calib_samples = 0;
  uint64_t seed = 0;
  int64_t folded_bn = 0;
  std::vector<std::pair<std::string, std::string>> unfolded_bn;  // (bn, reason)
  std::string method;                                            // reconstruction method
  std::vector<std::pair<std::string, double>> method_settings;   // e.g. iters, lambda, batch, seed
  std::vector<std::pair<std::string, std::string>> method_choices;  // e.g. granularity, loss
  std::vector<UnitReport> reconstruction;
  TransformSummary transforms;
  std::vector<std::string> placement_notes, export_notes;
  std::optional<EvalReport> eval;
  std::optional<VerifyReport> verify;
  std::vector<LayerReport> layers;
  std::vector<ActivationReport> activations;
  std::vector<OutlierFinding> outliers;
  std::map<std::string, double> seconds;  // per phase, and "total"
  int64_t peak_memory_bytes = 0;
  // Where accuracy goes (issue 16, export/report_sections.h): report.html draws them.
  std::vector<ActivationHistogram> histograms;  // plan.activations order
  std::vector<ChannelRanges> channel_ranges;    // plan.weights order
  std::optional<SensitivityReport> sensitivity;
  std::optional<BitAllocationReport> bit_allocation;
  std::optional<OutlierFixReport> outlier_fix;
};

}  // namespace mqcalib
