// mqcalib/reconstruction/recon_caches.h: the cached activations block reconstruction runs on, all in
// src/exec/activation_cache (RAM up to a budget, spilled to disk beyond it; reads give the same floats
// wherever a sample is stored, so results do not depend on the budget).
//
//  - cache_values: any graph's values over every calibration batch (the FP model's unit inputs and
//    outputs once per run; a unit's inputs in the model as quantized so far, with a hook applying the
//    quantizers of the units before it), each batch run only as far as the last value needed;
//  - fisher_weights: BRECQ's Fisher-diagonal loss weights for a unit's outputs, (|g| + damping)^2 per
//    element, g = d KL(softmax(FP logits) || softmax(logits)) / d(unit output) by the runner's backward
//    from the logits through the rest of the network (FP weights, no quantizer: BRECQ's
//    quantize_model_till), the model quantized up to and including the unit; damping 1 as BRECQ's
//    save_grad_data (`cached_grads.abs() + 1.0`). g is taken on BRECQ's scale, the KL averaged over a
//    batch of kFisherBatch (32) samples, whatever the calibration batch size.
#pragma once

#include <functional>
#include <vector>

#include "exec/activation_cache.h"
#include "exec/executor.h"
#include "reconstruction/unit.h"

namespace mqcalib {

constexpr int64_t kFisherBatch = 32;  // BRECQ's batch of its gradient pass (quant/data_utils.py)

// Calibration batches: fills x with batch i and returns true, or returns false after the last one.
using CalibBatchFn = std::function<bool(int64_t, TensorF32&)>;

// Throws naming the graph's first value when no batch is produced.
ActivationCache cache_values(const Graph& g, const CalibBatchFn& calib, const std::vector<ValueId>& values,
                             const CacheOptions& opt, const ValueHook& hook = {});

// `q` is the model quantized through unit u (hook: its activation quantizers, or empty); `fp_logits`
// caches the FP model's `logits` value over the same batches.
ActivationCache fisher_weights(const Graph& q, const Unit& u, ValueId logits, const ActivationCache& fp_logits,
                               const CalibBatchFn& calib, const ValueHook& hook, float damping,
                               const CacheOptions& opt);

}  // namespace mqcalib
