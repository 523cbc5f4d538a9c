// mqcalib/src/cli/quantize.cpp: `mqcalib quantize`, a thin layer over mqcalib::quantize().
#include <boost/program_options.hpp>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <map>

#include "cli/commands.h"
#include "cli/config_file.h"
#include "cli/data_options.h"
#include "cli/progress.h"
#include "core/error.h"
#include "mqcalib/mqcalib.h"

namespace po = boost::program_options;

namespace mqcalib::cli {

namespace {

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const std::string& x : v) s += (s.empty() ? "" : ", ") + x;
  return s;
}

std::string db(double v) {
  char b[32];
  if (!std::isfinite(v)) return "exact";
  std::snprintf(b, sizeof b, "%.1f", v);
  return b;
}

}  // namespace

int run_quantize(const std::vector<std::string>& args) {
  QuantizeOptions o;
  PreprocessArgs pre;
  std::string calib, eval, eval_labels, config;
  std::vector<std::string> layer_bits;
  bool quiet = false;
  const std::string obs = join(available_observers()), backs = join(available_backends()),
                    methods = join(available_methods());

  po::options_description required("Required");
  required.add_options()("model", po::value(&o.model)->required(),
                         "TorchScript model file (scripted or traced), e.g. examples/zoo/resnet20.pt")(
      "calib", po::value(&calib)->required(),
      "calibration data: IDX file (.gz ok), .npy, or a folder of PNG/JPEG images")(
      "out", po::value(&o.out_dir)->required(),
      "output folder: params.json, report.json and the backend's native files");
  po::options_description quant("Quantization");
  quant.add_options()("backend", po::value(&o.backend)->default_value(o.backend), ("target runtime: " + backs).c_str())(
      "w-bits", po::value(&o.w_bits)->default_value(0), "weight bits (0: the backend's, 8)")(
      "a-bits", po::value(&o.a_bits)->default_value(0), "activation bits (0: the backend's, 8)")(
      "w-granularity", po::value(&o.w_granularity), "per-tensor | per-channel (default: the backend's)")(
      "w-observer", po::value(&o.w_observer)->default_value(o.w_observer), ("weight range observer: " + obs).c_str())(
      "a-observer", po::value(&o.a_observer)->default_value(o.a_observer),
      ("activation range observer: " + obs).c_str())(
      "percentile", po::value(&o.percentile)->default_value(o.percentile, "99.99"),
      "percentile observer: the percentile kept")("lp-norm", po::value(&o.lp_norm)->default_value(o.lp_norm, "2.0"),
                                                  "mse observer: p of the Lp error searched (BRECQ/QDrop use 2.4)")(
      "skip", po::value(&o.skip)->composing(), "keep this layer in fp32 (repeatable), e.g. --skip fc")(
      "layer-bits", po::value(&layer_bits)->composing(), "per-layer bits NAME=B for its weight and input (repeatable)")(
      "first-last-8bit", po::bool_switch(&o.first_last_8bit), "keep the first and last conv/linear at 8 bits");
  po::options_description recon("Weight rounding");
  recon.add_options()("method", po::value(&o.method)->default_value(o.method),
                      ("reconstruction method: " + methods).c_str())(
      "iters", po::value(&o.adaround_iters)->default_value(o.adaround_iters),
      "adaround / brecq / qdrop: rounding iterations per layer or unit (20000 as the papers; 2000 is a quick run)")(
      "lambda", po::value(&o.adaround_lambda)->default_value(o.adaround_lambda, "0.01"),
      "rounding regularizer weight (BRECQ / QDrop use 0.1 on MobileNetV2)")(
      "adaround-batch", po::value(&o.adaround_batch)->default_value(o.adaround_batch),
      "samples per reconstruction iteration")(
      "granularity", po::value(&o.granularity), "brecq / qdrop: reconstruction units, layer | block | stage | network (block)")(
      "loss", po::value(&o.recon_loss)->default_value(o.recon_loss),
      "brecq / qdrop: mse (Lp output loss) | fisher (BRECQ's Fisher-diagonal weighting)")(
      "act-iters", po::value(&o.act_iters)->default_value(o.act_iters),
      "brecq: activation-step iterations per unit (stage 2)")(
      "drop-prob", po::value(&o.drop_prob)->default_value(o.drop_prob, "0.5"),
      "qdrop: probability that an activation element takes its quantized value")(
      "step-lr", po::value(&o.step_lr)->default_value(o.step_lr, "0"),
      "brecq / qdrop: Adam lr of the activation steps (0: brecq 4e-4, qdrop 4e-5)")(
      "cache-budget", po::value(&o.cache_budget_mib)->default_value(o.cache_budget_mib),
      "MiB of RAM for cached activations and calibration samples; the rest is spilled to a temporary file");
  po::options_description data("Data");
  data.add_options()("calib-size", po::value(&o.calib_size)->default_value(o.calib_size),
                     "calibration samples drawn from --calib")("seed", po::value(&o.seed)->default_value(o.seed),
                                                               "seed of the calibration sampling")(
      "eval", po::value(&eval), "evaluation data: reports FP and quantized top-1 on all of it")(
      "eval-labels", po::value(&eval_labels), "labels of --eval: IDX labels, .npy of ints, or text, one per line")(
      "eval-limit", po::value(&o.eval_limit)->default_value(0), "evaluate only the first N samples (0: all)")(
      "verify", po::bool_switch(&o.verify),
      "also run the integer executor on --eval against the simulation (report.json's verify block)")(
      "export", po::value(&o.exports)->composing(),
      "extra export (repeatable): onnx (model.qdq.onnx; written by default for ort, tensorrt, openvino)")(
      "trt-version", po::value(&o.trt_version)->default_value(o.trt_version),
      "TensorRT version in calib.cache's header (major*1000 + minor*100 + patch: 8600 = 8.6.0)");
  pre.add_to(data);
  po::options_description run("Run");
  run.add_options()("threads", po::value(&o.threads)->default_value(0),
                    "threads (0: all cores); results do not depend on it")(
      "batch-size", po::value(&o.batch_size)->default_value(o.batch_size), "batch size of calibration and evaluation")(
      "config", po::value(&config), "read options from FILE (key = value lines, same names as here)")(
      "quiet", po::bool_switch(&quiet), "no progress on stderr")("help,h", "this help");
  po::options_description all(
      "mqcalib quantize: calibrate a TorchScript model for a backend, evaluate it, write its files.\n\n"
      "Example:\n  mqcalib quantize --model examples/zoo/resnet20.pt \\\n"
      "    --calib /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz \\\n"
      "    --mean 0.2860 --std 0.3530 --backend tensorrt \\\n"
      "    --eval /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz \\\n"
      "    --eval-labels /usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz --out out\n\nOptions");
  all.add(required).add(quant).add(recon).add(data).add(run);

  po::variables_map vm;
  po::store(po::command_line_parser(args).options(all).run(), vm);
  if (vm.count("help")) {
    std::cout << all << "\n";
    return 0;
  }
  if (vm.count("config")) store_config_file(vm["config"].as<std::string>(), all, vm);
  po::notify(vm);

  for (const std::string& lb : layer_bits) {
    const size_t eq = lb.rfind('=');
    int bits = 0;
    try {
      bits = eq == std::string::npos ? 0 : std::stoi(lb.substr(eq + 1));
    } catch (const std::exception&) {
      bits = 0;
    }
    if (eq == std::string::npos || eq == 0 || bits == 0)
      throw Error("--layer-bits '" + lb + "': expected NAME=BITS, e.g. fc=8");
    o.layer_bits[lb.substr(0, eq)] = bits;
  }
  o.calib = pre.to_data(calib, "");
  if (!eval.empty()) {
    if (eval_labels.empty()) throw Error("--eval needs --eval-labels");
    o.eval = pre.to_data(eval, eval_labels);
  }
  for (const std::string& a : args) o.command_line += (o.command_line.empty() ? "mqcalib quantize " : " ") + a;
  Progress progress(quiet);
  o.progress = [&progress](const std::string& p, int64_t d, int64_t t) { progress(p, d, t); };
  o.adaround_detail = [&progress](const std::string&, int, double loss, double soft) {
    char b[64];
    std::snprintf(b, sizeof b, "loss %.4g, soft %.1f%%", loss, 100.0 * soft);
    progress.set_detail(b);
  };

  const QuantizeResult r = quantize(o);
  progress.finish();

  std::printf("\nmqcalib %s  model %s  backend %s  observers w=%s a=%s  calib %lld samples\n", version().c_str(),
              o.model.c_str(), r.backend.c_str(), o.w_observer.c_str(), o.a_observer.c_str(),
              static_cast<long long>(o.calib_size));
  std::printf("\n%-28s %6s %6s %14s %14s\n", "layer", "w-bits", "a-bits", "weight SQNR dB", "input SQNR dB");
  for (const LayerSummary& l : r.layers)
    std::printf("%-28s %6d %6d %14s %14s\n", l.layer.c_str(), l.w_bits, l.a_bits, db(l.weight_sqnr_db).c_str(),
                db(l.input_sqnr_db).c_str());
  if (!r.outliers.empty()) {
    // One line per finding, the advice once per kind (a model often has many of one kind).
    std::printf("\nOutlier findings (%zu):\n", r.outliers.size());
    std::map<std::string, std::string> advice;
    for (const OutlierSummary& f : r.outliers) {
      std::printf("  %-28s [%s] %s\n", f.layer.c_str(), f.kind.c_str(), f.explanation.c_str());
      advice.emplace(f.kind, f.advice);
    }
    for (const auto& [kind, text] : advice) std::printf("  -> %s: %s\n", kind.c_str(), text.c_str());
  }
  for (const std::string& n : r.notes) std::printf("note: %s\n", n.c_str());
  if (!r.reconstruction.empty()) {
    std::printf("\n%-28s %5s %14s %14s %8s %8s\n", (o.method + " unit").c_str(), "bits", "loss before", "loss after", "soft",
                "seconds");
    for (const ReconstructionSummary& l : r.reconstruction)
      std::printf("%-28s %5d %14.4g %14.4g %7.1f%% %8.1f\n", l.layer.c_str(), l.bits, l.loss_nearest, l.loss_adaround,
                  100.0 * l.soft_fraction, l.seconds);
  }
  if (r.eval) {
    std::printf("\n%-10s %10s %12s %8s %10s\n", "samples", "FP32 top-1", "quant top-1", "drop", "agreement");
    std::printf("%-10lld %9.2f%% %11.2f%% %8.2f %9.2f%%\n", static_cast<long long>(r.eval->samples), r.eval->fp_top1,
                r.eval->q_top1, r.eval->fp_top1 - r.eval->q_top1, r.eval->agreement);
  }
  if (!r.files.empty()) {
    std::printf("\nwrote %s/: ", o.out_dir.c_str());
    for (size_t i = 0; i < r.files.size(); ++i) std::printf("%s%s", i ? ", " : "", r.files[i].c_str());
    std::printf("\n");
  }
  return 0;
}

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
  po::store(po::command_line_parser(args).options(all).run(), vm);
  if (vm.count("help")) {
    std::cout << all << "\n";
    return 0;
  }
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
