// mqcalib/reconstruction/unit_train.cpp: one unit's optimisation loop (unit_train.h).
#include "reconstruction/unit_train.h"

#include <chrono>
#include <cmath>
#include <random>

#include "core/parallel.h"
#include "reconstruction/adam.h"
#include "reconstruction/lsq_fake_quant.h"
#include "reconstruction/recon_loss.h"
#include "reconstruction/round_regularizer.h"
#include "reconstruction/rounding_update.h"

namespace mqcalib {

namespace {

constexpr double kPi = 3.14159265358979323846;

// Rows idx (or the consecutive rows [idx[0], idx[0] + n) when n > 0) of value v into t.
void gather(const ActivationCache& c, ValueId v, const std::vector<int64_t>& idx, TensorF32& t) {
  Shape s{static_cast<int64_t>(idx.size())};
  const Shape& ss = c.sample_shape(v);
  s.insert(s.end(), ss.begin(), ss.end());
  if (t.shape() != s) t = TensorF32(s);
  const int64_t row = numel(ss);
  for (size_t k = 0; k < idx.size(); ++k) c.read(v, idx[k], 1, t.data() + static_cast<int64_t>(k) * row);
}

struct Batch {
  std::vector<TensorF32> in, fp_in, target, weight, grad;
};

uint64_t mix(uint64_t a, uint64_t b) {
  return (a ^ (b + 0x9E3779B97F4A7C15ull + (a << 6) + (a >> 2))) * 0xBF58476D1CE4E5B9ull;
}

void load(const Unit& u, const UnitSamples& d, const std::vector<int64_t>& idx, bool fp_inputs, Batch& b) {
  b.in.resize(u.inputs.size());
  b.fp_in.resize(fp_inputs ? u.inputs.size() : 0);
  b.target.resize(u.outputs.size());
  b.weight.resize(d.weights ? u.outputs.size() : 0);
  b.grad.resize(u.outputs.size());
  for (size_t k = 0; k < u.inputs.size(); ++k) {
    gather(*d.inputs, u.inputs[k], idx, b.in[k]);
    if (fp_inputs) gather(*d.fp, u.inputs[k], idx, b.fp_in[k]);
  }
  for (size_t k = 0; k < u.outputs.size(); ++k) {
    gather(*d.fp, u.outputs[k], idx, b.target[k]);
    if (d.weights) gather(*d.weights, u.outputs[k], idx, b.weight[k]);
  }
}

// QDrop's input mix: each element of input k takes its quantized-model value with probability p.
void mix_inputs(Batch& b, float p, uint64_t seed) {
  std::vector<uint8_t> m;
  for (size_t k = 0; k < b.in.size(); ++k) {
    const int64_t n = b.in[k].size();
    m.resize(static_cast<size_t>(n));
    drop_mask_u8(n, mix(seed, k), p, m.data());
    float* x = b.in[k].data();
    const float* f = b.fp_in[k].data();
    parallel_for_chunks(n, int64_t{1} << 15, [&](int64_t lo, int64_t hi, int64_t) {
      for (int64_t i = lo; i < hi; ++i) x[i] = m[static_cast<size_t>(i)] ? x[i] : f[i];
    });
  }
}

// rec over the unit's outputs; with grads, also dL/dy into b.grad.
double output_loss(const UnitRunner& r, Batch& b, float p, bool grads) {
  double rec = 0.0;
  for (size_t k = 0; k < b.target.size(); ++k) {
    const ViewF32 y = r.output(k);
    if (grads && b.grad[k].shape() != y.shape) b.grad[k] = TensorF32(y.shape);
    rec += lp_loss_f32(y, b.target[k], p, b.weight.empty() ? nullptr : b.weight[k].data(),
                       grads ? b.grad[k].data() : nullptr);
  }
  return rec;
}

void check_samples(const Unit& u, const UnitSamples& d, bool fp_inputs) {
  const std::string who = "unit '" + u.name + "': ";
  if (!d.inputs || !d.fp) throw Error(who + "no cached inputs / FP targets");
  auto need = [&](const ActivationCache& c, ValueId v, const char* what) {
    if (!c.has(v) || c.num_samples(v) != d.count)
      throw Error(who + what + " of value " + std::to_string(v) + " not cached for all " + std::to_string(d.count) +
                  " samples");
  };
  for (ValueId v : u.inputs) {
    need(*d.inputs, v, "input");
    if (fp_inputs) need(*d.fp, v, "FP input");
  }
  for (ValueId v : u.outputs) {
    need(*d.fp, v, "FP target");
    if (d.weights) need(*d.weights, v, "loss weight");
  }
  if (d.count < 1) throw Error(who + "no calibration samples");
}

float soft_fraction(UnitRunner& r) {
  double n = 0, soft = 0;
  for (size_t k = 0; k < r.num_soft(); ++k) {
    const double m = static_cast<double>(r.soft_weight(k).size());
    soft += m * r.soft_weight(k).soft_fraction(r.rounding_vars(k).data());
    n += m;
  }
  return n > 0 ? static_cast<float>(soft / n) : 0.0f;
}

}  // namespace

double unit_loss(UnitRunner& r, const UnitSamples& d, const UnitTrainOptions& o, WeightMode mode) {
  check_samples(r.unit(), d, false);
  RunOptions ro;
  ro.weights = mode;
  ro.act_quant = o.act_quant;
  Batch b;
  double total = 0.0;
  for (int64_t s = 0; s < d.count; s += o.batch) {
    std::vector<int64_t> idx;
    for (int64_t i = s; i < std::min<int64_t>(d.count, s + o.batch); ++i) idx.push_back(i);
    load(r.unit(), d, idx, false, b);
    std::vector<ViewF32> in(b.in.begin(), b.in.end());
    r.forward(in, ro);
    total += output_loss(r, b, o.p, false) * static_cast<double>(idx.size());
  }
  return total / static_cast<double>(d.count);
}

UnitTrainReport train_unit(UnitRunner& r, const UnitSamples& d, const UnitTrainOptions& o,
                           const UnitProgressFn& progress) {
  const auto t0 = std::chrono::steady_clock::now();
  const Unit& u = r.unit();
  const bool mix_in = o.drop_prob < 1.0f;
  check_samples(u, d, mix_in);
  if (o.batch < 1 || o.iters < 0) throw Error("unit '" + u.name + "': need batch >= 1 and iters >= 0");
  UnitTrainReport rep;
  rep.unit = u.name;
  rep.kind = u.kind;
  rep.phase = o.learn_rounding ? (o.learn_steps ? "joint" : "rounding") : "steps";
  rep.soft_weights = o.learn_rounding ? static_cast<int>(r.num_soft()) : 0;
  rep.learned_steps = o.learn_steps ? static_cast<int>(r.steps().size()) : 0;
  rep.loss_before = unit_loss(r, d, o, WeightMode::Hard);
  std::vector<std::vector<float>> v0;
  for (size_t k = 0; k < r.num_soft(); ++k) v0.push_back(r.rounding_vars(k));
  const std::vector<float> s0 = r.steps();

  std::vector<AdamF32> adam_v;
  std::vector<std::vector<float>> gv(r.num_soft());
  AdamParams vp;
  vp.lr = o.rounding.lr;
  for (size_t k = 0; k < r.num_soft(); ++k) {
    adam_v.emplace_back(r.soft_weight(k).size(), vp);
    gv[k].resize(static_cast<size_t>(r.soft_weight(k).size()));
  }
  AdamParams sp;
  sp.lr = o.step_lr;
  AdamF32 adam_s(static_cast<int64_t>(r.steps().size()), sp);
  std::vector<float> gs(r.steps().size());
  std::vector<double> reg_part;
  std::mt19937_64 rng(o.seed);
  std::vector<int64_t> idx(static_cast<size_t>(o.batch));
  Batch b;
  RunOptions ro;
  ro.weights = o.learn_rounding ? WeightMode::Soft : WeightMode::Hard;
  ro.act_quant = o.act_quant;
  ro.drop_prob = o.drop_prob;
  for (int t = 0; t < o.iters; ++t) {
    for (int64_t& i : idx) i = static_cast<int64_t>(rng() % static_cast<uint64_t>(d.count));
    load(u, d, idx, mix_in, b);
    if (mix_in) mix_inputs(b, o.drop_prob, mix(o.seed, 2 * static_cast<uint64_t>(t)));
    ro.drop_seed = mix(o.seed, 2 * static_cast<uint64_t>(t) + 1);
    r.forward(std::vector<ViewF32>(b.in.begin(), b.in.end()), ro);
    double loss = output_loss(r, b, o.p, true);
    std::vector<GradSeed> seeds;
    for (size_t k = 0; k < u.outputs.size(); ++k) seeds.push_back({u.outputs[k], b.grad[k].view()});
    r.backward(seeds, false);
    if (o.learn_rounding) {
      std::optional<float> beta;
      if (round_regularizer_active(t, o.iters, o.rounding.warmup))
        beta = round_regularizer_beta(t, o.iters, o.rounding.warmup, o.rounding.beta_start, o.rounding.beta_end,
                                      o.rounding.beta_schedule);
      for (size_t k = 0; k < r.num_soft(); ++k)
        loss += o.rounding.lambda * rounding_update_f32(r.soft_weight(k), r.soft_h(k).data(), r.soft_dh(k).data(),
                                                        r.weight_grad(k).data(), beta, o.rounding.lambda, gv[k].data(),
                                                        &adam_v[k], r.rounding_vars(k).data(), reg_part);
    }
    if (o.learn_steps && !gs.empty()) {
      if (o.step_lr_cosine) adam_s.set_lr(static_cast<float>(o.step_lr * (1.0 + std::cos(kPi * t / o.iters)) / 2.0));
      for (size_t j = 0; j < gs.size(); ++j) gs[j] = static_cast<float>(r.step_grads()[j]);
      adam_s.step(r.steps().data(), gs.data());
      for (float& s : r.steps()) s = std::max(std::fabs(s), kMinLearnedStep);
    }
    if (progress && o.progress_every > 0 && ((t + 1) % o.progress_every == 0 || t + 1 == o.iters))
      progress(t + 1, loss, soft_fraction(r));
  }
  rep.iterations = o.iters;
  rep.loss_after = unit_loss(r, d, o, WeightMode::Hard);
  if (o.keep_better && rep.loss_after > rep.loss_before) {  // back to the starting point
    for (size_t k = 0; k < r.num_soft(); ++k) r.rounding_vars(k) = v0[k];
    r.steps() = s0;
    rep.loss_after = unit_loss(r, d, o, WeightMode::Hard);
    rep.reverted = true;
  }
  rep.soft_fraction = soft_fraction(r);
  rep.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return rep;
}

}  // namespace mqcalib
