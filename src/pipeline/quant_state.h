// mqcalib/src/pipeline/quant_state.h: the quantization of every planned point, as the stages fill it
// in (one record per point, in plan order), before the record stage turns it into the QuantRecord
// that export, evaluation and the report read (export/quant_record.h).
//
//   observe_weights          -> WeightQuant.{observer, range, params}
//   a reconstruction method  -> WeightQuant.codes (non-nearest rounding), ActQuant.params (learned steps)
//   observe_activations      -> ActQuant.{observer, range, params, stats}
//   quantize_biases          -> WeightQuant.bias
// Invariants: weights[i].point == plan.weights[i] and activations[i].point == plan.activations[i];
// a non-empty `codes` has the weight's element count and lies in [params.qmin, params.qmax].
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/qscheme.h"
#include "pipeline/quant_plan.h"

namespace mqcalib {

// Report statistics of an activation (min, max, RMS over the first kActStatsBatches calibration
// batches): they feed the outlier findings and report.json, never the parameters.
struct ActStats {
  float min = 0.0f, max = 0.0f;
  double rms = 0.0;
};

struct WeightQuant {
  WeightQuantPoint point;
  std::string observer;        // the weight observer's name
  Range range;                 // the observer's range (per channel or per tensor)
  QParams params;              // choose_qparams(point.scheme, range)
  std::vector<int32_t> codes;  // integer codes of a non-nearest rounding (AdaRound...), weight's shape; empty: nearest
  QParams bias;                // int32 grid of s_in * s_w; empty scale: no bias, or the input stays FP32
};

struct ActQuant {
  ActQuantPoint point;
  std::string observer;  // the activation observer (minmax for graph inputs)
  Range range;           // the observer's own range, before a shared-scale group's union
  QParams params;        // what the simulation uses
  ActStats stats;
  bool learned = false;  // params.scale learned by a reconstruction method, not chosen from `range`
};

struct QuantState {
  std::vector<WeightQuant> weights;   // aligned with plan.weights
  std::vector<ActQuant> activations;  // aligned with plan.activations (empty before observe_activations)
};

}  // namespace mqcalib
