// mqcalib/reconstruction/unit_runner.h: the differentiable runner over a reconstruction unit
// (reconstruction/unit.h), with no autograd library: a forward through the unit's nodes that keeps
// what each backward needs (the tape), and a backward in reverse node order through the per-op table
// of reconstruction/unit_ops.h.
//
// Parameters inside the unit:
//  - soft-rounded weights (SoftWeightSpec: a conv2d / linear node and its weight QParams): AdaRound's
//    W~(V) of reconstruction/soft_weight.h built from the graph's weight (the FP weight), with the
//    rounding variables V held here. WeightMode::Soft runs W~(V); WeightMode::Hard the hard-rounded
//    weight (h(V) >= 0.5). Conv / linear nodes without a spec use the graph's weight as it is.
//  - activation quantizers (ActQuantSpec: a value produced in the unit, or a unit input, with its
//    per-tensor QParams): with UnitRunOptions::act_quant on, the value is replaced by its LSQ fake
//    quantization (reconstruction/lsq_fake_quant.h) right after it is produced (unit inputs: before the
//    unit reads them). A spec with step >= 0 uses learnable step `step` (several specs may share one:
//    a backend's shared scale), else its fixed QParams scale. A power-of-two spec runs with
//    s_eff = 2^round(log2 s), and d s_eff / d s = s_eff / s (straight-through on the exponent's
//    rounding, MQBench's pot_quantization). With drop_prob < 1 every element of every quantized value
//    takes its quantized value with probability drop_prob, else its FP value (QDrop).
//
// Gradients (backward): seeds dL/dv may be attached to any value of the unit (its outputs, or any value
// produced inside or read by it), and accumulate with the gradients flowing back from later nodes.
// The backward gives dL/dW~ for every soft weight (Soft mode), dL/ds for every learnable step (the LSQ
// gradient times its scale 1/sqrt(N qmax), N the quantized tensor's element count, REFERENCE.md
// section 9), and, when asked, dL/d(unit input). Only values upstream of which something needs a
// gradient are differentiated. Determinism: every kernel used is deterministic at any thread count.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "core/qscheme.h"
#include "core/tensor.h"
#include "graph/ir.h"
#include "reconstruction/soft_weight.h"
#include "reconstruction/tensor_recycler.h"
#include "reconstruction/unit.h"

namespace mqcalib {

struct SoftWeightSpec {
  size_t node = 0;  // a conv2d / linear node of the unit
  QParams qparams;  // its weight's grid (per-tensor or per-channel)
};

struct ActQuantSpec {
  ValueId value = kNoValue;  // produced in the unit, or one of its inputs
  QParams qparams;           // per-tensor; scale = the step when fixed, the initial step when learnable
  bool power_of_two = false;
  int step = -1;  // learnable step index (shared by specs with the same index), -1: fixed
};

enum class WeightMode { Soft, Hard };

struct UnitRunOptions {
  WeightMode weights = WeightMode::Soft;
  bool act_quant = false;
  float drop_prob = 1.0f;  // probability that an element takes its quantized value (QDrop: 0.5)
  uint64_t drop_seed = 0;  // one per iteration: the masks are a function of (seed, value, element)
  // Relu / relu6 / hardtanh overwrite their input where the runner holds it, only this node reads
  // it, it is not quantized and not a unit output (unit_ops.h: the backward is the same). Such an
  // input is then gone: value() of it throws, and no gradient seed can be attached to it.
  bool in_place_activations = false;
};

struct GradSeed {
  ValueId value = kNoValue;
  ViewF32 grad;  // the value's shape
};

// A seed whose storage the runner takes over (no copy): from UnitRunner::take_buffer.
struct OwnedGradSeed {
  ValueId value = kNoValue;
  TensorF32 grad;  // the value's shape
};

class UnitRunner {
 public:
  // Keeps a reference to g. Throws naming the unit when a spec names a node / value outside it, a soft
  // spec is not a conv2d / linear, or an activation spec is per-channel.
  UnitRunner(const Graph& g, Unit unit, std::vector<SoftWeightSpec> soft = {}, std::vector<ActQuantSpec> acts = {});
  ~UnitRunner();
  UnitRunner(const UnitRunner&) = delete;
  UnitRunner& operator=(const UnitRunner&) = delete;

