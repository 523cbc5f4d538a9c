// mqcalib/src/deploy/verify.h: the engine's float simulation against its integer executor, on the
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

#include "deploy/deploy_model.h"
#include "exec/int_executor.h"

namespace mqcalib {

struct TensorAgreement {
  std::string tensor;
  std::string origin;     // to_string(QuantOrigin), or "output" for a float output
  int64_t elements = 0;   // compared, over all samples
  double max_lsb = 0;     // largest |sim - int| in LSBs of the tensor's grid
  double frac_differ = 0;  // fraction of elements whose codes differ (float outputs: by more than 1/2 LSB)
};

struct VerifyResult {
  std::string backend, requant;
  int64_t samples = 0;
  double sim_top1 = 0, int_top1 = 0, top1_agreement = 0;  // percent
  std::vector<TensorAgreement> tensors;                    // graph order
  std::string first_parting;       // first tensor with any difference ("" when none)
  std::string first_over_one_lsb;  // first tensor differing by more than 1 LSB ("" when none)
  std::vector<std::string> float_ops;  // nodes the integer executor ran through the float path
  // Quantized convs whose output has no quantizer (not even through a ReLU): a runtime has no grid
  // to requantize them to and runs them in float (QDQ: DQ -> Conv without Q). A placement gap.
  std::vector<std::string> float_output_convs;
};

using VerifyBatchSource = std::function<bool(int64_t, TensorF32&, std::vector<int64_t>&)>;
// Called per batch with the input and both models' first outputs (for dumps).
using VerifyBatchSink = std::function<void(const TensorF32& x, const TensorF32& sim_out, const TensorF32& int_out)>;

VerifyResult verify_integer(const SimModel& sim, const IntModel& im, const VerifyBatchSource& batches,
                            const std::function<void(int64_t)>& progress = {}, const VerifyBatchSink& sink = {});

}  // namespace mqcalib
