// mqcalib/src/pipeline/record_stage.h: the record stage: the per-point state of a finished run, plus
// its provenance, as the one QuantRecord that export, evaluation and the report read.
//
// Order (params.json's): for each planned weight in graph order its weight, then its int32 bias; then
// every activation in plan order. Biases are recorded with their FP values as the observed range
// (min = max = b[c]) and observer "int32 s_in*s_w". Non-nearest codes go to weight_codes.
#pragma once

#include "export/quant_record.h"
#include "graph/ir.h"
#include "pipeline/quant_state.h"

namespace mqcalib {

// `state` is aligned with `plan` (quant_state.h).
QuantRecord make_record(const Graph& folded, const QuantPlan& plan, const QuantState& state, Provenance provenance);

// The FP tensors a deployment needs besides the model file (QuantRecord::float_weights, op_changes):
// every weight and bias of `prepared` (the graph the state was computed on) that differs bit for bit
// from `original` (the model file's plain BN fold: equalization, high-bias absorption, bias
// correction), every weight rounded other than to nearest as s * (code - zp), and every node whose op
// changed (relu6 -> relu). Both graphs have the same nodes in the same order.
void record_weight_changes(QuantRecord& record, const Graph& original, const Graph& prepared, const QuantState& state);

}  // namespace mqcalib
