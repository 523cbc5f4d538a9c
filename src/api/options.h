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
PreprocessRecord to_preprocess_record(const DataOptions& d);
// The record's preprocessing into `d` (eval and verify when the caller named none).
void take_record_preprocess(const PreprocessRecord& r, DataOptions* d);
std::string describe_preprocess(const PreprocessRecord& r);
// `d` with the preprocessing of the record at `params`: the record's (from_record), or `d`'s own when
// they agree; an Error naming both when they contradict (issue 14: no silent 14% top-1).
DataOptions with_record_preprocess(const DataOptions& d, const PreprocessRecord& rec, bool from_record,
                                   const std::string& params);  // "x/255, mean [...], std [...], color gray"
// Validates what the config cannot (names of the backend, granularity, size bounds), naming the option.
PipelineConfig to_config(const QuantizeOptions& o);
QuantizeResult to_result(const RunReport& r, const std::vector<std::string>& files);

}  // namespace mqcalib
