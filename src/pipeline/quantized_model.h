// mqcalib/src/pipeline/quantized_model.h: the steps that turn a folded FP graph and a QuantPlan into
// a simulated quantized model, each a plain function:
//
//   quantize_weights      weight observer -> range -> choose_qparams -> fake-quantized weights
//   calibrate_activations run the graph *with quantized weights* (so activation ranges see the
//                         weight error, as MNN does) and feed every activation point's observer
//   quantize_biases       bias -> int32 at scale s_in * s_w[c] (what integer runtimes compute)
//   simulation_hook       fake-quantizes every activation point as the executor produces it
//
// The executor knows none of this: it only calls the hook (docs/STYLE.md).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "calibrators/observer.h"
#include "exec/executor.h"
#include "pipeline/quant_plan.h"

namespace mqcalib {

struct QuantizedModel {
  Graph graph;                        // folded graph with fake-quantized weights and int32-grid biases
  QuantPlan plan;
  std::vector<QParams> weight_params;  // aligned with plan.weights
  std::vector<Range> weight_ranges;
  std::vector<QParams> bias_params;    // aligned with plan.weights; empty scale when no bias / fp32 input
  std::vector<QParams> act_params;     // aligned with plan.activations
  std::vector<Range> act_ranges;       // the chosen observer's range (per point, before group union)
  std::vector<Range> act_minmax;       // plain min-max over the first 4 calibration batches (report only)
  std::vector<double> act_rms;         // root mean square over the same batches
  std::string w_observer, a_observer;
  std::vector<std::string> act_observers;
  // Aligned with plan.weights: integer codes of weights rounded other than to nearest (AdaRound),
  // weight's shape; empty for round-to-nearest weights.
  std::vector<std::vector<int32_t>> weight_codes;  // aligned with plan.activations: the observer each point used
};

// Progress callback: (phase, done, total).
using ProgressFn = std::function<void(const std::string&, int64_t, int64_t)>;

// Fills weight_params/weight_ranges and replaces each planned weight by its fake-quantized value.
void quantize_weights(QuantizedModel& m, const std::string& observer, const ObserverOptions& base);

// Calls next_batch(i, x) for i = 0, 1, ... until it returns false; fills act_params/act_ranges.
// The graph's own inputs are observed with `minmax` whatever `observer` is: they are preprocessed
// 8-bit images whose range is known exactly, and clipping a bounded, discrete input saves no
// resolution worth the saturation (KL put the Fashion-MNIST input at [-1.49, 1.49] of [-0.81, 2.02]).
using BatchSource = std::function<bool(int64_t, TensorF32&)>;
void calibrate_activations(QuantizedModel& m, const std::string& observer, const ObserverOptions& base,
                           const BatchSource& next_batch, const ProgressFn& progress = {});

// Puts every bias of a quantized layer whose input is quantized on the int32 grid of s_in * s_w[c].
void quantize_biases(QuantizedModel& m);

// The hook that fake-quantizes the planned activations. If `sqnr` is non-null it accumulates, per
// activation point, sum x^2 and sum (x - q(x))^2 (for the per-layer report).
struct SqnrAccumulator {
  std::vector<double> signal, noise;
  double db(size_t i) const;  // 10 log10(signal / noise); +inf when noise is 0
};
ValueHook simulation_hook(const QuantizedModel& m, SqnrAccumulator* sqnr = nullptr);

// SQNR in dB of `q` against `x` (both of n values).
double sqnr_db(const float* x, const float* q, int64_t n);

}  // namespace mqcalib