  const Unit& unit() const { return unit_; }
  const Graph& graph() const { return g_; }

  // Soft weights, aligned with the specs given.
  size_t num_soft() const { return soft_.size(); }
  const SoftWeightSpec& soft_spec(size_t k) const { return soft_.at(k).spec; }
  const SoftWeight& soft_weight(size_t k) const { return soft_.at(k).sw; }
  std::vector<float>& rounding_vars(size_t k) { return soft_.at(k).v; }         // V, initialised to h(V) = frac(W/s)
  const std::vector<float>& soft_h(size_t k) const { return soft_.at(k).h; }    // h(V) of the last Soft forward
  const std::vector<float>& soft_dh(size_t k) const { return soft_.at(k).dh; }  // h'(V) of the last Soft forward
  const std::vector<float>& weight_grad(size_t k) const { return soft_.at(k).gw; }  // dL/dW~ of the last backward
  // The weight a node runs with in the last forward's mode (soft / hard / the graph's).
  const float* weight_in_use(size_t node) const;

  // Activation quantizers and learnable steps.
  const std::vector<ActQuantSpec>& act_specs() const { return acts_; }
  std::vector<float>& steps() { return steps_; }  // continuous s per learnable step
  const std::vector<double>& step_grads() const { return step_grads_; }
  // The spec's QParams with the step it runs with now (power-of-two rounded where asked).
  QParams act_qparams(size_t spec) const;

  // inputs: one per unit().inputs, each [B, ...]. Throws naming the unit / node on a bad input or op.
  // The runner reads the inputs where they are (no copy): they must stay alive and unchanged until
  // the backward of this forward has returned.
  void forward(const std::vector<ViewF32>& inputs, const UnitRunOptions& opt);
  // A value of the unit after the last forward (after its quantizer, when one was applied).
  ViewF32 value(ValueId v) const;
  ViewF32 output(size_t k) const { return value(unit_.outputs.at(k)); }

  // Backward of the last forward. Throws naming the node when a needed op has no backward (gelu, softmax).
  void backward(const std::vector<GradSeed>& seeds, bool input_grads = false);
  // The same with seeds the runner takes over (their buffers go back to its pool).
  void backward(std::vector<OwnedGradSeed> seeds, bool input_grads = false);
  // A buffer of shape s from the runner's pool, values unset (for an OwnedGradSeed).
  TensorF32 take_buffer(const Shape& s) { return pool_.take(s); }
  ViewF32 input_grad(size_t k) const;  // dL/d(unit input k) (before its quantizer), after backward(..., true)
  // Buffers the runner holds for the next iteration (flat over iterations once the first has run).
  size_t pooled_buffers() const { return pool_.held(); }
  // Frees the last iteration's values and gradients and every pooled buffer (after training: a
  // forward-only pass needs no gradient buffers). The values of the last forward are gone.
  void release_buffers();

 private:
  struct Soft {
    SoftWeightSpec spec;
    SoftWeight sw;
    std::vector<float> v, w, h, dh, gw;  // V, the weight in use, h(V), h'(V), dL/dW~
  };
  struct Tape;

  float effective_step(const ActQuantSpec& s) const;
  void quantize_value(ValueId v, const UnitRunOptions& opt);
  void node_backward(size_t node, const std::vector<bool>& need);
  bool add_backward_by_move(size_t node, const std::vector<bool>& need);
  bool in_place_activation(const Node& n, const UnitRunOptions& opt, std::vector<TensorF32>& out);
  std::vector<bool> needs_grad(bool input_grads) const;
  void unquantize_grad(ValueId v);
  void recycle_tape();

  const Graph& g_;
  Unit unit_;
  std::vector<Soft> soft_;
  std::vector<int> soft_of_node_;  // node index -> soft index or -1
  std::vector<ActQuantSpec> acts_;
  std::vector<int> spec_of_value_;  // value id -> act spec index or -1
  std::vector<int> reads_;          // value id -> how many input slots of the unit's nodes read it
  std::vector<bool> is_output_;     // value id -> a unit output
  std::vector<float> steps_;
  std::vector<double> step_grads_;
  std::unique_ptr<Tape> tape_;
  recon_detail::TensorRecycler pool_;  // storage of the last iteration's tape and gradients
  UnitRunOptions last_;
};

}  // namespace mqcalib
