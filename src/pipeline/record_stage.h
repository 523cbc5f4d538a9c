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

}  // namespace mqcalib
