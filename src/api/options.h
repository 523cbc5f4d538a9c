// mqcalib/src/api/options.h: the public options (include/mqcalib/mqcalib.h) as the pipeline's
// PipelineConfig, and the pipeline's RunReport as the public QuantizeResult. Internal to src/api.
#pragma once

#include <string>
#include <vector>

#include "data/dataset.h"
#include "mqcalib/mqcalib.h"
#include "pipeline/pipeline.h"

namespace mqcalib {

Preprocess to_preprocess(const DataOptions& d);
// Validates what the config cannot (names of the backend, granularity, size bounds), naming the option.
PipelineConfig to_config(const QuantizeOptions& o);
QuantizeResult to_result(const RunReport& r, const std::vector<std::string>& files);

}  // namespace mqcalib
