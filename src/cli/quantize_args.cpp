// mqcalib/src/cli/quantize_args.cpp: the option groups of `mqcalib quantize` (one function per group of
// --help) and their translation into QuantizeOptions.
#include "cli/quantize_args.h"

#include <sstream>

#include "mqcalib/error.h"

namespace po = boost::program_options;

namespace mqcalib::cli {

namespace {

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const std::string& x : v) s += (s.empty() ? "" : ", ") + x;
  return s;
}

po::options_description required_options(QuantizeOptions& o, std::string& calib) {
  po::options_description g("Required");
  g.add_options()("model", po::value(&o.model)->required(),
                  "TorchScript model file (scripted or traced), e.g. examples/zoo/resnet20.pt")(
      "calib", po::value(&calib),
      "calibration data: IDX file (.gz ok), .npy, or a folder of PNG/JPEG images (not with --data-free)")(
      "out", po::value(&o.out_dir)->required(),
      "output folder: params.json, report.json, report.html and the backend's native files");
  return g;
}

po::options_description quantization_options(QuantizeOptions& o, std::vector<std::string>& layer_bits) {
  const std::string obs = join(available_observers()), backs = join(available_backends());
  po::options_description g("Quantization");
  g.add_options()("backend", po::value(&o.backend)->default_value(o.backend), ("target runtime: " + backs).c_str())(
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
  return g;
}

po::options_description rounding_options(QuantizeOptions& o) {
  const std::string methods = join(available_methods());
  po::options_description g("Weight rounding");
  g.add_options()("method", po::value(&o.method)->default_value(o.method),
                  ("reconstruction method: " + methods).c_str())(
      "iters", po::value(&o.adaround_iters)->default_value(o.adaround_iters),
      "adaround / brecq / qdrop: rounding iterations per layer or unit (20000 as the papers; 2000 is a quick run)")(
      "lambda", po::value(&o.adaround_lambda)->default_value(o.adaround_lambda, "0.01"),
      "rounding regularizer weight (BRECQ / QDrop use 0.1 on MobileNetV2)")(
      "round-lr", po::value(&o.round_lr)->default_value(o.round_lr, "0.001"),
      "Adam lr of the rounding variables (the papers' 1e-3 was set for 20000 iterations)")(
      "adaround-batch", po::value(&o.adaround_batch)->default_value(o.adaround_batch),
      "samples per reconstruction iteration")(
      "granularity", po::value(&o.granularity),
      "brecq / qdrop: reconstruction units, layer | block | stage | network (block)")(
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
  return g;
}

po::options_description data_free_options(QuantizeOptions& o, std::string& input_shape) {
  po::options_description g(
      "Data-free and DFQ (docs/data_free.md); the DFQ recipe: --data-free --equalize "
      "--bias-correction");
  g.add_options()("data-free", po::bool_switch(&o.data_free),
                  "no calibration data: activation ranges from the BN statistics (beta +- n|gamma|), the "
                  "input's from --mean/--std")("bn-range-sigmas",
                                               po::value(&o.bn_range_sigmas)->default_value(o.bn_range_sigmas, "6"),
                                               "data-free: n of the BN ranges")(
      "input-shape", po::value(&input_shape), "data-free: one sample's shape C,H,W (default: the --eval data's)")(
      "equalize", po::bool_switch(&o.equalize),
      "cross-layer equalization of consecutive conv/linear layers, then high-bias absorption")(
      "equalize-relu6", po::value(&o.equalize_relu6)->default_value(o.equalize_relu6),
      "relu: an equalized pair's relu6 becomes relu (DFQ) | skip: pairs joined by relu6 stay as they are")(
      "bias-correction", po::bool_switch(&o.bias_correction),
      "subtract the quantized weights' mean output error: analytic from BN statistics with --data-free, "
      "empirical on the calibration data otherwise")(
      "synthesize", po::value(&o.synthesize)->default_value(0),
      "data-free: calibrate on N images synthesized so that every BN layer's batch statistics match its running "
      "ones (ZeroQ; seeded by --seed); then any observer and --method run on them (0: BN ranges)")(
      "synth-iters", po::value(&o.synth_iters)->default_value(o.synth_iters), "synthesis: Adam iterations per batch")(
      "synth-batch", po::value(&o.synth_batch)->default_value(o.synth_batch), "synthesis: images optimised together")(
      "synth-lr", po::value(&o.synth_lr)->default_value(o.synth_lr, "0.5"),
      "synthesis: Adam lr (x0.1 on plateaus, ZeroQ)")(
      "synth-smoothness", po::value(&o.synth_smoothness)->default_value(o.synth_smoothness, "0"),
      "synthesis: total-variation prior weight (0: off)")("synth-targets", po::bool_switch(&o.synth_targets),
                                                          "synthesis: push image i to class i mod K (cross-entropy)")(
      "save-synthetic", po::value(&o.save_synthetic), "synthesis: write the images to FILE.npy (float32 N,C,H,W)");
  return g;
}

po::options_description data_options(QuantizeOptions& o, std::string& eval, std::string& eval_labels) {
  po::options_description g("Data");
  g.add_options()("calib-size", po::value(&o.calib_size)->default_value(o.calib_size),
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
  return g;
}

po::options_description run_options(QuantizeOptions& o, std::string& config, bool& quiet) {
  po::options_description g("Run");
  g.add_options()("threads", po::value(&o.threads)->default_value(0),
                  "threads (0: all cores); results do not depend on it")(
      "batch-size", po::value(&o.batch_size)->default_value(o.batch_size), "batch size of calibration and evaluation")(
      "config", po::value(&config), "read options from FILE (key = value lines, same names as here)")(
      "quiet", po::bool_switch(&quiet), "no progress on stderr")("help,h", "this help");
  return g;
}

// "1,28,28" -> {1, 28, 28}.
std::vector<int64_t> parse_input_shape(const std::string& text) {
  std::vector<int64_t> shape;
  std::stringstream ss(text);
  std::string tok;
  try {
    while (std::getline(ss, tok, ',')) shape.push_back(std::stoll(tok));
  } catch (const std::exception&) {
    throw Error("--input-shape '" + text + "': expected C,H,W, e.g. 1,28,28");
  }
  return shape;
}

}  // namespace

po::options_description QuantizeArgs::describe() {
  po::options_description all(
      "mqcalib quantize: calibrate a TorchScript model for a backend, evaluate it, write its files.\n\n"
      "Example:\n  mqcalib quantize --model examples/zoo/resnet20.pt \\\n"
      "    --calib /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz \\\n"
      "    --mean 0.2860 --std 0.3530 --backend tensorrt \\\n"
      "    --eval /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz \\\n"
      "    --eval-labels /usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz --out out\n\nOptions");
  po::options_description where("Where accuracy goes (report.html)");
  diagnose.add_to(where);
  po::options_description data = data_options(o, eval, eval_labels);
  pre.add_to(data);
  all.add(required_options(o, calib))
      .add(quantization_options(o, layer_bits))
      .add(rounding_options(o))
      .add(where)
      .add(data_free_options(o, input_shape))
      .add(data)
      .add(run_options(o, config, quiet));
  return all;
}

void QuantizeArgs::finish(const std::vector<std::string>& args) {
  o.layer_bits = parse_layer_bits(layer_bits);
  diagnose.apply(o);
  o.calib = pre.to_data(calib, "");
  if (!input_shape.empty()) o.input_shape = parse_input_shape(input_shape);
  if (!eval.empty()) {
    if (eval_labels.empty()) throw Error("--eval needs --eval-labels");
    o.eval = pre.to_data(eval, eval_labels);
  }
  for (const std::string& a : args) o.command_line += (o.command_line.empty() ? "mqcalib quantize " : " ") + a;
}

}  // namespace mqcalib::cli
