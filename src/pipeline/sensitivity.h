// mqcalib/src/pipeline/sensitivity.h: per-layer (or per-block) sensitivity: one unit quantized at a
// time, the rest of the model in FP32, and what that does to the logits.
//
// For a unit (a planned conv / linear, or the planned layers of a block of graph/blocks.h) and a bit
// option (w, a): the unit's weights are quantized at w bits (the run's weight observer and scheme,
// round to nearest) and each of its layers' input activations at a bits (the run's activation
// observer, over every calibration sample, on the FP model); every other weight and activation
// stays FP32 (an input shared with a layer outside the unit is quantized for every reader: the hook
// quantizes a value, not an edge). On the first `samples` calibration samples, with z the FP logits
// and z' the unit-quantized ones:
//   nsr      = sum (z - z')^2 / sum z^2          (noise-to-signal ratio, additive for independent noise)
//   sqnr_db  = -10 log10(nsr)
//   kl       = mean over samples of sum_k p_k (log p_k - log p'_k),  p = softmax(z), p' = softmax(z')
// With evaluation data, also the unit-quantized model's top-1 (the FP predictions computed once).
// Ranking: by the chosen metric, most sensitive first.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "export/run_report.h"
#include "graph/ir.h"
#include "pipeline/evaluate.h"
#include "pipeline/observe.h"
#include "pipeline/quant_plan.h"
#include "pipeline/sample_store.h"

namespace mqcalib {

enum class SensitivityUnit { Layer, Block };
SensitivityUnit parse_sensitivity_unit(const std::string& s);  // "layer" | "block"; Error naming --unit
std::string to_string(SensitivityUnit u);

enum class SensitivityMetric { Nsr, Kl };
SensitivityMetric parse_sensitivity_metric(const std::string& s);  // "nsr" | "kl"; Error naming --metric
std::string to_string(SensitivityMetric m);
double metric_of(const SensitivityRow& r, SensitivityMetric m);

// Calibration samples the logits are compared on by default.
constexpr int64_t kSensitivitySamples = 256;

struct BitOption {
  int w_bits = 8, a_bits = 8;
};

// A unit: its name, the indices of its layers in plan.weights, and the bit options it is measured at
// (empty: the request's).
struct SensitivityUnitDef {
  std::string name;
  std::vector<size_t> weights;
  std::vector<BitOption> options;
};

// Every planned layer alone, or the planned layers of each block (blocks without one are left out).
std::vector<SensitivityUnitDef> sensitivity_units(const Graph& folded, const QuantPlan& plan, SensitivityUnit unit);

struct SensitivityInputs {
  const Graph& folded;
  const QuantPlan& plan;  // placement and schemes (bits replaced by each option's)
  const SampleStore& calib;
  const ObserverChoice& w_observer;
  const ObserverChoice& a_observer;
};

struct SensitivityRequest {
  std::vector<SensitivityUnitDef> units;
  std::vector<BitOption> options;  // every unit without options of its own at each option
  int64_t samples = kSensitivitySamples;
  // Evaluation data for top-1 (optional): `labeled` must yield the same batches every call.
  const LabeledBatchSource* eval = nullptr;
  std::string eval_labels_name;
};

// One row per (unit, option), units in request order, options in order within a unit.
// fp_top1 / eval_samples are set when evaluated. Progress: phase "sensitivity", done = rows measured.
struct SensitivityResult {
  std::vector<SensitivityRow> rows;
  int64_t samples = 0;
  std::optional<double> fp_top1;
  int64_t eval_samples = 0;
};
SensitivityResult measure_sensitivity(const SensitivityInputs& in, const SensitivityRequest& request,
                                      const ProgressFn& progress = {});

// What the pipeline's sensitivity stage measures (QuantizationPipeline::sensitivity).
struct SensitivityConfig {
  bool enabled = false;  // quantize --sensitivity: measure for the report
  SensitivityUnit unit = SensitivityUnit::Layer;
  SensitivityMetric metric = SensitivityMetric::Kl;
  int64_t samples = kSensitivitySamples;
  std::vector<BitOption> options;  // empty: each unit at its plan bits (the widest of its layers)
  bool evaluate = false;           // top-1 of every row on the pipeline's evaluation data
};

// Spearman's rank correlation of x and y (average ranks for ties); 0 when either is constant.
// Throws Error when the sizes differ or are below 2.
double spearman_rank_correlation(const std::vector<double>& x, const std::vector<double>& y);

// The report section: rows sorted by `metric` (most sensitive first), with the Spearman correlation of
// the metric and the top-1 drop when every row was evaluated.
SensitivityReport sensitivity_report(SensitivityResult result, SensitivityUnit unit, SensitivityMetric metric);

}  // namespace mqcalib
