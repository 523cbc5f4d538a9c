// mqcalib/src/pipeline/mixed_precision.h: the allocate stage (--bits-budget, issue 16), run after the
// samples are read and before the plan: per-layer sensitivity at every bit option (sensitivity.h),
// then the exact allocation (bit_allocation.h); the choice becomes the layer policy's per-layer bits
// (layer_bits for the weight, layer_a_bits for the input), so the plan, every method and params.json's
// provenance see it like hand-set --layer-bits.
//
// Layers whose bits the policy fixes (--layer-bits, --first-last-8bit) keep them and count towards
// the budget; skipped layers are FP32 and count for nothing (the average is over quantized weights).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "backends/backend.h"
#include "export/run_report.h"
#include "graph/ir.h"
#include "pipeline/observe.h"
#include "pipeline/quant_plan.h"
#include "pipeline/sample_store.h"
#include "pipeline/sensitivity.h"

namespace mqcalib {

struct MixedPrecisionConfig {
  std::string budget;  // --bits-budget; empty: no mixed precision
  // The uniform choice at 3 or 4 bits is one of the options, so the optimum never sums more sensitivity
  // than uniform W3 / W4 (at an average of 3 bits, {2, 4, 8} alone mixes 2-bit layers in: measured worse).
  std::vector<int> w_bits_set{2, 3, 4, 8};
  std::vector<int> a_bits_set;  // empty: the backend's activation bits only
  double a_bits_average = 0;    // > 0: the average input-activation bits may not exceed it
  SensitivityMetric metric = SensitivityMetric::Kl;
  int64_t samples = kSensitivitySamples;
};

struct MixedPrecisionChoice {
  LayerPolicy policy;  // the input policy with every planned layer's bits set
  BitAllocationReport allocation;
  SensitivityReport sensitivity;
};

// Throws Error naming --bits-budget when even the smallest bits of every free layer exceed the budget.
MixedPrecisionChoice choose_mixed_precision(const Graph& folded, const BackendProfile& backend,
                                            const LayerPolicy& policy, const SampleStore& calib,
                                            const ObserverChoice& w_observer, const ObserverChoice& a_observer,
                                            const MixedPrecisionConfig& config, const ProgressFn& progress = {});

}  // namespace mqcalib
