// mqcalib/src/api/inspect_model.h: mqcalib::inspect()'s link to the importer (TorchScript -> Graph, as
// imported: not folded), the executor and LibTorch's reference forward (the FP check).
#pragma once

#include <memory>
#include <string>

#include "graph/ir.h"

namespace mqcalib::inspection {

struct LoadedModel {
  std::string path;
  Graph graph;                      // as imported (unfolded)
  std::shared_ptr<void> reference;  // LibTorch reference module (opaque here)
};

// Imports `path` (throws Error naming the file when it is missing or not TorchScript).
LoadedModel load_model(const std::string& path, const Shape& input_shape);

struct FpCheck {
  int samples = 0;
  double max_abs_diff = 0.0;       // max |engine - libtorch| over all samples and outputs
  double max_abs_reference = 0.0;  // max |libtorch|
  double max_rel_diff = 0.0;       // max_abs_diff / max_abs_reference
};

// Engine forward of `m.graph` (as it is now, e.g. folded) vs LibTorch's forward of the original
// module on `samples` N(0,1) inputs of `input_shape` drawn with `seed`.
FpCheck fp_check(const LoadedModel& m, const Shape& input_shape, int samples, unsigned seed);

}  // namespace mqcalib::inspection
