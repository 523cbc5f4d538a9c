// mqcalib/src/cli/inspect.cpp: `mqcalib inspect --model M.pt [--input-shape 1,1,28,28] [--json FILE]`.
//
// Imports the model, prints the graph summary (op counts as imported, inputs/outputs), folds the
// BatchNorms (REFERENCE.md section 5), partitions the folded graph into blocks, prints the per-layer
// weight statistics, and runs an FP check: the engine's forward on the folded graph against
// LibTorch's forward of the original module on a few random N(0,1) inputs drawn with a fixed seed
// (max abs and max relative difference, relative = max|engine - torch| / max|torch|).
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include <boost/program_options.hpp>

#include "cli/commands.h"
#include "cli/inspect_report.h"
#include "cli/model_io.h"
#include "core/error.h"

namespace po = boost::program_options;

namespace mqcalib::cli {

int run_inspect(const std::vector<std::string>& args) {
  std::string model, shape_text, json_path;
  int samples = 3;
  unsigned seed = 0;
  int threads = 0;
  po::options_description opts("mqcalib inspect options");
  opts.add_options()("help,h", "this help")("model,m", po::value(&model), "TorchScript model file (.pt)")(
      "input-shape", po::value(&shape_text)->default_value("1,1,28,28"), "input shape N,C,H,W for the FP check")(
      "json", po::value(&json_path), "also write the report as a JSON document to this file")(
      "samples", po::value(&samples)->default_value(3), "random inputs for the FP check (0 skips it)")(
      "seed", po::value(&seed)->default_value(0), "seed of the random inputs")(
      "threads", po::value(&threads)->default_value(0), "threads (0: OpenMP default)");
  po::variables_map vm;
  po::store(po::command_line_parser(args).options(opts).run(), vm);
  po::notify(vm);
  if (vm.count("help")) {
    std::cout << "usage: mqcalib inspect --model M.pt [--input-shape 1,1,28,28] [--json FILE]\n" << opts;
    return 0;
  }
  if (model.empty()) throw Error("--model is required (a TorchScript .pt file)");
  const Shape input_shape = parse_shape(shape_text, "--input-shape");
  if (samples < 0) throw Error("--samples " + std::to_string(samples) + " must be >= 0");

  LoadedModel lm = load_model(model, input_shape, threads);
  Graph& g = lm.graph;
  const std::map<std::string, int> counts = op_counts(g);
  print_summary(std::cout, g, counts);

  const FoldReport folds = fold_batchnorm(g);
  print_folds(std::cout, folds);
  const std::vector<Block> blocks = partition_blocks(g);
  print_blocks(std::cout, g, blocks);
  const std::vector<WeightStats> weights = weight_stats(g);
  print_weights(std::cout, weights);

  const FpCheck fp = fp_check(lm, input_shape, samples, seed);
  std::cout << "fp check (" << fp.samples << " random inputs " << shape_to_string(input_shape) << ", seed " << seed
            << "): max_abs_diff " << fp.max_abs_diff << ", max_rel_diff " << fp.max_rel_diff << "\n";

  if (!json_path.empty()) {
    nlohmann::json doc;
    doc["model"] = model;
    doc["input_shape"] = input_shape;
    doc["op_counts"] = counts;
    doc["inputs"] = io_json(g, g.inputs());
    doc["outputs"] = io_json(g, g.outputs());
    doc["nodes"] = nodes_json(g);
    doc["folded_bn"] = folded_json(folds);
    doc["blocks"] = blocks_json(g, blocks);
    doc["weights"] = weights_json(weights);
    doc["fp_check"] = {{"samples", fp.samples},
                       {"seed", seed},
                       {"max_abs_diff", fp.max_abs_diff},
                       {"max_rel_diff", fp.max_rel_diff},
                       {"max_abs_reference", fp.max_abs_reference}};
    write_json_atomic(doc, json_path);
    std::cout << "wrote " << json_path << "\n";
  }
  return 0;
}

}  // namespace mqcalib::cli
