// mqcalib/reconstruction/adaround_step.cpp: one AdaRound iteration (objective in adaround.h).
#include "reconstruction/adaround_step.h"

#include <algorithm>

#include "reconstruction/activation_backward.h"
#include "reconstruction/conv_backward.h"
#include "reconstruction/linear_backward.h"

namespace mqcalib {

namespace {

AdamParams adam_params(const AdaRoundOptions& o) {
  AdamParams p;
  p.lr = o.lr;
  return p;
}

void ensure_shape(TensorF32& t, const Shape& s) {
  if (t.shape() != s) t = TensorF32(s);
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
      adam_(static_cast<int64_t>(v_.size()), adam_params(options)) {
  const int want = layer.kind == LayerKind::Conv2d ? 4 : 2;
  if (layer.weight.rank() != want)
    throw Error("AdaRound layer '" + layer.name + "': weight must have rank " + std::to_string(want) + ", got " +
                shape_to_string(layer.weight.shape));
  out_channels_ = layer.weight.shape[0];
}

Shape AdaRoundLayer::output_shape(const Shape& x) const {
  if (layer_.kind == LayerKind::Conv2d) {
    try {
      return conv2d_output_shape(x, layer_.weight.shape, layer_.conv);
    } catch (const Error& e) {
      throw Error("AdaRound layer '" + layer_.name + "': " + e.what());
    }
  }
  if (x.size() != 2 || x[1] != layer_.weight.shape[1])
    throw Error("AdaRound layer '" + layer_.name + "': linear input must be [N, " +
                std::to_string(layer_.weight.shape[1]) + "], got " + shape_to_string(x));
  return {x[0], out_channels_};
}

void AdaRoundLayer::forward(ViewF32 x, const float* weight) {
  const Shape ys = output_shape(x.shape);
  ensure_shape(z_, ys);
  const ViewF32 w{weight, layer_.weight.shape};
  if (layer_.kind == LayerKind::Conv2d)
    conv2d_nchw_f32(x, w, layer_.bias, layer_.conv, z_.mut_view());
  else
    linear_f32(x, w, layer_.bias, z_.mut_view());
  if (layer_.activation) {
    ensure_shape(y_, ys);
    activation_f32(*layer_.activation, z_, y_.mut_view(), layer_.activation_params);
  }
}

double AdaRoundLayer::reconstruction_loss(ViewF32 x, ViewF32 target, const float* weight) {
  forward(x, weight);
  const TensorF32& y = layer_.activation ? y_ : z_;
  if (target.shape != y.shape())
    throw Error("AdaRound layer '" + layer_.name + "': target has shape " + shape_to_string(target.shape) +
                " but the layer output is " + shape_to_string(y.shape()));
  double s = 0.0;
  for (int64_t i = 0; i < y.size(); ++i) {
    const double d = static_cast<double>(y[i]) - target.data[i];
    s += d * d;
  }
  return s / static_cast<double>(y.size() / std::max<int64_t>(1, out_channels_));
}

double AdaRoundLayer::loss_and_grad(ViewF32 x, ViewF32 target, std::optional<float> beta, float* gv) {
  sw_.soft(v_.data(), w_soft_.data());
  double loss = reconstruction_loss(x, target, w_soft_.data());
  const TensorF32& y = layer_.activation ? y_ : z_;
  // d rec / dy = 2 (y - target) / M, M = elements per channel (N * positions).
  const float inv_m = 2.0f / static_cast<float>(y.size() / std::max<int64_t>(1, out_channels_));
  ensure_shape(gy_, y.shape());
  for (int64_t i = 0; i < y.size(); ++i) gy_[i] = (y[i] - target.data[i]) * inv_m;
  ViewF32 gz = gy_;
  if (layer_.activation) {
    ensure_shape(gz_, y.shape());
    activation_backward_f32(*layer_.activation, z_, gy_, gz_.mut_view(), layer_.activation_params);
    gz = gz_;
  }
  const MutViewF32 gw{g_w_.data(), layer_.weight.shape};
  if (layer_.kind == LayerKind::Conv2d)
    conv2d_backward_weight_nchw_f32(x, gz, layer_.conv, gw, nullptr);
  else
    linear_backward_weight_f32(x, gz, gw, nullptr);
  sw_.backward(v_.data(), g_w_.data(), gv);
  if (beta) {
    const int64_t n = static_cast<int64_t>(v_.size());
    loss += static_cast<double>(opt_.lambda) * round_regularizer_grad_add(v_.data(), n, *beta, opt_.lambda, gv);
  }
  return loss;
}

double AdaRoundLayer::step(ViewF32 x, ViewF32 target, int t) {
  std::optional<float> beta;
  if (round_regularizer_active(t, opt_.iters, opt_.warmup))
    beta = round_regularizer_beta(t, opt_.iters, opt_.warmup, opt_.beta_start, opt_.beta_end, opt_.beta_schedule);
  const double loss = loss_and_grad(x, target, beta, gv_.data());
  adam_.step(v_.data(), gv_.data());
  return loss;
}

}  // namespace mqcalib
