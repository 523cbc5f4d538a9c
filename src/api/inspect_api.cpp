// mqcalib/src/api/inspect_api.cpp: mqcalib::inspect() (include/mqcalib/inspect.h): the model as
// imported, its BN folding, blocks, weight statistics and the FP check against LibTorch, as text and
// as a JSON document.
#include <sstream>

#include "api/inspect_model.h"
#include "api/inspect_report.h"
#include "api/thread_scope.h"
#include "core/error.h"
#include "export/atomic_file.h"
#include "graph/blocks.h"
#include "graph/bn_fold.h"
#include "graph/weight_stats.h"
#include "mqcalib/inspect.h"

namespace mqcalib {

namespace {

struct InspectSections {
  std::map<std::string, int> counts;  // as imported
  FoldReport folds;
  std::vector<Block> blocks;
  std::vector<WeightStats> weights;
  inspection::FpCheck fp;
};

std::string json_document(const InspectOptions& o, const Graph& g, const InspectSections& s) {
  nlohmann::json doc;
  doc["model"] = o.model;
  doc["input_shape"] = o.input_shape;
  doc["op_counts"] = s.counts;
  doc["inputs"] = inspection::io_json(g, g.inputs());
  doc["outputs"] = inspection::io_json(g, g.outputs());
  doc["nodes"] = inspection::nodes_json(g);
  doc["folded_bn"] = inspection::folded_json(s.folds);
  doc["blocks"] = inspection::blocks_json(g, s.blocks);
  doc["weights"] = inspection::weights_json(s.weights);
  doc["fp_check"] = {{"samples", s.fp.samples},
                     {"seed", o.seed},
                     {"max_abs_diff", s.fp.max_abs_diff},
                     {"max_rel_diff", s.fp.max_rel_diff},
                     {"max_abs_reference", s.fp.max_abs_reference}};
  return doc.dump(2) + "\n";
}

}  // namespace

InspectSummary inspect(const InspectOptions& o) {
  if (o.model.empty()) throw Error("--model is required (a TorchScript .pt file)");
  if (o.samples < 0) throw Error("--samples " + std::to_string(o.samples) + " must be >= 0");
  if (o.input_shape.empty()) throw Error("--input-shape is empty (expected N,C,H,W, e.g. 1,1,28,28)");
  for (int64_t d : o.input_shape)
    if (d <= 0) throw Error("--input-shape " + shape_to_string(o.input_shape) + ": every dimension must be positive");
  const ThreadScope threads(o.threads);
  inspection::LoadedModel lm = inspection::load_model(o.model, o.input_shape);
  Graph& g = lm.graph;
  InspectSections s;
  std::ostringstream text;
  s.counts = inspection::op_counts(g);
  inspection::print_summary(text, g, s.counts);
  s.folds = fold_batchnorm(g);
  inspection::print_folds(text, s.folds);
  s.blocks = partition_blocks(g);
  inspection::print_blocks(text, g, s.blocks);
  s.weights = weight_stats(g);
  inspection::print_weights(text, s.weights);
  s.fp = inspection::fp_check(lm, o.input_shape, o.samples, o.seed);
  text << "fp check (" << s.fp.samples << " random inputs " << shape_to_string(o.input_shape) << ", seed " << o.seed
       << "): max_abs_diff " << s.fp.max_abs_diff << ", max_rel_diff " << s.fp.max_rel_diff << "\n";

  InspectSummary r;
  r.text = text.str();
  r.json = json_document(o, g, s);
  r.fp_samples = s.fp.samples;
  r.max_abs_diff = s.fp.max_abs_diff;
  r.max_rel_diff = s.fp.max_rel_diff;
  if (!o.json_path.empty()) {
    write_file_atomic(o.json_path, r.json);
    r.files.push_back(o.json_path);
  }
  return r;
}

}  // namespace mqcalib
