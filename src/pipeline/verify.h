// mqcalib/src/pipeline/verify.h: the verify stage: the engine's float simulation against its integer executor, on the
// evaluation data (`mqcalib verify`, the `verify` block of report.json).
//
// Per tensor that the integer model holds as codes: the largest difference in output LSBs between
// the simulation's value (quantized onto the same grid: q = clamp(zp + round(x / s))) and the
// integer executor's codes, and the fraction of elements that differ. Float outputs (the logits of
// a last linear layer) are compared in units of their accumulator scale s_x * s_w[c]. Then top-1 of
// both, their agreement, and the first tensor, in graph order, where they part.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "exec/int_executor.h"
#include "exec/int_model.h"
#include "export/run_report.h"
#include "pipeline/simulation.h"

namespace mqcalib {

using VerifyResult = VerifyReport;  // export/run_report.h

using VerifyBatchSource = std::function<bool(int64_t, TensorF32&, std::vector<int64_t>&)>;
// Called per batch with the input and both models' first outputs (for dumps).
using VerifyBatchSink = std::function<void(const TensorF32& x, const TensorF32& sim_out, const TensorF32& int_out)>;

VerifyResult verify_integer(const Simulation& sim, const IntModel& im, const VerifyBatchSource& batches,
                            const std::function<void(int64_t)>& progress = {}, const VerifyBatchSink& sink = {});

}  // namespace mqcalib
