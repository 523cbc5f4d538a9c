// mqcalib/src/pipeline/analysis.h: the analyse stage: per-layer and per-activation SQNR of the
// simulation on the calibration data, and the outlier findings (pipeline/outliers.h).
//
//   weight SQNR     quantized (simulation) weight vs folded FP weight, all elements
//   input SQNR      each activation point's fake-quant SQNR over the first kSqnrSamples calibration
//                   samples, run through the whole simulation (so it includes earlier layers' error in
//                   the signal the quantizer sees, not in the noise)
//   findings        outliers.h on the planned layers' weight statistics (FP32 layers are left out) and
//                   on every activation point
#pragma once

#include <vector>

#include "backends/backend.h"
#include "export/run_report.h"
#include "graph/weight_stats.h"
#include "pipeline/quant_plan.h"
#include "pipeline/quant_state.h"
#include "pipeline/sample_store.h"
#include "pipeline/simulation.h"

namespace mqcalib {

// Calibration samples the activation SQNR is measured on.
constexpr int64_t kSqnrSamples = 256;

struct Analysis {
  std::vector<LayerReport> layers;            // plan.weights order
  std::vector<ActivationReport> activations;  // plan.activations order
  std::vector<OutlierFinding> findings;
};

// `sim` is built from the record of `state` (same point order). Without samples (`calib` null: data-free)
// the activation SQNRs are NaN (not measured) and the findings come from the weights and the ranges.
Analysis analyse(const Graph& folded, const QuantPlan& plan, const QuantState& state, const Simulation& sim,
                 const SampleStore* calib, const std::vector<WeightStats>& weight_stats, const BackendProfile& backend);
inline Analysis analyse(const Graph& folded, const QuantPlan& plan, const QuantState& state, const Simulation& sim,
                        const SampleStore& calib, const std::vector<WeightStats>& weight_stats,
                        const BackendProfile& backend) {
  return analyse(folded, plan, state, sim, &calib, weight_stats, backend);
}

}  // namespace mqcalib
