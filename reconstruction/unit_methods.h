// mqcalib/reconstruction/unit_methods.h: the reconstruction methods, each a function over one unit
// given its cached inputs and FP targets (../shared/REFERENCE.md sections 4 and 9; the released code
// of BRECQ, github.com/yhhhli/BRECQ, and QDrop, github.com/wimh966/QDrop):
//
//  - BRECQ stage 1, brecq_rounding_unit: AdaRound's rounding of every weight of the unit, jointly,
//    activation quantization off, loss Lp p_rounding (2, BRECQ's block_reconstruction default) or
//    the Fisher-diagonal weighting; `iters` iterations.
//  - BRECQ stage 2, brecq_steps_unit: the unit's activation step sizes (LSQ), weights fixed at their
//    hard rounding, activation quantization on, Adam lr step_lr (4e-4) cosine-annealed, Lp p_steps
//    (2.4, BRECQ's --p); `act_iters` iterations (BRECQ 5000).
//  - QDrop, qdrop_unit: rounding and steps jointly with activation quantization on and QDrop's drop
//    (drop_prob 0.5: every element of the unit's inputs and of every quantized value inside it takes
//    its quantized value with probability 0.5, else its FP value); steps Adam lr step_lr (4e-5)
//    cosine-annealed; loss Lp p_rounding (2, QDrop's lp_loss); `iters` iterations.
// Rounding uses AdaRound's defaults (lambda 0.01, lr 1e-3, warm-up 0.2, beta 20 -> 2 linear).
#pragma once

#include <string_view>
#include <vector>

#include "reconstruction/unit_train.h"

namespace mqcalib {

enum class ReconMethod { Brecq, QDrop };
std::string_view to_string(ReconMethod m);         // "brecq", "qdrop"
ReconMethod parse_recon_method(std::string_view);  // throws naming the text
enum class ReconLoss { Mse, Fisher };
std::string_view to_string(ReconLoss l);       // "mse", "fisher"
ReconLoss parse_recon_loss(std::string_view);  // throws naming the text

// Every default is the method's (the BRECQ / QDrop papers and released code); each is an option.
struct ReconOptions {
  ReconMethod method = ReconMethod::Brecq;
  UnitGranularity granularity = UnitGranularity::Block;
  ReconLoss loss = ReconLoss::Mse;
  int iters = 20000;     // rounding iterations per unit (BRECQ stage 1, QDrop)
  int act_iters = 5000;  // BRECQ stage 2 iterations per unit
  int batch = 32;
  AdaRoundOptions rounding;  // lambda, lr, warm-up, beta schedule (iters and seed unused)
  float step_lr = -1.0f;     // < 0: the method's (BRECQ 4e-4, QDrop 4e-5)
  bool step_lr_cosine = true;
  float p_rounding = 2.0f;  // Lp exponent while rounding (BRECQ stage 1, QDrop)
  float p_steps = 2.4f;     // Lp exponent of BRECQ's stage 2
  float drop_prob = 0.5f;   // QDrop
  float fisher_damping = 1.0f;
  uint64_t seed = 0;
  CacheOptions cache;       // RAM budget of the activation caches, spill directory
  int progress_every = 0;   // iterations between progress calls (0: none)
  bool keep_better = true;  // a unit that ends worse than it started goes back (reconstruction/unit_train.h)
  float method_step_lr() const { return step_lr >= 0.0f ? step_lr : (method == ReconMethod::QDrop ? 4e-5f : 4e-4f); }
};

// The quantizers of one unit as the runner takes them.
struct UnitQuant {
  std::vector<SoftWeightSpec> soft;  // the unit's quantized conv / linear weights
  std::vector<ActQuantSpec> acts;    // the activation quantizers the unit owns
};

// What a unit method produced: the hard-rounded weights (aligned with UnitQuant::soft; empty when the
// method leaves weights alone) and the step each activation spec now runs with (aligned with acts).
struct UnitOutcome {
  UnitTrainReport report;
  std::vector<TensorF32> weights;
  std::vector<std::vector<int32_t>> codes;
  std::vector<float> steps;
};

UnitOutcome brecq_rounding_unit(const Graph& g, const Unit& u, const UnitQuant& q, const UnitSamples& s,
                                const ReconOptions& o, uint64_t seed, const UnitProgressFn& progress = {});
UnitOutcome brecq_steps_unit(const Graph& g, const Unit& u, const UnitQuant& q, const UnitSamples& s,
                             const ReconOptions& o, uint64_t seed, const UnitProgressFn& progress = {});
UnitOutcome qdrop_unit(const Graph& g, const Unit& u, const UnitQuant& q, const UnitSamples& s, const ReconOptions& o,
                       uint64_t seed, const UnitProgressFn& progress = {});

}  // namespace mqcalib
