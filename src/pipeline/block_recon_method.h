// mqcalib/src/pipeline/block_recon_method.h: BRECQ and QDrop as reconstruction methods of the
// pipeline (reconstruct.h), over the units of reconstruction/unit.h (granularity layer | block |
// stage | network, block by default) with reconstruction/model_reconstruct.h.
//
// The plan becomes the method's problem: every planned weight (its observed grid), every planned
// activation (its observed params; power-of-two when the backend's scheme says so; the plan's
// shared-scale group). Both methods run after observe_activations (needs_activation_params):
//   brecq  stage 1 rounds every unit's weights with activation quantization off; the pipeline's own
//          observation then re-runs on the rounded weights (ReconstructInputs::observe), and stage 2
//          learns the steps of every unit with those as the start;
//   qdrop  rounding and steps jointly per unit, activation quantization on with QDrop's drop,
//          starting from the observation on round-to-nearest weights.
// Results: WeightQuant::codes for every planned weight; ActQuant::params of learned steps with
// learned = true (every other point keeps the last observation's params). Deterministic for a seed.
#pragma once

#include "pipeline/reconstruct.h"
#include "reconstruction/unit_methods.h"

namespace mqcalib {

class BlockReconMethod : public ReconstructionMethod {
 public:
  explicit BlockReconMethod(ReconMethod m) : method_(m) {}
  std::string_view name() const override { return to_string(method_); }
  bool needs_activation_params() const override { return true; }
  std::vector<UnitReport> run(const ReconstructInputs& in, QuantState& state) const override;

 private:
  ReconMethod method_;
};

}  // namespace mqcalib
