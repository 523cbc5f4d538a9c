// mqcalib/src/deploy/deploy_model.h: the integer model (exec/int_model.h) of a quantization record:
// the codes and grids params.json records, run as an integer runtime runs them. `verify` compares it
// with the simulation of the same record (pipeline/simulation.h build_simulation), and the QDQ ONNX
// export writes it. Built from the record alone (no observer runs; weight codes in memory, as
// load_record reads them), so it is the exported artefact.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "backends/backend.h"
#include "exec/int_model.h"
#include "export/quant_record.h"

namespace mqcalib {

// The integer model of `rec` over `folded` (which must outlive it). Errors name the tensor and what
// is wrong (a tensor absent from the graph, codes of the wrong shape, more than 8 bits).
IntModel int_model_from_record(const Graph& folded, const QuantRecord& rec, const BackendProfile& backend);

// The integer codes of a weight record: the recorded codes (AdaRound, block methods), else nearest
// rounding of the folded weight with the record's params.
std::vector<int32_t> weight_codes_of(const QuantRecord& rec, const TensorQuant& w, const TensorF32& folded_weight);

}  // namespace mqcalib
