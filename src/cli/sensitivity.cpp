// mqcalib/src/cli/sensitivity.cpp: `mqcalib sensitivity`, a thin layer over mqcalib::sensitivity():
// each layer (or block) quantized alone, the rest FP32, ranked by its effect on the logits.
#include "mqcalib/sensitivity.h"

#include <boost/program_options.hpp>
#include <cmath>
#include <cstdio>

#include "cli/command_line.h"
#include "cli/commands.h"
#include "cli/config_file.h"
#include "cli/data_options.h"
#include "cli/diagnose_options.h"
#include "cli/progress.h"
#include "mqcalib/error.h"

namespace po = boost::program_options;

namespace mqcalib::cli {

namespace {

void print_rows(const SensitivitySummary& s) {
  std::printf("\n%4s %-28s %6s %6s %14s %12s %12s", "rank", "unit", "w-bits", "a-bits", "logits SQNR dB", "NSR", "KL");
  if (s.fp_top1) std::printf(" %8s %7s", "top-1", "drop");
  std::printf("\n");
  for (size_t i = 0; i < s.rows.size(); ++i) {
    const SensitivityRowSummary& r = s.rows[i];
    std::printf("%4zu %-28s %6d %6d %14.2f %12.4g %12.4g", i + 1, r.unit.c_str(), r.w_bits, r.a_bits, r.sqnr_db, r.nsr,
                r.kl);
    if (s.fp_top1 && r.top1) std::printf(" %7.2f%% %7.2f", *r.top1, *s.fp_top1 - *r.top1);
    std::printf("\n");
  }
  if (s.fp_top1)
    std::printf("\nFP32 top-1 %.2f%% on %lld samples\n", *s.fp_top1, static_cast<long long>(s.eval_samples));
  if (s.spearman)
    std::printf("Spearman rank correlation of %s with the top-1 drop: %.3f\n", s.metric.c_str(), *s.spearman);
}

}  // namespace

int run_sensitivity(const std::vector<std::string>& args) {
  SensitivityOptions s;
  QuantizeOptions& o = s.run;
  PreprocessArgs pre;
  std::string calib, eval, eval_labels, config, w_bits_set, a_bits_set;
  std::vector<std::string> layer_bits;
  bool quiet = false;
  po::options_description all(
      "mqcalib sensitivity: quantize one layer (or block) at a time with the rest in FP32 and rank them by the\n"
      "logits' noise-to-signal ratio (or KL divergence) on the calibration data; top-1 per unit with --eval.\n\n"
      "Example:\n  mqcalib sensitivity --model examples/zoo/resnet20.pt \\\n"
      "    --calib /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz --mean 0.2860 --std 0.3530 \\\n"
      "    --w-bits-set 2 --html sens.html\n\nOptions");
  all.add_options()("model", po::value(&o.model)->required(), "TorchScript model file")(
      "calib", po::value(&calib)->required(), "calibration data: IDX file (.gz ok), .npy, or a folder of images")(
      "backend", po::value(&o.backend)->default_value(o.backend), "target runtime (schemes and placement)")(
      "w-bits", po::value(&o.w_bits)->default_value(0), "the plan's weight bits (0: the backend's)")(
      "a-bits", po::value(&o.a_bits)->default_value(0), "the plan's activation bits (0: the backend's)")(
      "w-granularity", po::value(&o.w_granularity), "per-tensor | per-channel (default: the backend's)")(
      "w-observer", po::value(&o.w_observer)->default_value(o.w_observer), "weight range observer")(
      "a-observer", po::value(&o.a_observer)->default_value(o.a_observer), "activation range observer")(
      "percentile", po::value(&o.percentile)->default_value(o.percentile, "99.99"), "percentile observer")(
      "lp-norm", po::value(&o.lp_norm)->default_value(o.lp_norm, "2.0"), "mse observer: p")(
      "skip", po::value(&o.skip)->composing(), "keep this layer in fp32 (repeatable)")(
      "layer-bits", po::value(&layer_bits)->composing(), "per-layer bits NAME=B of the plan (repeatable)")(
      "first-last-8bit", po::bool_switch(&o.first_last_8bit), "the plan's first and last conv/linear at 8 bits")(
      "unit", po::value(&s.unit)->default_value(s.unit), "layer | block (quantized together)")(
      "w-bits-set", po::value(&w_bits_set),
      "measure every unit at each of these weight bits, e.g. 2 or 2,4,8 "
      "(default: the plan's bits)")("a-bits-set", po::value(&a_bits_set),
                                    "... and these input bits (default: the backend's)")(
      "metric", po::value(&s.metric)->default_value(s.metric),
      "kl (softmax KL divergence from FP32) | nsr (logits' noise-to-signal ratio): the ranking")(
      "samples", po::value(&s.samples)->default_value(s.samples), "calibration samples the logits are compared on")(
      "calib-size", po::value(&o.calib_size)->default_value(o.calib_size), "calibration samples drawn (observers)")(
      "seed", po::value(&o.seed)->default_value(o.seed), "seed of the calibration sampling")(
      "eval", po::value(&eval), "evaluation data: top-1 of every unit quantized alone")(
      "eval-labels", po::value(&eval_labels), "labels of --eval")(
      "eval-limit", po::value(&o.eval_limit)->default_value(0), "evaluate only the first N samples (0: all)")(
      "json", po::value(&s.json_path), "write the ranking as JSON (report.json's sensitivity schema)")(
      "html", po::value(&s.html_path), "write a self-contained HTML report of the ranking")(
      "threads", po::value(&o.threads)->default_value(0), "threads (0: all cores)")(
      "batch-size", po::value(&o.batch_size)->default_value(o.batch_size), "batch size")(
      "config", po::value(&config), "read options from FILE (key = value lines)")(
      "quiet", po::bool_switch(&quiet), "no progress on stderr")("help,h", "this help");
  pre.add_to(all);
  po::variables_map vm;
  if (!parse_command_line(args, all, vm)) return 0;
  if (vm.count("config")) store_config_file(vm["config"].as<std::string>(), all, vm);
  po::notify(vm);
  o.layer_bits = parse_layer_bits(layer_bits);
  if (!w_bits_set.empty()) s.w_bits = parse_int_list(w_bits_set, "--w-bits-set");
  if (!a_bits_set.empty()) s.a_bits = parse_int_list(a_bits_set, "--a-bits-set");
  o.calib = pre.to_data(calib, "");
  if (!eval.empty()) {
    if (eval_labels.empty()) throw Error("--eval needs --eval-labels");
    o.eval = pre.to_data(eval, eval_labels);
  }
  Progress progress(quiet);
  o.progress = [&progress](const std::string& p, int64_t d, int64_t t) { progress(p, d, t); };
  const SensitivitySummary r = sensitivity(s);
  progress.finish();
  std::printf("mqcalib %s  model %s  backend %s  %s alone (rest FP32), %lld calibration samples, ranked by %s\n",
              version().c_str(), o.model.c_str(), o.backend.c_str(), s.unit.c_str(), static_cast<long long>(r.samples),
              r.metric.c_str());
  print_rows(r);
  for (const std::string& f : r.files) std::printf("wrote %s\n", f.c_str());
  return 0;
}

}  // namespace mqcalib::cli
