// mqcalib/reconstruction/adaround_step.cpp: one AdaRound iteration (objective in adaround.h).
#include "reconstruction/adaround_step.h"

#include <algorithm>
#include <string>

#include "core/parallel.h"
#include "reconstruction/layer_mse.h"
#include "reconstruction/round_regularizer.h"

namespace mqcalib {

namespace {

constexpr int64_t kVChunk = int64_t{1} << 12;  // entries of V per parallel chunk of the update pass

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
// entry); then, 8 entries at a time, dL/dV = dL/dW~ dW~/dV + lambda dR/dh h' (the regularizer's power
// as one vector exp and log) and, for a step, Adam's update, in fixed chunks whose regularizer sums
// are merged in chunk order.
double AdaRoundLayer::objective(ViewF32 x, ViewF32 target, std::optional<float> beta, float* gv, bool adam_step) {
  sw_.soft(v_.data(), w_soft_.data(), h_.data(), dh_.data());
  const double rec = layer_mse_f32(layer_, w_soft_.data(), x, target, g_w_.data());
  const int64_t n = static_cast<int64_t>(v_.size());
  const AdamF32::Step st = adam_step ? adam_.begin_step() : AdamF32::Step{};
  reg_part_.assign(static_cast<size_t>(num_chunks(n, kVChunk)), 0.0);
  const float lambda = opt_.lambda;
  float* v = v_.data();
  parallel_for_chunks(n, kVChunk, [&](int64_t b, int64_t e, int64_t k) {
    using namespace recon_detail;
    V8F32 r{};
    sw_.for_channel_runs(b, e, [&](size_t c, int64_t i0, int64_t i1) {
      for (int64_t i = i0; i < i1; i += 8) {
        const int64_t cnt = std::min<int64_t>(8, i1 - i);
        const V8F32 h = load_partial8_f32(h_.data() + i, cnt), dh = load_partial8_f32(dh_.data() + i, cnt);
        V8F32 g = sw_.grad8(c, i, cnt, h, dh, load_partial8_f32(g_w_.data() + i, cnt));
        if (beta) {
          V8F32 dr_dh;
          r += select8_f32(first_lanes8(cnt), round_regularizer_term8(h, *beta, dr_dh), V8F32{});
          g += lambda * dr_dh * dh;
        }
        store_partial8_f32(gv + i, g, cnt);
      }
    });
    if (adam_step)  // its own loop: no call inside, so it vectorizes
      for (int64_t i = b; i < e; ++i) adam_.update(i, v, gv[i], st);
    reg_part_[static_cast<size_t>(k)] = static_cast<double>(hsum8_f32(r));
  });
  double reg = 0.0;
  for (double r : reg_part_) reg += r;
  return beta ? rec + static_cast<double>(lambda) * reg : rec;
}

}  // namespace mqcalib
