// mqcalib/include/mqcalib/inspect.h: `mqcalib inspect` as a library call: what the engine makes of a
// TorchScript model before any quantization.
//
// Imports the model, summarises the graph (op counts as imported, inputs/outputs), folds the
// BatchNorms (docs/quantization.md), partitions the folded graph into blocks, computes the per-layer
// weight statistics, and runs an FP check: the engine's forward on the folded graph against
// LibTorch's forward of the original module on a few random N(0,1) inputs drawn with a fixed seed
// (max abs and max relative difference, relative = max|engine - torch| / max|torch|).
//
//   mqcalib::InspectOptions o;
//   o.model = "examples/zoo/resnet20.pt";
//   mqcalib::InspectSummary s = mqcalib::inspect(o);
//   std::fputs(s.text.c_str(), stdout);  // or parse s.json
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "mqcalib/error.h"  // MQCALIB_API; failures throw mqcalib::Error

namespace mqcalib {

struct InspectOptions {
  std::string model;                               // TorchScript file (.pt)
  std::vector<int64_t> input_shape{1, 1, 28, 28};  // N, C, H, W of the FP check's inputs
  int samples = 3;                                 // random inputs of the FP check (0 skips it)
  unsigned seed = 0;                               // seed of the random inputs
  int threads = 0;                                 // 0: OpenMP default
  std::string json_path;                           // also write `json` to this file (atomically) when set
};

struct InspectSummary {
  std::string text;  // the report as `mqcalib inspect` prints it
  // The same report as a JSON document (keys model, input_shape, op_counts, inputs, outputs, nodes,
  // folded_bn, blocks, weights, fp_check), indented by 2, ending in a newline.
  std::string json;
  int fp_samples = 0;                         // FP check: inputs compared
  double max_abs_diff = 0, max_rel_diff = 0;  // FP check: engine vs LibTorch
  std::vector<std::string> files;             // written (json_path)
};

MQCALIB_API InspectSummary inspect(const InspectOptions& options);

}  // namespace mqcalib
