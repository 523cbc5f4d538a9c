// mqcalib/reconstruction/unit_runner.cpp: forward with a tape, and backward in reverse node order
// (unit_runner.h).
#include "reconstruction/unit_runner.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "core/parallel.h"
#include "reconstruction/lsq_fake_quant.h"
#include "reconstruction/unit_ops.h"

namespace mqcalib {

using recon_detail::OpBackward;
using recon_detail::OpForward;
using recon_detail::unit_op;

struct UnitRunner::Tape {
  std::vector<ViewF32> view;          // per value id: the value as its consumers read it
  std::vector<TensorF32> own;         // storage of produced (or quantized) values
  std::vector<ViewF32> pre;           // before the quantizer, where one was applied (else empty)
  std::vector<TensorF32> pre_own;     // storage of pre for produced values (unit inputs: the caller's)
  std::vector<Drop> drop;             // QDrop's mask of the value (p >= 1: every element quantized)
  std::vector<StepQuant> quant;       // the quantizer applied to the value
  std::vector<bool> have;             // computed by the last forward
  std::vector<bool> overwritten;      // overwritten in place by its activation (in_place_activations)
  std::vector<TensorF32> grad;        // backward: dL/d(value as read)
  std::vector<TensorF32> input_grad;  // per unit input
};

namespace {

std::string node_label(const Node& n) { return "node '" + n.name + "' (" + std::string(op_name(n.kind)) + ")"; }

// dst += src, elementwise over fixed chunks.
void add_into(TensorF32& dst, const TensorF32& src) {
  float* d = dst.data();
  const float* s = src.data();
  parallel_for_chunks(dst.size(), int64_t{1} << 15, [&](int64_t b, int64_t e, int64_t) {
    for (int64_t i = b; i < e; ++i) d[i] += s[i];
  });
}

// acc += g (acc = g when empty); g's storage goes back to the pool.
void accumulate(TensorF32& acc, TensorF32&& g, recon_detail::TensorRecycler& pool) {
  if (acc.empty()) {
    acc = std::move(g);
  } else {
    add_into(acc, g);
    pool.give(g);
  }
}

uint64_t mask_seed(uint64_t seed, ValueId v) { return seed ^ (static_cast<uint64_t>(v) + 1) * 0xD1B54A32D192ED03ull; }

const Drop* drop_of(const Drop& d) { return d.p < 1.0f ? &d : nullptr; }

}  // namespace

UnitRunner::UnitRunner(const Graph& g, Unit unit, std::vector<SoftWeightSpec> soft, std::vector<ActQuantSpec> acts)
    : g_(g), unit_(std::move(unit)), acts_(std::move(acts)), tape_(std::make_unique<Tape>()) {
  const std::string who = "unit '" + unit_.name + "': ";
  soft_of_node_.assign(g.nodes().size(), -1);
  std::vector<bool> in_unit(g.nodes().size(), false), reads(g.values().size(), false);
  reads_.assign(g.values().size(), 0);
  is_output_.assign(g.values().size(), false);
  for (size_t i : unit_.nodes) {
    in_unit.at(i) = true;
    for (ValueId v : g.nodes()[i].outputs) reads[static_cast<size_t>(v)] = true;
    for (ValueId v : g.nodes()[i].inputs) ++reads_[static_cast<size_t>(v)];
  }
  for (ValueId v : unit_.outputs) is_output_.at(static_cast<size_t>(v)) = true;
  for (ValueId v : g.outputs()) is_output_.at(static_cast<size_t>(v)) = true;
  for (ValueId v : unit_.inputs) reads[static_cast<size_t>(v)] = true;
  for (SoftWeightSpec& s : soft) {
    if (s.node >= g.nodes().size() || !in_unit[s.node])
      throw Error(who + "soft weight of node " + std::to_string(s.node) + ", which is not in the unit");
    const Node& n = g.nodes()[s.node];
    if (n.kind != OpKind::Conv2d && n.kind != OpKind::Linear)
      throw Error(who + node_label(n) + " has no weight to round");
    soft_of_node_[s.node] = static_cast<int>(soft_.size());
    SoftWeight sw(n.params.weight.view(), s.qparams, n.name + ".weight");
    std::vector<float> v = sw.initial_v();
    const size_t m = v.size();
    soft_.push_back(Soft{std::move(s), std::move(sw), std::move(v), std::vector<float>(m), std::vector<float>(m),
                         std::vector<float>(m), std::vector<float>(m)});
  }
  spec_of_value_.assign(g.values().size(), -1);
  int nsteps = 0;
  for (size_t k = 0; k < acts_.size(); ++k) {
    const ActQuantSpec& a = acts_[k];
    if (a.value < 0 || static_cast<size_t>(a.value) >= g.values().size() || !reads[static_cast<size_t>(a.value)])
      throw Error(who + "activation quantizer on a value the unit neither produces nor reads");
    step_quant_of(a.qparams, a.qparams.scale.at(0), g.value(a.value).name);  // per-tensor check
    spec_of_value_[static_cast<size_t>(a.value)] = static_cast<int>(k);
    nsteps = std::max(nsteps, a.step + 1);
  }
  steps_.assign(static_cast<size_t>(nsteps), 0.0f);
  std::vector<bool> set(steps_.size(), false);
  for (const ActQuantSpec& a : acts_)
    if (a.step >= 0 && !set[static_cast<size_t>(a.step)]) {
      steps_[static_cast<size_t>(a.step)] = a.qparams.scale[0];
      set[static_cast<size_t>(a.step)] = true;
    }
  step_grads_.assign(steps_.size(), 0.0);
}

UnitRunner::~UnitRunner() = default;

const float* UnitRunner::weight_in_use(size_t node) const {
  const int k = soft_of_node_.at(node);
  return k >= 0 ? soft_[static_cast<size_t>(k)].w.data() : g_.nodes()[node].params.weight.data();
}

float UnitRunner::effective_step(const ActQuantSpec& s) const {
  const float st = s.step >= 0 ? steps_.at(static_cast<size_t>(s.step)) : s.qparams.scale[0];
  return s.power_of_two ? std::exp2(std::nearbyint(std::log2(st))) : st;
}

QParams UnitRunner::act_qparams(size_t spec) const {
  QParams p = acts_.at(spec).qparams;
  p.scale[0] = effective_step(acts_[spec]);
  return p;
}

void UnitRunner::quantize_value(ValueId v, const UnitRunOptions& opt) {
  const int k = spec_of_value_[static_cast<size_t>(v)];
  if (k < 0 || !opt.act_quant) return;
  Tape& t = *tape_;
  const size_t i = static_cast<size_t>(v);
  const ActQuantSpec& s = acts_[static_cast<size_t>(k)];
  t.quant[i] = step_quant_of(s.qparams, effective_step(s), g_.value(v).name);
  // The value before the quantizer: a unit input is read where the caller holds it (forward's
  // contract), a produced value keeps its buffer. The output buffer comes from the pool
  // (recycle_tape gives every tape tensor back to it: a fresh one here would grow the pool by one
  // buffer per quantizer and iteration).
  if (!t.own[i].empty()) t.pre_own[i] = std::move(t.own[i]);
  t.pre[i] = t.view[i];
  t.drop[i] = Drop{mask_seed(opt.drop_seed, v), opt.drop_prob};
  t.own[i] = pool_.take(t.pre[i].shape);  // lsq_fake_quant_f32 writes every element
  lsq_fake_quant_f32(t.pre[i], t.quant[i], drop_of(t.drop[i]), t.own[i].mut_view());
  t.view[i] = t.own[i].view();
}

void UnitRunner::forward(const std::vector<ViewF32>& inputs, const UnitRunOptions& opt) {
  const std::string who = "unit '" + unit_.name + "': ";
  if (inputs.size() != unit_.inputs.size())
    throw Error(who + "expected " + std::to_string(unit_.inputs.size()) + " inputs, got " +
                std::to_string(inputs.size()));
  last_ = opt;
  Tape& t = *tape_;
  recycle_tape();
  const size_t nv = g_.values().size();
  t.view.assign(nv, ViewF32{});
  t.own.assign(nv, TensorF32());
  t.pre.assign(nv, ViewF32{});
  t.pre_own.assign(nv, TensorF32());
  t.drop.assign(nv, Drop{0, 1.0f});
  t.quant.assign(nv, StepQuant{});
  t.have.assign(nv, false);
  t.overwritten.assign(nv, false);
  for (Soft& s : soft_) {
    if (opt.weights == WeightMode::Soft)
      s.sw.soft(s.v.data(), s.w.data(), s.h.data(), s.dh.data());
    else
      s.sw.hard(s.v.data(), nullptr, s.w.data());
  }
  for (size_t k = 0; k < inputs.size(); ++k) {
    const size_t v = static_cast<size_t>(unit_.inputs[k]);
    t.view[v] = inputs[k];
    t.have[v] = true;
    quantize_value(unit_.inputs[k], opt);
  }
  std::vector<ViewF32> in;
  std::vector<TensorF32> out;
  for (size_t i : unit_.nodes) {
    const Node& n = g_.nodes()[i];
    in.clear();
    out.clear();
    for (ValueId v : n.inputs) {
      if (!t.have[static_cast<size_t>(v)])
        throw Error(who + node_label(n) + ": input '" + g_.value(v).name + "' missing");
      in.push_back(t.view[static_cast<size_t>(v)]);
    }
    try {
      if (!in_place_activation(n, opt, out)) unit_op(n.kind).forward(OpForward{n, in, weight_in_use(i), out, &pool_});
      if (out.size() != n.outputs.size()) throw Error("produced " + std::to_string(out.size()) + " outputs");
    } catch (const Error& e) {
      throw Error(who + node_label(n) + ": " + e.what());
    }
    for (size_t k = 0; k < out.size(); ++k) {
      const size_t v = static_cast<size_t>(n.outputs[k]);
      t.own[v] = std::move(out[k]);
      t.view[v] = t.own[v].view();
      t.have[v] = true;
      quantize_value(n.outputs[k], opt);
    }
  }
}

// UnitRunOptions::in_place_activations: the activation takes its input's buffer and overwrites it
// (the input's view, which the activation's backward reads, now shows f(x): the same derivative).
bool UnitRunner::in_place_activation(const Node& n, const UnitRunOptions& opt, std::vector<TensorF32>& out) {
  if (!opt.in_place_activations || !recon_detail::derivative_same_at_output(n.kind) || n.inputs.size() != 1)
    return false;
  Tape& t = *tape_;
  const size_t v = static_cast<size_t>(n.inputs[0]);
  if (t.own[v].empty() || t.pre[v].data || reads_[v] != 1 || is_output_[v]) return false;
  out.push_back(std::move(t.own[v]));
  t.own[v] = TensorF32();
  t.overwritten[v] = true;
  recon_detail::activation_in_place(n, out.back());
  return true;
}

// The last iteration's values and gradients back to the pool (their views die with them).
void UnitRunner::recycle_tape() {
  Tape& t = *tape_;
  for (std::vector<TensorF32>* ts : {&t.own, &t.pre_own, &t.grad, &t.input_grad})
    for (TensorF32& x : *ts) pool_.give(x);
}

void UnitRunner::release_buffers() {
  recycle_tape();
  std::fill(tape_->have.begin(), tape_->have.end(), false);
  pool_ = recon_detail::TensorRecycler();
}

ViewF32 UnitRunner::value(ValueId v) const {
  if (v < 0 || static_cast<size_t>(v) >= tape_->have.size() || !tape_->have[static_cast<size_t>(v)])
    throw Error("unit '" + unit_.name + "': value " + std::to_string(v) + " was not computed by the last forward");
  if (tape_->overwritten[static_cast<size_t>(v)])
    throw Error("unit '" + unit_.name + "': value '" + g_.value(v).name + "' was overwritten in place by its activation");
  return tape_->view[static_cast<size_t>(v)];
}

std::vector<bool> UnitRunner::needs_grad(bool input_grads) const {
  const Tape& t = *tape_;
  std::vector<bool> need(g_.values().size(), false);
  auto learnable = [&](ValueId v) {
    const int k = spec_of_value_[static_cast<size_t>(v)];
    return k >= 0 && t.pre[static_cast<size_t>(v)].data && acts_[static_cast<size_t>(k)].step >= 0;
  };
  for (ValueId v : unit_.inputs) need[static_cast<size_t>(v)] = input_grads || learnable(v);
  for (size_t i : unit_.nodes) {
    const Node& n = g_.nodes()[i];
    bool any = soft_of_node_[i] >= 0 && last_.weights == WeightMode::Soft;
    for (ValueId v : n.inputs) any = any || need[static_cast<size_t>(v)];
    for (ValueId v : n.outputs) need[static_cast<size_t>(v)] = any || learnable(v);
  }
  return need;
}

// grad[v] (dL/d value after its quantizer) -> dL/d value before it, and the step's gradient.
void UnitRunner::unquantize_grad(ValueId v) {
  Tape& t = *tape_;
  const size_t i = static_cast<size_t>(v);
  if (!t.pre[i].data || t.grad[i].empty()) return;
  // In place (gx may alias gy, lsq_fake_quant.h): no second buffer of the value's size (103 MB for a
  // resnet50 56x56 block output at batch 32).
  const double gs =
      lsq_fake_quant_backward_f32(t.pre[i], t.grad[i].view(), t.quant[i], drop_of(t.drop[i]), t.grad[i].mut_view());
  const ActQuantSpec& s = acts_[static_cast<size_t>(spec_of_value_[i])];
  if (s.step >= 0) {
    const double n = static_cast<double>(t.pre[i].size()), qmax = std::max<int32_t>(1, s.qparams.qmax);
    const float raw = steps_[static_cast<size_t>(s.step)];
    const double chain = s.power_of_two ? static_cast<double>(t.quant[i].scale) / raw : 1.0;
    step_grads_[static_cast<size_t>(s.step)] += gs / std::sqrt(n * qmax) * chain;
  }
}

// y = a + b with a, b and y of one shape: dL/da = dL/db = dL/dy (add_backward copies it). Handed over
// instead: the last input that needs it takes dL/dy's buffer, an earlier one a copy (one 103 MB
// buffer and copy less at resnet50's 56x56 blocks). Returns false (nothing done) for any other node.
bool UnitRunner::add_backward_by_move(size_t i, const std::vector<bool>& need) {
  Tape& t = *tape_;
  const Node& n = g_.nodes()[i];
  if (n.kind != OpKind::Add || n.inputs.size() != 2 || n.outputs.size() != 1) return false;
  TensorF32& gy = t.grad[static_cast<size_t>(n.outputs[0])];
  if (gy.empty()) return false;
  std::vector<size_t> takers;
  for (ValueId v : n.inputs) {
    if (t.view[static_cast<size_t>(v)].shape != gy.shape()) return false;
    if (need[static_cast<size_t>(v)]) takers.push_back(static_cast<size_t>(v));
  }
  for (size_t k = 0; k < takers.size(); ++k) {
    if (k + 1 < takers.size()) {
      TensorF32 copy = pool_.take(gy.shape());
      std::copy(gy.data(), gy.data() + gy.size(), copy.data());
      accumulate(t.grad[takers[k]], std::move(copy), pool_);
    } else {
      TensorF32 g = std::move(gy);
      gy = TensorF32();
      accumulate(t.grad[takers[k]], std::move(g), pool_);
    }
  }
  pool_.give(gy);
  return true;
}

void UnitRunner::node_backward(size_t i, const std::vector<bool>& need) {
  Tape& t = *tape_;
  const Node& n = g_.nodes()[i];
  bool any = false;
  for (ValueId v : n.outputs) any = any || !t.grad[static_cast<size_t>(v)].empty();
  if (!any) return;
  for (ValueId v : n.outputs) unquantize_grad(v);
  if (add_backward_by_move(i, need)) return;
  const int sk = soft_of_node_[i];
  const bool want_w = sk >= 0 && last_.weights == WeightMode::Soft;
  bool want_x = false;
  for (ValueId v : n.inputs) want_x = want_x || need[static_cast<size_t>(v)];
  if (want_w || want_x) {
    if (!unit_op(n.kind).backward)
      throw Error("unit '" + unit_.name + "': " + node_label(n) + " has no backward, but a gradient must pass it");
    std::vector<ViewF32> in, out, gy;
    std::vector<TensorF32> zeros, gx_store(n.inputs.size());
    std::vector<MutViewF32> gx_view(n.inputs.size());
    std::vector<MutViewF32*> gx(n.inputs.size(), nullptr);
    zeros.reserve(n.outputs.size());
    for (ValueId v : n.inputs) in.push_back(t.view[static_cast<size_t>(v)]);
    for (ValueId v : n.outputs) {
      const size_t o = static_cast<size_t>(v);
      out.push_back(t.pre[o].data ? t.pre[o] : t.view[o]);
      if (t.grad[o].empty()) {
        zeros.emplace_back(out.back().shape);
        gy.push_back(zeros.back().view());
      } else {
        gy.push_back(t.grad[o].view());
      }
    }
    for (size_t k = 0; k < n.inputs.size(); ++k) {
      if (!need[static_cast<size_t>(n.inputs[k])]) continue;
      gx_store[k] = pool_.take(in[k].shape);  // the op's backward overwrites it (unit_ops.h)
      gx_view[k] = gx_store[k].mut_view();
      gx[k] = &gx_view[k];
    }
    float* gw = want_w ? soft_[static_cast<size_t>(sk)].gw.data() : nullptr;
    try {
      unit_op(n.kind).backward(OpBackward{n, in, out, weight_in_use(i), gy, gx, gw});
    } catch (const Error& e) {
      throw Error("unit '" + unit_.name + "': " + node_label(n) + " backward: " + e.what());
    }
    for (size_t k = 0; k < n.inputs.size(); ++k)
      if (gx[k]) accumulate(t.grad[static_cast<size_t>(n.inputs[k])], std::move(gx_store[k]), pool_);
  }
  for (ValueId v : n.outputs) pool_.give(t.grad[static_cast<size_t>(v)]);
}

void UnitRunner::backward(const std::vector<GradSeed>& seeds, bool input_grads) {
  std::vector<OwnedGradSeed> owned;
  for (const GradSeed& s : seeds) {
    TensorF32 copy = pool_.take(s.grad.shape);
    std::copy(s.grad.data, s.grad.data + s.grad.size(), copy.data());
    owned.push_back({s.value, std::move(copy)});
  }
  backward(std::move(owned), input_grads);
}

void UnitRunner::backward(std::vector<OwnedGradSeed> seeds, bool input_grads) {
  Tape& t = *tape_;
  const std::string who = "unit '" + unit_.name + "': ";
  for (TensorF32& g : t.grad) pool_.give(g);
  t.grad.resize(g_.values().size());
  for (Soft& s : soft_) std::fill(s.gw.begin(), s.gw.end(), 0.0f);
  std::fill(step_grads_.begin(), step_grads_.end(), 0.0);
  for (OwnedGradSeed& s : seeds) {
    const ViewF32 v = value(s.value);
    if (s.grad.shape() != v.shape)
      throw Error(who + "gradient for '" + g_.value(s.value).name + "' has shape " + shape_to_string(s.grad.shape()) +
                  ", the value " + shape_to_string(v.shape));
    accumulate(t.grad[static_cast<size_t>(s.value)], std::move(s.grad), pool_);
  }
  const std::vector<bool> need = needs_grad(input_grads);
  for (size_t k = unit_.nodes.size(); k-- > 0;) node_backward(unit_.nodes[k], need);
  for (TensorF32& g : t.input_grad) pool_.give(g);
  t.input_grad.resize(unit_.inputs.size());
  for (size_t k = 0; k < unit_.inputs.size(); ++k) {
    const ValueId v = unit_.inputs[k];
    unquantize_grad(v);
    if (!input_grads) continue;
    TensorF32& g = t.grad[static_cast<size_t>(v)];
    if (g.empty()) {  // no path from the loss: a zero gradient, from the pool like the rest of the tape
      t.input_grad[k] = pool_.take(t.view[static_cast<size_t>(v)].shape);
      std::fill(t.input_grad[k].data(), t.input_grad[k].data() + t.input_grad[k].size(), 0.0f);
    } else {
      t.input_grad[k] = std::move(g);
    }
  }
}

ViewF32 UnitRunner::input_grad(size_t k) const {
  if (k >= tape_->input_grad.size() || tape_->input_grad[k].empty())
    throw Error("unit '" + unit_.name + "': no input gradient (call backward with input_grads)");
  return tape_->input_grad[k].view();
}

}  // namespace mqcalib
