// mqcalib/src/export/report_sections.h: the rows of the report sections that show where accuracy goes
// (issue 16), filled by the pipeline (pipeline/report_detail.h, sensitivity.h, bit_allocation.h,
// outlier_fix.h) and written by report.json (the small ones) and report.html (all of them).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace mqcalib {

// The range one observer would choose for an activation, on the samples of its histogram.
struct ObserverRange {
  std::string observer;
  float min = 0, max = 0;
};

// An activation's distribution as the run's observer saw it (weights quantized, activations FP).
struct ActivationHistogram {
  std::string tensor;
  int64_t samples = 0;                      // calibration samples counted
  float lo = 0, hi = 0;                     // the bins cover [lo, hi] (the observed min and max) in equal steps
  std::vector<int64_t> counts;              // values per bin
  std::string observer;                     // the run's observer
  float clip_min = 0, clip_max = 0;         // the range the run kept (over all calibration samples)
  std::vector<ObserverRange> alternatives;  // every registered observer on the counted samples
};

// Per-output-channel ranges of a folded FP weight, with the channels that set a per-tensor grid.
struct ChannelRanges {
  std::string layer;
  std::vector<float> min, max;
  std::vector<int64_t> outlier_channels;  // range above kOutlierChannelRatio x the median channel's
  bool per_channel = false;               // the backend quantizes this weight per channel
};

// One unit quantized alone (the rest FP32) at (w_bits, a_bits): its effect on the logits.
struct SensitivityRow {
  std::string unit;                 // the layer, or the block's name
  std::vector<std::string> layers;  // its weighted layers
  int w_bits = 0, a_bits = 0;
  double nsr = 0;              // sum (z_fp - z_q)^2 / sum z_fp^2 over the logits (noise-to-signal, linear)
  double sqnr_db = 0;          // -10 log10(nsr); +inf when exact
  double kl = 0;               // mean KL(softmax(z_fp) || softmax(z_q)) per sample, nats
  std::optional<double> top1;  // quantized top-1 on the evaluation data (percent), when evaluated
};

struct SensitivityReport {
  std::string granularity;  // "layer" | "block"
  int64_t samples = 0;      // calibration samples the logits were compared on
  std::string metric;       // what the ranking and the bit allocation minimise: "nsr" | "kl"
  std::vector<SensitivityRow> rows;
  std::optional<double> fp_top1;  // FP32 top-1 on the same evaluation data
  int64_t eval_samples = 0;
  std::optional<double> spearman;  // rank correlation of `metric` with the top-1 drop (when evaluated)
};

// The bit allocation (--bits-budget): per layer its chosen bits.
struct LayerBits {
  std::string layer;
  int64_t params = 0;  // weight elements
  int w_bits = 0, a_bits = 0;
  bool fixed = false;      // not chosen: set by --layer-bits / --first-last-8bit
  double sensitivity = 0;  // the metric at the chosen bits
};

struct BitAllocationReport {
  std::string budget;         // as given, e.g. "3" (average weight bits) or "70KB"
  int64_t budget_bits = 0;    // the weight-bit budget it stands for
  int64_t used_bits = 0;      // sum params x w_bits of the choice
  double average_w_bits = 0;  // used_bits / weight elements
  std::vector<int> w_bits_set, a_bits_set;
  double objective = 0;           // summed sensitivity of the choice
  std::string solver;             // how it was found
  std::vector<LayerBits> layers;  // plan order
};

// --fix-outliers: what was applied to which layer, and the run before and after.
struct OutlierAction {
  std::string layer;
  std::vector<std::string> kinds;  // the findings that named it
  std::string action;              // "fp32" | "8 bits" | "equalize" | "none: <why>"
};

struct OutlierFixReport {
  std::vector<OutlierAction> actions;
  bool evaluated = false;
  double top1_before = 0, top1_after = 0;  // quantized top-1, percent (when evaluated)
  // The model's output (logits) against the FP model's on the first calibration samples, dB.
  double logits_sqnr_before_db = 0, logits_sqnr_after_db = 0;
};

}  // namespace mqcalib
