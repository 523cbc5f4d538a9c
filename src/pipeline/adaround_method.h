// mqcalib/src/pipeline/adaround_method.h: layer-wise AdaRound over the whole planned model.
//
// For every planned weight, in graph order (REFERENCE.md section 4, "asymmetric" reconstruction):
//   inputs  = the layer's input in the model as quantized so far: the layers before it already hold
//             their AdaRound weights; activation quantization is off (ranges are observed after every
//             rounding is fixed, so they see the final weights);
//   targets = the FP (folded) model's output of the layer, after its fused activation (a single
//             consumer that is relu / relu6 / hardtanh / silu / hardswish), computed once per run for
//             every layer in one FP pass over the sample store, kept in an ActivationCache (RAM up to
//             ReconstructOptions::cache_budget_bytes, spilled to disk beyond);
// then reconstruction/adaround.h optimises the rounding on the grid observe_weights chose, and the
// layer's codes go to WeightQuant::codes. Deterministic for a seed (each layer uses seed + its index)
// at any thread count.
#pragma once

#include "pipeline/reconstruct.h"

namespace mqcalib {

class AdaRoundMethod : public ReconstructionMethod {
 public:
  std::string_view name() const override { return "adaround"; }
  std::vector<UnitReport> run(const ReconstructInputs& in, QuantState& state) const override;
};

}  // namespace mqcalib
