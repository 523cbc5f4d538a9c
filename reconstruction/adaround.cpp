// mqcalib/reconstruction/adaround.cpp: the layer-wise AdaRound loop (objective in adaround.h).
#include "reconstruction/adaround.h"

#include <algorithm>
#include <cstring>
#include <random>

#include "core/quantize.h"
#include "reconstruction/adaround_step.h"

namespace mqcalib {

namespace {

void check_options(const AdaRoundOptions& o, const std::string& name) {
  if (o.iters < 0 || o.batch < 1 || !(o.warmup >= 0.0f && o.warmup <= 1.0f) || !(o.lr > 0.0f) || !(o.lambda >= 0.0f) ||
      o.beta_start <= 0.0f || o.beta_end <= 0.0f)
    throw Error("AdaRound layer '" + name +
                "': invalid options (need iters >= 0, batch >= 1, 0 <= warmup <= 1, lr > 0, lambda >= 0, beta > 0)");
}

// Rows [b, e) of a [N, ...] view.
ViewF32 rows(const ViewF32& t, int64_t b, int64_t e) {
  Shape s = t.shape;
  const int64_t row = t.size() / std::max<int64_t>(1, s[0]);
  s[0] = e - b;
  return ViewF32{t.data + b * row, s};
}

// rec over all N samples, in consecutive slices of `batch`, as a mean over all channel-summed terms.
double full_loss(AdaRoundLayer& l, const ViewF32& x, const ViewF32& t, const float* w, int batch) {
  const int64_t N = x.shape[0];
  double s = 0.0;
  for (int64_t b = 0; b < N; b += batch) {
    const int64_t e = std::min<int64_t>(N, b + batch);
    s += l.reconstruction_loss(rows(x, b, e), rows(t, b, e), w) * static_cast<double>(e - b);
  }
  return N ? s / static_cast<double>(N) : 0.0;
}

// Copies the rows idx[k] of t into out (shape [idx.size(), ...]).
void gather(const ViewF32& t, const std::vector<int64_t>& idx, TensorF32& out) {
  Shape s = t.shape;
  s[0] = static_cast<int64_t>(idx.size());
  if (out.shape() != s) out = TensorF32(s);
  const int64_t row = t.size() / std::max<int64_t>(1, t.shape[0]);
  for (size_t k = 0; k < idx.size(); ++k)
    std::memcpy(out.data() + static_cast<int64_t>(k) * row, t.data + idx[k] * row,
                sizeof(float) * static_cast<size_t>(row));
}

}  // namespace

AdaRoundResult adaround_layer(const LayerSpec& layer, ViewF32 inputs, ViewF32 targets, const QParams& qp,
                              const AdaRoundOptions& opt, const AdaRoundProgressFn& progress) {
  check_options(opt, layer.name);
  AdaRoundLayer l(layer, qp, opt);
  if (inputs.rank() < 1 || inputs.shape[0] < 1)
    throw Error("AdaRound layer '" + layer.name + "': no cached inputs (shape " + shape_to_string(inputs.shape) + ")");
  const Shape ys = l.output_shape(inputs.shape);
  if (targets.shape != ys)
    throw Error("AdaRound layer '" + layer.name + "': targets have shape " + shape_to_string(targets.shape) +
                " but the layer maps inputs " + shape_to_string(inputs.shape) + " to " + shape_to_string(ys));
  const int64_t N = inputs.shape[0];

  AdaRoundResult r;
  r.weight = TensorF32(layer.weight.shape);
  fake_quantize_f32(layer.weight, qp, r.weight.data());
  r.loss_nearest = static_cast<float>(full_loss(l, inputs, targets, r.weight.data(), opt.batch));

  std::mt19937_64 rng(opt.seed);
  std::vector<int64_t> idx(static_cast<size_t>(opt.batch));
  TensorF32 xb, tb;
  for (int t = 0; t < opt.iters; ++t) {
    for (auto& i : idx) i = static_cast<int64_t>(rng() % static_cast<uint64_t>(N));
    gather(inputs, idx, xb);
    gather(targets, idx, tb);
    const double loss = l.step(xb, tb, t);
    if (progress && opt.progress_every > 0 && ((t + 1) % opt.progress_every == 0 || t + 1 == opt.iters))
      progress(t + 1, static_cast<float>(loss), l.soft_weight().soft_fraction(l.v().data()));
  }

  r.codes.resize(static_cast<size_t>(layer.weight.size()));
  l.soft_weight().hard(l.v().data(), r.codes.data(), r.weight.data());
  r.loss_adaround = static_cast<float>(full_loss(l, inputs, targets, r.weight.data(), opt.batch));
  r.soft_fraction = l.soft_weight().soft_fraction(l.v().data());
  r.iterations = opt.iters;
  return r;
}

}  // namespace mqcalib
