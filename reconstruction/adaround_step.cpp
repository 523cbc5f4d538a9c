// mqcalib/reconstruction/adaround_step.cpp: one AdaRound iteration (objective in adaround.h).
#include "reconstruction/adaround_step.h"

#include <algorithm>
#include <string>

#include "core/parallel.h"
#include "reconstruction/layer_mse.h"
#include "reconstruction/round_regularizer.h"
#include "reconstruction/rounding_update.h"

namespace mqcalib {

namespace {

AdamParams adam_params(const AdaRoundOptions& o) {
  AdamParams p;
  p.lr = o.lr;
  return p;
}

}  // namespace

AdaRoundLayer::AdaRoundLayer(const LayerSpec& layer, const QParams& qp, const AdaRoundOptions& options)
    : layer_(layer),
      opt_(options),
      sw_(layer.weight, qp, layer.name + ".weight"),
      v_(sw_.initial_v()),
      gv_(v_.size()),
      w_soft_(v_.size()),
      g_w_(v_.size()),
      h_(v_.size()),
      dh_(v_.size()),
      adam_(static_cast<int64_t>(v_.size()), adam_params(options)) {
  const int want = layer.kind == LayerKind::Conv2d ? 4 : 2;
  if (layer.weight.rank() != want)
    throw Error("AdaRound layer '" + layer.name + "': weight must have rank " + std::to_string(want) + ", got " +
                shape_to_string(layer.weight.shape));
}

Shape AdaRoundLayer::output_shape(const Shape& x) const { return layer_output_shape(layer_, x); }

double AdaRoundLayer::reconstruction_loss(ViewF32 x, ViewF32 target, const float* weight) {
  return layer_mse_f32(layer_, weight, x, target, nullptr);
}

double AdaRoundLayer::loss_and_grad(ViewF32 x, ViewF32 target, std::optional<float> beta, float* gv) {
  return objective(x, target, beta, gv, false);
}

double AdaRoundLayer::step(ViewF32 x, ViewF32 target, int t) {
  std::optional<float> beta;
  if (round_regularizer_active(t, opt_.iters, opt_.warmup))
    beta = round_regularizer_beta(t, opt_.iters, opt_.warmup, opt_.beta_start, opt_.beta_end, opt_.beta_schedule);
  return objective(x, target, beta, gv_.data(), true);
}

// Two passes over V around the fused layer kernel: soft() writes W~, h and h' (one vector exp per
// entry); then reconstruction/rounding_update.h forms dL/dV, the regularizer and, for a step, Adam's update.
double AdaRoundLayer::objective(ViewF32 x, ViewF32 target, std::optional<float> beta, float* gv, bool adam_step) {
  sw_.soft(v_.data(), w_soft_.data(), h_.data(), dh_.data());
  const double rec = layer_mse_f32(layer_, w_soft_.data(), x, target, g_w_.data());
  const double reg = rounding_update_f32(sw_, h_.data(), dh_.data(), g_w_.data(), beta, opt_.lambda, gv,
                                         adam_step ? &adam_ : nullptr, v_.data(), reg_part_);
  return beta ? rec + static_cast<double>(opt_.lambda) * reg : rec;
}

}  // namespace mqcalib
