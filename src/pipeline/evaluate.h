// mqcalib/src/pipeline/evaluate.h: top-1 of the FP graph and of the simulated quantized model on the
// same batches, and their agreement (fraction of samples where both predict the same class).
#pragma once

#include <cstdint>
#include <vector>

#include "pipeline/quantized_model.h"

namespace mqcalib {

struct EvalResult {
  int64_t samples = 0;
  int64_t fp_correct = 0, q_correct = 0, agree = 0;
  double fp_top1() const { return samples ? 100.0 * static_cast<double>(fp_correct) / static_cast<double>(samples) : 0.0; }
  double q_top1() const { return samples ? 100.0 * static_cast<double>(q_correct) / static_cast<double>(samples) : 0.0; }
  double agreement() const { return samples ? 100.0 * static_cast<double>(agree) / static_cast<double>(samples) : 0.0; }
};

// argmax over the last dimension of [N, K] logits; ties take the lowest index.
std::vector<int64_t> argmax_rows(const TensorF32& logits);

// Runs `fp` and `q` on every batch from next_batch (i -> x, labels) until it returns false.
// fp_predictions (optional): when non-empty, the FP model's predictions of an earlier call on the
// same model and batches, used instead of running `fp` again (sweeps over many configurations);
// when empty, filled with this call's FP predictions.
using LabeledBatchSource = std::function<bool(int64_t, TensorF32&, std::vector<int64_t>&)>;
EvalResult evaluate_top1(const Graph& fp, const QuantizedModel& q, const LabeledBatchSource& next_batch,
                         const ProgressFn& progress = {}, std::vector<int64_t>* fp_predictions = nullptr);

}  // namespace mqcalib
