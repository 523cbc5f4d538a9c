// mqcalib/src/export/params_json_transforms.h: internal to params_json.cpp: the keys of params.json
// that record what changed the weights and how a run did without data (layout in params_json.h).
#pragma once

#include <string>

#include "export/format_util.h"
#include "export/quant_record.h"
#include "export/strict_json_reader.h"

namespace mqcalib::detail {

// Optional keys: files written before they existed read as a run on real data with nothing changed.
// Optional provenance keys: the transforms' and mixed precision's "layer_a_bits" (issue 16).
inline constexpr const char* kTransformProvenanceKeys[] = {"layer_a_bits", "data_free", "equalization",
                                                           "high_bias_sigmas", "bias_correction"};
inline constexpr const char* kTransformRootKeys[] = {"float_weights", "op_changes"};

void write_transforms(const QuantRecord& rec, FloatJson& provenance, FloatJson& root);
// Throws through `reader` (Error "params file '<source>': key '<path>': <what>").
void read_transforms(const FloatJson& provenance, const FloatJson& root, const StrictJsonReader& reader,
                     QuantRecord& rec);

}  // namespace mqcalib::detail
