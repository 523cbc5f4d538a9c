// mqcalib/src/pipeline/transform_stage.h: the weight-transforming stages of DFQ (Nagel et al. 2019;
// docs/data_free.md), with or without data:
//
//   equalize_model          after fold: cross-layer equalization (graph/equalize.h), then high-bias
//                           absorption (graph/high_bias.h) where the first layer carries BN statistics.
//                           A copy of the folded model; its weight statistics recomputed (the outlier
//                           findings read the weights that are quantized).
//   correct_biases          after the weights are quantized (observe weights, reconstruct), before the
//                           activations are observed:
//     analytic              no data: E[x] of each layer's input from the BN-statistics model
//                           (graph/bias_correction.h)
//     empirical             on the calibration samples: layer by layer in graph order, the per-channel
//                           mean of (quantized-weight output - FP output), both over every sample, with
//                           the corrections of the layers before applied, subtracted from the bias. The
//                           FP reference is the graph as it stands before any correction; activations are
//                           float on both sides (the correction is for the weight error).
// Every stage changes FP weights or biases: the record carries them (QuantRecord::float_weights).
#pragma once

#include <string>
#include <vector>

#include "graph/bias_correction.h"
#include "graph/bn_ranges.h"
#include "graph/equalize.h"
#include "graph/high_bias.h"
#include "pipeline/model_stage.h"
#include "pipeline/quant_state.h"
#include "pipeline/sample_store.h"

namespace mqcalib {

enum class BiasCorrectionMode { None, Analytic, Empirical };
std::string_view to_string(BiasCorrectionMode m);  // "none", "analytic", "empirical"

struct TransformOptions {
  bool equalize = false;          // --equalize
  EqualizeOptions equalization;   // relu6 policy (--equalize-relu6), sweeps
  double high_bias_sigmas = 3.0;  // absorption's c = max(0, mean - n std) (DFQ: 3); 0: no absorption
  bool bias_correction = false;   // --bias-correction (analytic without data, empirical with)
};

struct TransformReport {
  EqualizeReport equalization;  // no pairs when not equalized
  std::vector<AbsorbedBias> absorbed;
  BiasCorrectionMode bias_correction = BiasCorrectionMode::None;
  std::vector<BiasCorrection> corrections;  // one per quantized layer (skipped ones with the reason)
};

// The folded model with equalization and absorption applied (the model itself when o.equalize is off).
FoldedModel equalize_model(const FoldedModel& folded, const TransformOptions& o, TransformReport& report);

// Analytic bias correction of `g` for the quantized weights of `state` (aligned with `plan`): the BN
// model from `inputs` (the graph input's known range) with `sigmas`.
std::vector<BiasCorrection> correct_biases_analytic(Graph& g, const QuantState& state,
                                                    const std::vector<InputRange>& inputs, double sigmas);

// Empirical bias correction of `g` on every sample of `calib` (see above). Progress "bias correction"
// per layer.
std::vector<BiasCorrection> correct_biases_empirical(Graph& g, const QuantState& state, const SampleStore& calib,
                                                     const ProgressFn& progress = {});

}  // namespace mqcalib
