// mqcalib/src/api/config.h: the public options as the pipeline's config, shared by the API's front
// ends (mqcalib.cpp: quantize, evaluate; sensitivity_api.cpp: sensitivity).
#pragma once

#include "mqcalib/mqcalib.h"
#include "pipeline/pipeline.h"

namespace mqcalib {

// Throws Error naming the option when a value cannot be converted.
PipelineConfig to_config(const QuantizeOptions& options);

// Issue 16's options (mixed precision, sensitivity, --fix-outliers) into `config` (sensitivity_api.cpp).
void apply_diagnose_options(const QuantizeOptions& options, PipelineConfig& config);
// ... and their results into the API's result.
void add_diagnose_results(const RunReport& report, QuantizeResult& result);

}  // namespace mqcalib
