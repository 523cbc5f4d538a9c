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
  std::vector<TensorF32> in, fp_in, target, weight;
};

uint64_t mix(uint64_t a, uint64_t b) {
  return (a ^ (b + 0x9E3779B97F4A7C15ull + (a << 6) + (a >> 2))) * 0xBF58476D1CE4E5B9ull;
}

void load(const Unit& u, const UnitSamples& d, const std::vector<int64_t>& idx, bool fp_inputs, Batch& b) {
  b.in.resize(u.inputs.size());
  b.fp_in.resize(fp_inputs ? u.inputs.size() : 0);
  b.target.resize(u.outputs.size());
  b.weight.resize(d.weights ? u.outputs.size() : 0);
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
void mix_inputs(std::vector<TensorF32>& in, const std::vector<TensorF32>& fp_in, float p, uint64_t seed) {
  for (size_t k = 0; k < in.size(); ++k) drop_mix_f32(in[k].mut_view(), fp_in.at(k), Drop{mix(seed, k), p});
}

// rec over the unit's outputs; with seeds, also dL/dy into buffers of the runner's pool (handed to
// its backward without a copy: at 32x256x56x56 a seed is 103 MB).
double output_loss(UnitRunner& r, const std::vector<TensorF32>& target, const std::vector<TensorF32>& weight,
                   float p, std::vector<OwnedGradSeed>* seeds) {
  double rec = 0.0;
  for (size_t k = 0; k < target.size(); ++k) {
    const ViewF32 y = r.output(k);
    float* g = nullptr;
    if (seeds) {
      seeds->push_back({r.unit().outputs[k], r.take_buffer(y.shape)});  // lp_loss_f32 writes every element
      g = seeds->back().grad.data();
    }
    rec += lp_loss_f32(y, target[k], p, weight.empty() ? nullptr : weight[k].data(), g);
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

UnitTrainer::UnitTrainer(UnitRunner& r, const UnitTrainOptions& o)
    : r_(r), o_(o), adam_s_(static_cast<int64_t>(r.steps().size()), AdamParams{o.step_lr}), gs_(r.steps().size()) {
  AdamParams vp;
  vp.lr = o.rounding.lr;
  for (size_t k = 0; k < r.num_soft(); ++k) {
    adam_v_.emplace_back(r.soft_weight(k).size(), vp);
    gv_.emplace_back(static_cast<size_t>(r.soft_weight(k).size()));
  }
}

double UnitTrainer::step(std::vector<TensorF32>& inputs, const std::vector<TensorF32>& fp_inputs,
                         const std::vector<TensorF32>& targets, const std::vector<TensorF32>& weights, int t) {
  UnitRunOptions ro;
  ro.weights = o_.learn_rounding ? WeightMode::Soft : WeightMode::Hard;
  ro.act_quant = o_.act_quant;
  ro.drop_prob = o_.drop_prob;
  ro.in_place_activations = true;  // only the unit's outputs are read and seeded
  if (o_.drop_prob < 1.0f) mix_inputs(inputs, fp_inputs, o_.drop_prob, mix(o_.seed, 2 * static_cast<uint64_t>(t)));
  ro.drop_seed = mix(o_.seed, 2 * static_cast<uint64_t>(t) + 1);
  r_.forward(std::vector<ViewF32>(inputs.begin(), inputs.end()), ro);
  std::vector<OwnedGradSeed> seeds;
  double loss = output_loss(r_, targets, weights, o_.p, &seeds);
  r_.backward(std::move(seeds), false);
  if (o_.learn_rounding) {
    std::optional<float> beta;
    if (round_regularizer_active(t, o_.iters, o_.rounding.warmup))
      beta = round_regularizer_beta(t, o_.iters, o_.rounding.warmup, o_.rounding.beta_start, o_.rounding.beta_end,
                                    o_.rounding.beta_schedule);
    for (size_t k = 0; k < r_.num_soft(); ++k)
      loss +=
          o_.rounding.lambda * rounding_update_f32(r_.soft_weight(k), r_.soft_h(k).data(), r_.soft_dh(k).data(),
                                                   r_.weight_grad(k).data(), beta, o_.rounding.lambda, gv_[k].data(),
                                                   &adam_v_[k], r_.rounding_vars(k).data(), reg_part_);
  }
  if (o_.learn_steps && !gs_.empty()) {
    if (o_.step_lr_cosine)
      adam_s_.set_lr(static_cast<float>(o_.step_lr * (1.0 + std::cos(kPi * t / std::max(1, o_.iters))) / 2.0));
    for (size_t j = 0; j < gs_.size(); ++j) gs_[j] = static_cast<float>(r_.step_grads()[j]);
    adam_s_.step(r_.steps().data(), gs_.data());
    for (float& s : r_.steps()) s = std::max(std::fabs(s), kMinLearnedStep);
  }
  return loss;
}

double unit_loss(UnitRunner& r, const UnitSamples& d, const UnitTrainOptions& o, WeightMode mode) {
  check_samples(r.unit(), d, false);
  UnitRunOptions ro;
  ro.weights = mode;
  ro.act_quant = o.act_quant;
  ro.in_place_activations = true;
  Batch b;
  double total = 0.0;
  for (int64_t s = 0; s < d.count; s += o.batch) {
    std::vector<int64_t> idx;
    for (int64_t i = s; i < std::min<int64_t>(d.count, s + o.batch); ++i) idx.push_back(i);
    load(r.unit(), d, idx, false, b);
    std::vector<ViewF32> in(b.in.begin(), b.in.end());
    r.forward(in, ro);
    total += output_loss(r, b.target, b.weight, o.p, nullptr) * static_cast<double>(idx.size());
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

  {  // the trainer's gradients and the batch are freed before the final loss pass loads its own
    UnitTrainer trainer(r, o);
    std::mt19937_64 rng(o.seed);
    std::vector<int64_t> idx(static_cast<size_t>(o.batch));
    Batch b;
    for (int t = 0; t < o.iters; ++t) {
      for (int64_t& i : idx) i = static_cast<int64_t>(rng() % static_cast<uint64_t>(d.count));
      load(u, d, idx, mix_in, b);
      const double loss = trainer.step(b.in, b.fp_in, b.target, b.weight, t);
      if (progress && o.progress_every > 0 && ((t + 1) % o.progress_every == 0 || t + 1 == o.iters))
        progress(t + 1, loss, soft_fraction(r));
    }
  }
  r.release_buffers();  // the training tape's gradients are not needed by the loss pass
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
