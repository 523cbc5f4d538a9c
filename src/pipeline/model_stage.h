// mqcalib/src/pipeline/model_stage.h: the load and fold stages.
//
//   load_model  TorchScript file -> the engine's Graph (src/import, the one LibTorch boundary), with the
//               file's SHA-256 (provenance; computed once per run)
//   fold_model  BN folded into the preceding conv / linear (graph/bn_fold.h), then the weight
//               statistics of every conv / linear (graph/weight_stats.h) the outlier findings read
#pragma once

#include <string>
#include <vector>

#include "graph/bn_fold.h"
#include "graph/ir.h"
#include "graph/weight_stats.h"

namespace mqcalib {

struct LoadedModel {
  std::string path;
  std::string sha256;  // of the file's bytes
  Graph graph;         // as imported (BN not folded)
};

struct FoldedModel {
  std::string path, sha256;
  Graph graph;  // BN folded
  FoldReport folds;
  std::vector<WeightStats> weight_stats;  // every conv / linear, graph order
};

// `sample_shape` is one input sample without the batch dim ([C, H, W]). Throws Error naming `path`
// when it is missing, a folder, or not a TorchScript model.
LoadedModel load_model(const std::string& path, const Shape& sample_shape);

FoldedModel fold_model(LoadedModel model);

}  // namespace mqcalib
