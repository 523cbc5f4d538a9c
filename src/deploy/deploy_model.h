// mqcalib/src/deploy/deploy_model.h: the two views of one quantization record that `mqcalib verify`
// compares and the QDQ ONNX export writes:
//  - the simulation (what the engine evaluates): the folded graph with dequantized weight codes and
//    biases on their int32 grid, every planned activation fake-quantized as it is produced, exactly
//    as `mqcalib eval` rebuilds it from params.json;
//  - the integer model (exec/int_model.h): the same codes and grids, run as an integer runtime does.
// Both are built from the record alone (no observer runs), so they are the exported artefacts.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "backends/backend.h"
#include "exec/executor.h"
#include "exec/int_model.h"
#include "export/quant_record.h"

namespace mqcalib {

// The integer model of `rec` over `folded` (which must outlive it). `params_dir` is the folder of
// params.json (the weight codes' paths are relative to it). Errors name the tensor and what is wrong
// (a tensor absent from the graph, codes of the wrong shape, more than 8 bits).
IntModel int_model_from_record(const Graph& folded, const QuantRecord& rec, const std::string& params_dir,
                               const BackendProfile& backend);

// The simulation: a copy of the folded graph with quantized weights/biases, and the activation
// params by value id. hook() fake-quantizes the planned activations (core/quantize.h), as the
// engine's simulation does.
struct SimModel {
  Graph graph;
  std::map<ValueId, QParams> act;
  ValueHook hook() const;
};

SimModel sim_model_from_record(const Graph& folded, const QuantRecord& rec, const std::string& params_dir);

// The integer codes of a weight record: the .npy codes when the record lists them (AdaRound, block
// methods), else nearest rounding of the folded weight with the record's params.
std::vector<int32_t> weight_codes_of(const QuantRecord& rec, const TensorQuant& w, const TensorF32& folded_weight,
                                     const std::string& params_dir);

}  // namespace mqcalib
