// mqcalib/src/cli/eval.cpp: `mqcalib eval`, a thin layer over mqcalib::evaluate(): re-runs the
// simulation recorded in params.json on labelled data.
#include <boost/program_options.hpp>
#include <cstdio>

#include "cli/command_line.h"
#include "cli/commands.h"
#include "cli/data_options.h"
#include "cli/progress.h"
#include "mqcalib/mqcalib.h"

namespace po = boost::program_options;

namespace mqcalib::cli {

int run_eval(const std::vector<std::string>& args) {
  EvalOptions o;
  PreprocessArgs pre;
  std::string eval, labels;
  bool quiet = false;
  po::options_description all(
      "mqcalib eval: re-run the simulation recorded in params.json and report top-1.\n\nOptions");
  all.add_options()("model", po::value(&o.model)->required(), "the TorchScript model params.json was made for")(
      "params", po::value(&o.params)->required(), "params.json written by `mqcalib quantize`")(
      "eval", po::value(&eval)->required(), "evaluation data (IDX, .npy, image folder)")(
      "eval-labels", po::value(&labels)->required(), "labels of --eval")(
      "eval-limit", po::value(&o.eval_limit)->default_value(0), "evaluate only the first N samples (0: all)")(
      "threads", po::value(&o.threads)->default_value(0), "threads (0: all cores)")(
      "batch-size", po::value(&o.batch_size)->default_value(o.batch_size), "batch size")(
      "quiet", po::bool_switch(&quiet), "no progress on stderr")("help,h", "this help");
  pre.add_to(all);
  po::variables_map vm;
  if (!parse_command_line(args, all, vm)) return 0;
  po::notify(vm);
  o.eval = pre.to_data(eval, labels);
  o.preprocess_from_record = !PreprocessArgs::any_given(vm);
  Progress progress(quiet);
  o.progress = [&progress](const std::string& p, int64_t d, int64_t t) { progress(p, d, t); };
  const EvalSummary s = evaluate(o);
  progress.finish();
  std::printf("%-10s %10s %12s %8s %10s\n", "samples", "FP32 top-1", "quant top-1", "drop", "agreement");
  std::printf("%-10lld %9.2f%% %11.2f%% %8.2f %9.2f%%\n", static_cast<long long>(s.samples), s.fp_top1, s.q_top1,
              s.fp_top1 - s.q_top1, s.agreement);
  return 0;
}

}  // namespace mqcalib::cli
