// mqcalib/reconstruction/adaround_step.h: one AdaRound layer's state (V, Adam moments, buffers) and
// its iteration: reconstruction loss with W~(V) and its weight gradient (the fused kernel of
// reconstruction/layer_mse.h), backward to V, the rounding regularizer, Adam step. Objective and notation:
// reconstruction/adaround.h. Used by adaround_layer(), the tests and bench/adaround.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "reconstruction/adam.h"
#include "reconstruction/adaround.h"
#include "reconstruction/soft_weight.h"

namespace mqcalib {

class AdaRoundLayer {
 public:
  AdaRoundLayer(const LayerSpec& layer, const QParams& weight_qparams, const AdaRoundOptions& options);

  // Output shape of the layer for a batch of inputs; throws naming the layer on a mismatch.
  Shape output_shape(const Shape& input) const;

  // rec(W) of a batch for a given weight (no regularizer); x [B, ...], target [B, ...].
  double reconstruction_loss(ViewF32 x, ViewF32 target, const float* weight);
  // Objective at the current V for a batch, and its gradient into gv (size = weight count):
  // rec(W~(V)) + lambda * R(V, beta) when beta is given, rec alone otherwise.
  double loss_and_grad(ViewF32 x, ViewF32 target, std::optional<float> beta, float* gv);
  // One iteration t of `options.iters`: loss_and_grad with the schedule's beta, then an Adam step.
  double step(ViewF32 x, ViewF32 target, int t);

  std::vector<float>& v() { return v_; }
  const SoftWeight& soft_weight() const { return sw_; }

 private:
  LayerSpec layer_;
  AdaRoundOptions opt_;
  SoftWeight sw_;
  // loss_and_grad(), and with adam_step the Adam update of V fused into the same pass.
  double objective(ViewF32 x, ViewF32 target, std::optional<float> beta, float* gv, bool adam_step);

  std::vector<float> v_, gv_, w_soft_, g_w_, h_, dh_;  // h_, dh_: h(V), h'(V) of the current pass
  std::vector<double> reg_part_;                       // regularizer sum per chunk of V
  AdamF32 adam_;
};

}  // namespace mqcalib
