// mqcalib/reconstruction/synthesis.cpp: see synthesis.h.
#include "reconstruction/synthesis.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>

#include "core/error.h"
#include "reconstruction/adam.h"
#include "reconstruction/synthesis_loss.h"
#include "reconstruction/unit.h"
#include "reconstruction/unit_runner.h"

namespace mqcalib {

namespace {

constexpr double kPlateauThreshold = 1e-4;  // torch ReduceLROnPlateau: relative improvement that counts
constexpr float kPlateauFactor = 0.1f;      // ... and the lr factor
constexpr double kTwoPi = 6.283185307179586;

// torch.optim.lr_scheduler.ReduceLROnPlateau(mode min, factor 0.1, threshold 1e-4 rel, cooldown 0).
struct Plateau {
  float lr, min_lr;
  int patience;
  double best = std::numeric_limits<double>::infinity();
  int bad = 0;
  void step(double loss) {
    if (loss < best * (1.0 - kPlateauThreshold)) {
      best = loss;
      bad = 0;
    } else if (++bad > patience) {
      lr = std::max(lr * kPlateauFactor, min_lr);
      bad = 0;
    }
  }
};

}  // namespace

void validate(const SynthesisOptions& o) {
  if (o.samples <= 0) throw Error("--synthesize must be positive, got " + std::to_string(o.samples));
  if (o.iterations <= 0) throw Error("--synth-iters must be positive, got " + std::to_string(o.iterations));
  if (o.batch <= 0 || o.batch > 4096) throw Error("--synth-batch must be in 1..4096, got " + std::to_string(o.batch));
  if (!(o.lr > 0.0f) || !(o.min_lr > 0.0f)) throw Error("synthesis: the learning rates must be positive");
  if (o.plateau_patience < 0) throw Error("synthesis: the plateau patience must be >= 0");
  if (!(o.smoothness >= 0.0f) || !std::isfinite(o.smoothness))
    throw Error("--synth-smoothness must be a finite value >= 0");
  if (!(o.target_weight >= 0.0f) || !std::isfinite(o.target_weight))
    throw Error("synthesis: the target weight must be a finite value >= 0");
}

std::vector<BnStatsTarget> bn_stats_targets(const Graph& g) {
  std::vector<BnStatsTarget> out;
  for (const Node& n : g.nodes()) {
    if (n.kind != OpKind::BatchNorm) continue;
    const Shape& s = g.value(n.inputs.at(0)).shape;
    if (s.size() < 3 || numel(Shape(s.begin() + 2, s.end())) < 2) continue;  // no spatial variance
    BnStatsTarget t;
    t.input = n.inputs[0];
    t.bn = n.name;
    for (int64_t c = 0; c < n.params.running_mean.size(); ++c) {
      t.mean.push_back(n.params.running_mean.data()[c]);
      t.std.push_back(static_cast<float>(std::sqrt(static_cast<double>(n.params.running_var.data()[c]) + kZeroQEps)));
    }
    out.push_back(std::move(t));
  }
  return out;
}

TensorF32 synthesis_initial_images(const Shape& shape, uint64_t seed, int64_t b) {
  std::seed_seq seq{static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32), static_cast<uint32_t>(b),
                    static_cast<uint32_t>(static_cast<uint64_t>(b) >> 32)};
  std::mt19937_64 rng(seq);
  // Box-Muller on 53-bit uniforms (std::normal_distribution's algorithm is the library's choice).
  auto uniform = [&rng] { return (static_cast<double>(rng() >> 11) + 0.5) / 9007199254740992.0; };
  TensorF32 x(shape);
  float* p = x.data();
  for (int64_t i = 0; i < x.size(); i += 2) {
    const double r = std::sqrt(-2.0 * std::log(uniform())), t = kTwoPi * uniform();
    p[i] = static_cast<float>(r * std::cos(t));
    if (i + 1 < x.size()) p[i + 1] = static_cast<float>(r * std::sin(t));
  }
  return x;
}

struct SynthesisBatch::State {
  SynthesisOptions o;
  std::vector<BnStatsTarget> targets;
  UnitRunner runner;
  TensorF32 x;
  std::vector<int64_t> classes;  // image index in the whole set
  std::vector<float> zero, one;
  AdamF32 adam;
  Plateau plateau;
  std::vector<float> grad;
  std::vector<TensorF32> seed_grads;  // dL/d(BN input) per target, kept from iteration to iteration
  State(const Graph& g, TensorF32 images, int64_t first, const SynthesisOptions& opt)
      : o(opt),
        targets(bn_stats_targets(g)),
        runner(g, whole_graph_unit(g)),
        x(std::move(images)),
        zero(static_cast<size_t>(x.dim(1)), 0.0f),
        one(static_cast<size_t>(x.dim(1)), 1.0f),
        adam(x.size(), AdamParams{opt.lr}),  // betas and eps: torch.optim.Adam's defaults, as ZeroQ
        plateau{opt.lr, opt.min_lr, opt.plateau_patience} {
    if (targets.empty()) throw Error("synthesis: the model has no batch-norm layer on a spatial input to match");
    if (runner.unit().inputs.size() != 1) throw Error("synthesis: the model must have exactly one input");
    for (int64_t i = 0; i < x.dim(0); ++i) classes.push_back(first + i);
  }
};

