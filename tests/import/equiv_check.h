// mqcalib/tests/import/equiv_check.h: the equivalence check of one TorchScript model (suite 'torch'):
// import, the engine's forward vs LibTorch's own forward on the same random batch, every BN of the
// source present in the IR, BN folding (count, before == after), block partition of the folded graph.
#pragma once

#include <doctest/doctest.h>

#include <cstdio>
#include <set>
#include <string>
#include <vector>

#include "equiv_util.h"
#include "graph/blocks.h"
#include "graph/bn_fold.h"
#include "import/libtorch_reference.h"
#include "import/torchscript_import.h"

namespace mqcalib::test {

// max|engine - libtorch| / max|libtorch| on the logits. Float32 with different summation orders
// (Eigen GEMM vs oneDNN/MKL convolutions) over up to ~50 layers stays well below it.
constexpr double kLogitsRelTol = 1e-4;
// The same bound for the engine before vs after BN folding (W * s rounded once per weight).
constexpr double kFoldRelTol = 1e-4;
// The logits must carry signal (issue 3: random-weight models without real BN statistics give
// ~1e-8); max|logit| below this means the export lost its BN calibration.
constexpr double kMinLogitMagnitude = 1e-2;
constexpr int64_t kBatch = 2;
constexpr uint32_t kInputSeed = 7;

// Module paths of the BatchNorm submodules of the TorchScript file ("layer1.0.bn1"; by class name,
// scripted or traced), read by LibTorch independently of the importer. In equiv_source_bn.cpp.
std::vector<std::string> source_bn_paths(const std::string& path);
inline int count_source_bn(const std::string& path) { return static_cast<int>(source_bn_paths(path).size()); }

struct EquivResult {
  Graph folded;
  FoldReport fold;
  std::vector<Block> blocks;
  double rel_diff = 0.0;         // engine (unfolded) vs LibTorch
  double rel_diff_folded = 0.0;  // engine (folded) vs LibTorch
  double fold_diff = 0.0;        // engine folded vs unfolded
};

// `shape1` is the input shape with batch 1: the import runs at batch 1, the forwards at kBatch
// (the imported graph must not bake the example batch in).
inline EquivResult check_equivalence(const std::string& label, const std::string& path, Shape shape1) {
  CAPTURE(label);
  EquivResult r;
  shape1.at(0) = 1;
  ImportOptions opt;
  opt.input_shape = shape1;
  Graph g = import_torchscript(path, opt);
  // Every BN of the source is a batch_norm node of the IR, named by its module path (ir.h).
  const std::vector<std::string> source_bn = source_bn_paths(path);
  std::set<std::string> ir_bn_names;
  for (const Node& node : g.nodes())
    if (node.kind == OpKind::BatchNorm) ir_bn_names.insert(node.name);
  const int ir_bn = count_nodes(g, OpKind::BatchNorm);
  CHECK(ir_bn == static_cast<int>(source_bn.size()));
  CHECK(ir_bn_names == std::set<std::string>(source_bn.begin(), source_bn.end()));

  Shape shape = shape1;
  shape[0] = kBatch;
  const TensorF32 x = normal_tensor(shape, kInputSeed);
  const TensorF32 ref = LibTorchModel(path).forward(x);
  const TensorF32 out = engine_forward(g, x);
  REQUIRE(out.shape() == ref.shape());
  CHECK(max_abs(ref) > kMinLogitMagnitude);
  r.rel_diff = max_rel_diff(out, ref);
  CHECK(r.rel_diff <= kLogitsRelTol);

  r.folded = g;
  r.fold = fold_batchnorm(r.folded);
  CHECK(static_cast<int>(r.fold.folded.size() + r.fold.unfolded.size()) == ir_bn);
  CHECK(count_nodes(r.folded, OpKind::BatchNorm) == static_cast<int>(r.fold.unfolded.size()));
  const TensorF32 out_folded = engine_forward(r.folded, x);
  r.fold_diff = max_rel_diff(out_folded, out);
  r.rel_diff_folded = max_rel_diff(out_folded, ref);
  CHECK(r.fold_diff <= kFoldRelTol);
  CHECK(r.rel_diff_folded <= kLogitsRelTol);
  r.blocks = partition_blocks(r.folded);

  int residual = 0, concat = 0;
  for (const Block& b : r.blocks) {
    residual += b.kind == BlockKind::Residual;
    concat += b.kind == BlockKind::Concat;
  }
  std::fprintf(stderr,
               "%-28s max rel diff vs libtorch %.2e (folded %.2e, fold %.2e)  max|logit| %.3g  nodes %zu  "
               "bn %d (folded %zu)  blocks %zu (residual %d, concat %d)\n",
               label.c_str(), r.rel_diff, r.rel_diff_folded, r.fold_diff, max_abs(ref), g.nodes().size(), ir_bn,
               r.fold.folded.size(), r.blocks.size(), residual, concat);
  return r;
}

inline int count_blocks(const std::vector<Block>& blocks, BlockKind k) {
  int n = 0;
  for (const Block& b : blocks) n += b.kind == k;
  return n;
}

}  // namespace mqcalib::test
