// mqcalib/reconstruction/unit_train.h: the optimisation loop of one reconstruction unit, which every
// unit method of reconstruction/unit_methods.h configures (../shared/REFERENCE.md sections 4 and 9).
//
// Per iteration t of `iters`:
//   idx       = `batch` samples drawn with replacement, std::mt19937_64(seed)() % N (as AdaRound)
//   x_in      = the unit's cached inputs of the model as quantized so far; with drop_prob < 1 each
//               element takes that value with probability drop_prob and the FP model's value otherwise
//               (QDrop's input mix, qdrop/solver/recon.py)
//   y         = the unit's outputs, weights W~(V) (learn_rounding) or the graph's, activation quantizers
//               on (act_quant, learnable steps when learn_steps) with QDrop's drop inside the unit
//   rec       = sum over outputs of lp_loss(y, target, p, w)  (reconstruction/recon_loss.h; w the Fisher
//               weights when the samples carry them)
//   L         = rec + [learn_rounding, t >= warmup iters] lambda R(V, beta(t))  (AdaRound's regularizer)
//   V         -= Adam(dL/dV)          lr `rounding.lr` (1e-3)
//   s         -= Adam(dL/ds)          lr step_lr, cosine-annealed to 0 over the iterations when
//                                     step_lr_cosine (BRECQ / QDrop's CosineAnnealingLR); then
//                                     s = max(|s|, eps) (QDrop's LSQFakeQuantize: positive steps)
// Losses before / after: rec over all N samples in consecutive batches, hard-rounded weights, no drop.
// keep_better (an engine choice, not in the papers' code): when the loss after is above the loss before,
// the unit goes back to its starting point (round-to-nearest weights, the observer's steps), so no unit
// ends worse on the calibration data than it started. Learned steps can lose this way: the loss over a
// finite sample is a jagged function of s, and LSQ's straight-through gradient sees only its trend.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "exec/activation_cache.h"
#include "reconstruction/adam.h"
#include "reconstruction/adaround.h"
#include "reconstruction/unit_runner.h"

namespace mqcalib {

// The samples of one unit: row n of every cached value is calibration sample n.
struct UnitSamples {
  const ActivationCache* inputs = nullptr;   // the unit's inputs in the model as quantized so far
  const ActivationCache* fp = nullptr;       // FP model: the unit's outputs (targets); its inputs for the drop mix
  const ActivationCache* weights = nullptr;  // per unit output: per-element loss weights (Fisher), or null
  int64_t count = 0;
};

struct UnitTrainOptions {
  int iters = 0;
  int batch = 32;
  bool learn_rounding = false;
  bool learn_steps = false;
  bool act_quant = false;
  float drop_prob = 1.0f;    // QDrop: 0.5
  float p = 2.0f;            // Lp exponent of the output loss
  AdaRoundOptions rounding;  // lambda, lr, warmup, beta schedule (its iters and seed are not used)
  float step_lr = 4e-4f;
  bool step_lr_cosine = true;
  uint64_t seed = 0;
  int progress_every = 0;  // 0: no progress
  bool keep_better = true;
};

// The smallest learned step (torch.finfo(float32).eps, QDrop's LSQFakeQuantize).
constexpr float kMinLearnedStep = 1.1920929e-7f;

struct UnitTrainReport {
  std::string unit, kind, phase;  // phase: "rounding", "steps" or "joint"
  double loss_before = 0, loss_after = 0;
  int iterations = 0;
  double seconds = 0;
  float soft_fraction = 0;  // rounding variables with h(V) strictly inside (0, 1) at the end
  int soft_weights = 0, learned_steps = 0;
  bool reverted = false;  // keep_better put the unit back to its starting point
};

// (iteration, loss incl. regularizer, soft fraction).
using UnitProgressFn = std::function<void(int, double, float)>;

// The optimiser state of one unit (Adam moments of V and of the steps) and one iteration of the loop.
class UnitTrainer {
 public:
  UnitTrainer(UnitRunner& r, const UnitTrainOptions& o);
  // Iteration t on one batch: inputs (quantized model) are mixed with fp_inputs in place when
  // drop_prob < 1 (fp_inputs may be empty otherwise); targets and weights (empty: none) per unit output.
  // Returns the loss incl. regularizer.
  double step(std::vector<TensorF32>& inputs, const std::vector<TensorF32>& fp_inputs,
              const std::vector<TensorF32>& targets, const std::vector<TensorF32>& weights, int t);

 private:
  UnitRunner& r_;
  UnitTrainOptions o_;
  std::vector<AdamF32> adam_v_;
  std::vector<std::vector<float>> gv_;
  AdamF32 adam_s_;
  std::vector<float> gs_;
  std::vector<double> reg_part_;
};

// Runs the loop on r (its V and steps are updated in place). Throws naming the unit when the caches
// lack a value or the sample counts differ.
UnitTrainReport train_unit(UnitRunner& r, const UnitSamples& data, const UnitTrainOptions& o,
                           const UnitProgressFn& progress = {});

// rec over all samples with the given weight mode (no drop).
double unit_loss(UnitRunner& r, const UnitSamples& data, const UnitTrainOptions& o, WeightMode mode);

}  // namespace mqcalib
