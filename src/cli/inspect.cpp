// mqcalib/src/cli/inspect.cpp: `mqcalib inspect --model M.pt [--input-shape 1,1,28,28] [--json FILE]`,
// a thin layer over mqcalib::inspect() (mqcalib/inspect.h): prints its text, writes its JSON.
#include "mqcalib/inspect.h"

#include <boost/program_options.hpp>
#include <iostream>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/data_options.h"

namespace po = boost::program_options;

namespace mqcalib::cli {

int run_inspect(const std::vector<std::string>& args) {
  InspectOptions o;
  std::string shape_text;
  po::options_description opts("mqcalib inspect options");
  opts.add_options()("help,h", "this help")("model,m", po::value(&o.model), "TorchScript model file (.pt)")(
      "input-shape", po::value(&shape_text)->default_value("1,1,28,28"), "input shape N,C,H,W for the FP check")(
      "json", po::value(&o.json_path), "also write the report as a JSON document to this file")(
      "samples", po::value(&o.samples)->default_value(3), "random inputs for the FP check (0 skips it)")(
      "seed", po::value(&o.seed)->default_value(0), "seed of the random inputs")(
      "threads", po::value(&o.threads)->default_value(0), "threads (0: OpenMP default)");
  po::variables_map vm;
  po::store(po::command_line_parser(args).options(opts).run(), vm);
  po::notify(vm);
  if (vm.count("help")) {
    std::cout << "usage: mqcalib inspect --model M.pt [--input-shape 1,1,28,28] [--json FILE]\n" << opts;
    return 0;
  }
  if (o.model.empty()) throw Error("--model is required (a TorchScript .pt file)");
  o.input_shape = parse_shape(shape_text, "--input-shape");
  const InspectSummary s = inspect(o);
  std::cout << s.text;
  if (!o.json_path.empty()) std::cout << "wrote " << o.json_path << "\n";
  return 0;
}

}  // namespace mqcalib::cli
