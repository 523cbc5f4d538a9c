// mqcalib/reconstruction/model_reconstruct.h: BRECQ and QDrop over a whole model, unit by unit in
// graph order (reconstruction/unit.h), on cached activations (reconstruction/recon_caches.h).
//
// The model (ReconProblem): the FP (BN-folded) graph, its quantized weights (node, grid) and its
// activation quantizers (value, per-tensor QParams, power-of-two, shared-scale group). Ownership: an
// activation quantizer belongs to the unit producing its value (a graph input's: the first unit reading
// it); only its owner applies and learns it, so a unit's cached inputs already carry the quantizers of
// the units before it. A quantizer whose shared-scale group spans several units keeps its scale (it is
// not learned: learning it in one unit would move the others'); members of a group inside one unit
// share one learned step. Power-of-two quantizers learn s and run 2^round(log2 s); symmetric ones keep
// zero point 0 (zero points are never learned). So learned steps stay what the backend can execute.
//
// Flow (caches: the FP model's unit inputs and outputs once per run; each unit's inputs once per
// phase, from the model as quantized so far):
//   BRECQ  stage 1: per unit, brecq_rounding_unit; its hard-rounded weights go into the model.
//          then act_params = calibrate(model with every weight rounded)  (the pipeline's observers);
//          stage 2 (activation quantizers present, act_iters > 0): per unit, brecq_steps_unit.
//   QDrop  act_params = calibrate(model with round-to-nearest weights); per unit, qdrop_unit.
// Loss `fisher`: per unit, the Fisher weights of its outputs (recon_caches.h) before it is optimised.
// Deterministic for a seed at any thread count (unit k of a phase uses seed + k, + 1000003 in stage 2).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "reconstruction/recon_caches.h"
#include "reconstruction/unit_methods.h"

namespace mqcalib {

struct ReconWeight {
  size_t node = 0;  // conv2d / linear node of the FP graph
  QParams qparams;  // the weight's grid (from the weight observer)
};

struct ReconActivation {
  ValueId value = kNoValue;
  QParams qparams;  // initial / fixed parameters (filled by `calibrate` when it runs)
  bool power_of_two = false;
  int group = -1;  // quantizers with one group >= 0 share one scale
};

struct ReconProblem {
  const Graph* fp = nullptr;
  std::vector<ReconWeight> weights;
  std::vector<ReconActivation> activations;
};

struct ReconResult {
  std::vector<TensorF32> weights;           // aligned with problem.weights: the final weight
  std::vector<std::vector<int32_t>> codes;  // its integer codes (grid qparams)
  std::vector<QParams> act_params;          // aligned with problem.activations
  std::vector<bool> act_learned;            // step learned by reconstruction
  std::vector<UnitTrainReport> units;       // one per unit and phase
  int64_t cache_bytes_spilled = 0, cache_peak_ram_bytes = 0;
};

// Activation parameters (aligned with problem.activations) for `model`, the FP graph holding the
// given weights: codes[k] (aligned with problem.weights) on the grid of weights[k].qparams.
using ActCalibrateFn =
    std::function<std::vector<QParams>(const Graph& model, const std::vector<std::vector<int32_t>>& codes)>;

struct ReconProgress {
  std::string phase;  // "rounding", "steps", "joint", "cache"
  size_t unit = 0, units = 0;
  std::string unit_name;
  int iteration = 0, iters = 0;
  double loss = 0;
  float soft_fraction = 0;
};
using ReconProgressFn = std::function<void(const ReconProgress&)>;

// Throws mqcalib::Error naming the bad weight / value / option.
ReconResult reconstruct_model(const ReconProblem& p, const CalibBatchFn& calib, const ReconOptions& o,
                              const ActCalibrateFn& calibrate, const ReconProgressFn& progress = {});

}  // namespace mqcalib