SynthesisBatch::SynthesisBatch(const Graph& g, TensorF32 images, int64_t first_index, const SynthesisOptions& o)
    : s_(std::make_unique<State>(g, std::move(images), first_index, o)) {}
SynthesisBatch::~SynthesisBatch() = default;
const TensorF32& SynthesisBatch::images() const { return s_->x; }
float SynthesisBatch::lr() const { return s_->plateau.lr; }

SynthesisLoss SynthesisBatch::loss_and_grad(std::vector<float>& g) {
  State& s = *s_;
  s.runner.forward({s.x.view()}, UnitRunOptions{});
  std::vector<TensorF32>& seeds_grad = s.seed_grads;
  seeds_grad.resize(s.targets.size());
  std::vector<GradSeed> seeds;
  SynthesisLoss l;
  for (size_t k = 0; k < s.targets.size(); ++k) {
    const BnStatsTarget& t = s.targets[k];
    const ViewF32 v = s.runner.value(t.input);
    if (seeds_grad[k].shape() != v.shape)
      seeds_grad[k] = TensorF32(v.shape, 0.0f);
    else
      std::fill(seeds_grad[k].vec().begin(), seeds_grad[k].vec().end(), 0.0f);
    l.bn += bn_stats_loss_f32(v, t.mean.data(), t.std.data(), kZeroQEps, 1.0f, seeds_grad[k].data());
    seeds.push_back({t.input, seeds_grad[k].view()});
  }
  double extra = 0.0;
  TensorF32 logit_grad;
  if (s.o.target_classes && s.o.target_weight > 0.0f) {
    const ViewF32 z = s.runner.output(0);
    if (z.shape.size() != 2) throw Error("synthesis: --synth-targets needs [N, classes] logits");
    std::vector<int64_t> cls;
    for (int64_t i : s.classes) cls.push_back(i % z.shape[1]);
    logit_grad = TensorF32(z.shape, 0.0f);
    extra += s.o.target_weight * cross_entropy_f32(z, cls.data(), s.o.target_weight, logit_grad.data());
    seeds.push_back({s.runner.unit().outputs.at(0), logit_grad.view()});
  }
  s.runner.backward(seeds, true);
  const ViewF32 gi = s.runner.input_grad(0);
  g.assign(gi.data, gi.data + gi.size());
  l.prior = bn_stats_loss_f32(s.x.view(), s.zero.data(), s.one.data(), kZeroQEps, 1.0f, g.data());
  if (s.o.smoothness > 0.0f) extra += s.o.smoothness * total_variation_f32(s.x.view(), s.o.smoothness, g.data());
  l.total = l.bn + l.prior + extra;
  return l;
}

SynthesisLoss SynthesisBatch::step() {
  State& s = *s_;
  const SynthesisLoss l = loss_and_grad(s.grad);
  s.adam.set_lr(s.plateau.lr);
  s.adam.step(s.x.data(), s.grad.data());
  s.plateau.step(l.total);
  return l;
}

SynthesisResult synthesize_inputs(const Graph& g, const Shape& sample_shape, const SynthesisOptions& o,
                                  const SynthesisProgress& progress) {
  validate(o);
  if (sample_shape.size() != 3)
    throw Error("synthesis: the sample shape must be [C, H, W], got " + shape_to_string(sample_shape));
  SynthesisResult r;
  r.bn_layers = static_cast<int64_t>(bn_stats_targets(g).size());
  Shape all{o.samples};
  all.insert(all.end(), sample_shape.begin(), sample_shape.end());
  r.images = TensorF32(all);
  const int64_t batches = (o.samples + o.batch - 1) / o.batch, per = numel(sample_shape);
  for (int64_t b = 0; b < batches; ++b) {
    const int64_t begin = b * o.batch, n = std::min(o.batch, o.samples - begin);
    Shape bs{n};
    bs.insert(bs.end(), sample_shape.begin(), sample_shape.end());
    SynthesisBatch batch(g, synthesis_initial_images(bs, o.seed, b), begin, o);
    for (int it = 0; it < o.iterations; ++it) {
      const SynthesisLoss l = batch.step();
      if (it == 0) r.initial_loss.push_back(l.bn);
      if (it + 1 == o.iterations) r.final_loss.push_back(l.bn);
      if (progress) progress(b, batches, it + 1, l);
    }
    std::copy(batch.images().data(), batch.images().data() + n * per, r.images.data() + begin * per);
  }
  return r;
}

}  // namespace mqcalib
