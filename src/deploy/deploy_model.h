// mqcalib/src/deploy/deploy_model.h: the two views of one quantization record that `mqcalib verify`
// compares and the QDQ ONNX export writes:
//  - the simulation (what the engine evaluates): the folded graph with dequantized weight codes and
//    biases on their int32 grid, every planned activation fake-quantized as it is produced, exactly
//    as `mqcalib eval` rebuilds it from params.json;
//  - the integer model (exec/int_model.h): the same codes and grids, run as an integer runtime does.
// Both are built from the record alone (no observer runs; weight codes in memory, as load_record reads
// them), so they are the exported artefacts.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "backends/backend.h"
#include "exec/executor.h"
#include "exec/int_model.h"
#include "export/quant_record.h"
#include "pipeline/simulation.h"

namespace mqcalib {

// The integer model of `rec` over `folded` (which must outlive it). Errors name the tensor and what
// is wrong (a tensor absent from the graph, codes of the wrong shape, more than 8 bits).
IntModel int_model_from_record(const Graph& folded, const QuantRecord& rec, const BackendProfile& backend);

// The simulation, by the pipeline's own build_simulation (the one `quantize` and `eval` evaluate).
struct SimModel {
  Simulation sim;
  const Graph& graph() const { return sim.graph; }
  ValueHook hook() const { return sim.activations.hook(); }
};

SimModel sim_model_from_record(const Graph& folded, const QuantRecord& rec);

// The integer codes of a weight record: the recorded codes (AdaRound, block methods), else nearest
// rounding of the folded weight with the record's params.
std::vector<int32_t> weight_codes_of(const QuantRecord& rec, const TensorQuant& w, const TensorF32& folded_weight);

}  // namespace mqcalib
