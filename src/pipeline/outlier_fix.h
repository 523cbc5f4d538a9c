// mqcalib/src/pipeline/outlier_fix.h: --fix-outliers, the outlier findings' advice applied to the
// layer policy (issue 16), for the layers the findings name and no other.
//
// Per planned layer named by a finding (pipeline/outliers.h), one action:
//   a weight finding (weight_per_tensor_gap, channel_range_spread, weight_max_over_std):
//     weights below 8 bits                 -> 8 bits (weight and input, as --layer-bits L=8)
//     8 bits or more, per-tensor weights   -> FP32 (as --skip L): at 8 bits a per-tensor grid cannot
//                                             hold the outlier channels and the rest at once; cross-layer
//                                             equalization (the data-free issue) is the better fix once
//                                             it is on main, and replaces this action there
//     8 bits or more, per-channel weights  -> none (each channel has its own grid)
//   activation_heavy_tail (every planned layer reading that tensor):
//     input below 8 bits                   -> 8 bits
//     8 bits                               -> none (the advice is another observer, a run-wide choice)
// A layer with several findings takes the strongest action (FP32 over 8 bits over none).
#pragma once

#include <string>
#include <vector>

#include "export/run_report.h"
#include "pipeline/quant_plan.h"

namespace mqcalib {

struct OutlierFix {
  LayerPolicy policy;                  // the input policy with the actions applied
  std::vector<OutlierAction> actions;  // one per named planned layer, plan order
  bool changed = false;                // some action changes the policy
};

OutlierFix plan_outlier_fix(const std::vector<OutlierFinding>& findings, const QuantPlan& plan,
                            const LayerPolicy& policy);

}  // namespace mqcalib
