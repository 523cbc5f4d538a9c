// mqcalib/include/mqcalib/sensitivity.h: `mqcalib sensitivity` as a library call: each layer (or
// block) quantized alone with the rest of the model in FP32, ranked by what it does to the logits on
// the calibration data (and to top-1 on evaluation data when given).
//
//   mqcalib::SensitivityOptions s;
//   s.run = quantize_options;  // model, calib, backend, observers, skips, eval (out_dir left empty)
//   s.w_bits = {2};            // every layer at W2 (activations at the backend's bits)
//   mqcalib::SensitivitySummary r = mqcalib::sensitivity(s);
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "mqcalib/mqcalib.h"

namespace mqcalib {

struct SensitivityOptions {
  QuantizeOptions run;         // what is quantized and how; run.eval gives top-1 per row; out_dir must be empty
  std::string unit = "layer";  // layer | block (graph/blocks.h)
  std::vector<int> w_bits;     // each unit at each of these weight bits; empty (with a_bits): the plan's
  std::vector<int> a_bits;     // ... and these input bits; empty: the backend's (or the plan's)
  std::string metric = "kl";  // kl | nsr: the ranking (docs/report.md)
  int64_t samples = 256;       // calibration samples the logits are compared on
  std::string json_path;       // written when set: {model, backend, ..., "sensitivity": {...}} (report.json's schema)
  std::string html_path;       // written when set: report.html with the sensitivity section
};

struct SensitivityRowSummary {
  std::string unit;
  std::vector<std::string> layers;
  int w_bits = 0, a_bits = 0;
  double nsr = 0, sqnr_db = 0, kl = 0;
  std::optional<double> top1;
};

struct SensitivitySummary {
  std::string metric;
  int64_t samples = 0;
  std::vector<SensitivityRowSummary> rows;  // most sensitive first
  std::optional<double> fp_top1;
  int64_t eval_samples = 0;
  std::optional<double> spearman;  // rank correlation of the metric with the top-1 drop (when evaluated)
  std::vector<std::string> files;  // written
};

MQCALIB_API SensitivitySummary sensitivity(const SensitivityOptions& options);

}  // namespace mqcalib
