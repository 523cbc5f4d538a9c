// mqcalib/src/cli/verify.cpp: `mqcalib verify`, a thin layer over mqcalib::verify() (mqcalib/verify.h):
// the float simulation recorded in params.json against the integer executor on the evaluation data;
// optionally writes the QDQ ONNX model of the same record and float32 dumps (inputs, both models'
// outputs) for an external runtime.
#include "mqcalib/verify.h"

#include <boost/program_options.hpp>
#include <cstdio>
#include <iostream>

#include "cli/commands.h"
#include "cli/data_options.h"
#include "cli/progress.h"

namespace po = boost::program_options;

namespace mqcalib::cli {

namespace {

void print(const VerifySummary& r) {
  std::printf("\nverify: backend %s, %s requantization, %lld samples\n", r.backend.c_str(), r.requant.c_str(),
              static_cast<long long>(r.samples));
  std::printf("%-40s %-15s %10s %12s\n", "tensor", "origin", "max LSB", "differ");
  for (const VerifyTensorSummary& t : r.tensors)
    std::printf("%-40s %-15s %10.2f %11.4f%%\n", t.tensor.c_str(), t.origin.c_str(), t.max_lsb, 100.0 * t.frac_differ);
  std::printf("\nsimulated top-1 %.2f%%  integer top-1 %.2f%%  top-1 agreement %.2f%%\n", r.sim_top1, r.int_top1,
              r.top1_agreement);
  std::printf("first tensor where they part: %s; first beyond 1 LSB: %s\n",
              r.first_parting.empty() ? "(none)" : r.first_parting.c_str(),
              r.first_over_one_lsb.empty() ? "(none)" : r.first_over_one_lsb.c_str());
  for (const std::string& n : r.float_ops) std::printf("note: '%s' ran through the float path\n", n.c_str());
  for (const std::string& n : r.float_output_convs)
    std::printf("note: '%s': its output has no quantizer, a runtime runs this conv in float\n", n.c_str());
}

// Parses the options; false when --help was printed.
bool parse_verify_args(const std::vector<std::string>& args, VerifyOptions& a, PreprocessArgs& pre, bool* pre_given,
                       bool* quiet) {
  po::options_description all(
      "mqcalib verify: the simulation recorded in params.json against the integer executor (the runtime's\n"
      "integer arithmetic, chosen by the record's backend), per tensor and in top-1.\n\nOptions");
  // clang-format off
  all.add_options()
      ("model", po::value(&a.model)->required(), "the TorchScript model params.json was made for")
      ("params", po::value(&a.params)->required(), "params.json written by `mqcalib quantize`")
      ("eval", po::value(&a.eval.path)->required(), "evaluation data (IDX, .npy, image folder)")
      ("eval-labels", po::value(&a.eval.labels)->required(), "labels of --eval")
      ("eval-limit", po::value(&a.eval_limit)->default_value(0), "verify on the first N samples only (0: all)")
      ("onnx", po::value(&a.onnx), "also write the QDQ ONNX model of this record to FILE")
      ("report", po::value(&a.report), "merge the verify block into this report.json (default: the one beside --params, if any)")
      ("dump-inputs", po::value(&a.dump_inputs), "write the preprocessed inputs as float32 .npy")
      ("dump-sim", po::value(&a.dump_sim), "write the simulation's outputs as float32 .npy")
      ("dump-int", po::value(&a.dump_int), "write the integer executor's outputs as float32 .npy")
      ("dump-codes", po::value(&a.dump_codes), "diagnosis: write the integer executor's codes of every tensor for the "
       "first batch into DIR/<tensor>.npy, and expose the codes as outputs of the --onnx model")
      ("threads", po::value(&a.threads)->default_value(0), "threads (0: all cores); results do not depend on it")
      ("batch-size", po::value(&a.batch_size)->default_value(a.batch_size), "batch size")
      ("quiet", po::bool_switch(quiet), "no progress on stderr")
      ("help,h", "this help");
  // clang-format on
  pre.add_to(all);
  po::variables_map vm;
  po::store(po::command_line_parser(args).options(all).run(), vm);
  if (vm.count("help")) {
    std::cout << all << "\n";
    return false;
  }
  po::notify(vm);
  *pre_given = PreprocessArgs::any_given(vm);
  return true;
}

}  // namespace

int run_verify(const std::vector<std::string>& args) {
  VerifyOptions o;
  PreprocessArgs pre;
  bool quiet = false, pre_given = false;
  if (!parse_verify_args(args, o, pre, &pre_given, &quiet)) return 0;
  o.eval = pre.to_data(o.eval.path, o.eval.labels);
  o.preprocess_from_record = !pre_given;
  Progress progress(quiet);
  o.progress = [&progress](const std::string& p, int64_t d, int64_t t) { progress(p, d, t); };
  const VerifySummary r = verify(o);
  progress.finish();
  print(r);
  if (!o.onnx.empty()) std::printf("wrote %s\n", o.onnx.c_str());
  return 0;
}

}  // namespace mqcalib::cli
