// mqcalib/src/pipeline/adaround_weights.h: layer-wise AdaRound over the whole planned model.
//
// For every planned weight, in graph order (issue 5, REFERENCE.md section 4 "asymmetric"
// reconstruction):
//   inputs  = the layer's input in the model as quantized so far: the layers before it already hold
//             their AdaRound weights; activation quantization is off (ranges are calibrated only
//             after every rounding is fixed, so they see the final weights);
//   targets = the FP (folded) model's output of the layer, after its fused activation (a single
//             consumer that is relu / relu6 / hardtanh / silu / hardswish);
// both cached over all calibration batches, then reconstruction/adaround.h optimises the rounding
// and the layer's weight is replaced by the hard-rounded AdaRound weight, on the grid chosen by
// quantize_weights(). Deterministic for a seed (each layer uses seed + its index) at any thread count.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "pipeline/quantized_model.h"
#include "reconstruction/adaround.h"

namespace mqcalib {

struct AdaRoundLayerReport {
  std::string layer;
  int bits = 0;
  float loss_nearest = 0;   // reconstruction MSE over the cached inputs with round-to-nearest weights
  float loss_adaround = 0;  // the same with the AdaRound weights
  float soft_fraction = 0;  // fraction of the rounding variables still soft at the end
  int iterations = 0;
  double seconds = 0;
};

// (layer, layer index, layer count, iteration, loss, soft fraction).
using AdaRoundPassProgress = std::function<void(const std::string&, size_t, size_t, int, float, float)>;

// Requires quantize_weights(m, ...) first (weight_params, weights on the nearest grid). `folded` is
// the FP graph m.graph was copied from.
std::vector<AdaRoundLayerReport> adaround_weights(QuantizedModel& m, const Graph& folded, const BatchSource& calib,
                                                  const AdaRoundOptions& options,
                                                  const AdaRoundPassProgress& progress = {});

}  // namespace mqcalib
