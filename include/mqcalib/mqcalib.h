// mqcalib/include/mqcalib/mqcalib.h: the public C++ API.
//
// What a deployment tool includes to run the same pipeline as `mqcalib quantize` (the CLI is a thin
// layer over these functions): load a TorchScript model, fold BN, calibrate on real data with the
// chosen observers, place quantizers as the chosen backend runs them, evaluate, and write
// params.json plus the backend's native files. Only standard-library types cross this boundary.
//
//   mqcalib::QuantizeOptions o;
//   o.model = "examples/zoo/resnet20.pt";
//   o.calib.path = "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz";
//   o.calib.mean = {0.2860f}; o.calib.std = {0.3530f};
//   o.backend = "tensorrt";
//   o.out_dir = "out";
//   mqcalib::QuantizeResult r = mqcalib::quantize(o);
//
// or, step by step with the caller's own data loop (mqcalib::Pipeline, below):
//
//   mqcalib::Pipeline p(o);                       // o.calib.path may stay empty
//   p.add_calibration_batch(x, n, 1, 28, 28);     // float32 NCHW, as many batches as wanted
//   p.calibrate();
//   for (const mqcalib::TensorParams& t : p.tensors()) ... t.scales, t.zero_points ...
//   p.write_outputs("out");
//
// Errors throw mqcalib::Error (mqcalib/error.h, a std::runtime_error) whose message names the bad input. The C API is
// mqcalib/mqcalib_c.h. Thread safety: objects are independent; one object is used by one thread at a
// time; no call changes process-wide state (the thread count is the calling thread's, for the call).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "mqcalib/error.h"  // mqcalib::Error (what every call throws), MQCALIB_API

namespace mqcalib {

// (phase, done, total); total is -1 when unknown. AdaRound reports phase "adaround <layer> i/n"
// with done/total its iterations and calls `detail` (when set) with the loss and soft fraction.
using ProgressCallback = std::function<void(const std::string& phase, int64_t done, int64_t total)>;

struct DataOptions {
  std::string path;               // IDX (.gz or plain), .npy, or a folder of PNG/JPEG images
  std::string labels;             // IDX labels, .npy of ints, or text one per line (evaluation)
  std::vector<float> mean{0.0f};  // torchvision convention: (x/255 - mean) / std
  std::vector<float> std{1.0f};
  std::string color = "gray";   // gray | rgb | bgr (image folders)
  int resize = 0;               // image folders: shorter side to this size (0: keep)
  int center_crop = 0;          // image folders: center crop (0: none)
  std::string layout = "nchw";  // .npy: nchw | nhwc
};

struct QuantizeOptions {
  std::string model;          // TorchScript file (scripted or traced)
  DataOptions calib;          // calibration data
  int64_t calib_size = 1024;  // samples drawn (deterministically from `seed`)
  uint64_t seed = 0;
  std::string backend = "tensorrt";  // see available_backends()
  int w_bits = 0;                    // 0: the backend's default
  int a_bits = 0;
  std::string w_granularity;          // "" (backend default) | per-tensor | per-channel
  std::string w_observer = "minmax";  // see available_observers()
  std::string a_observer = "kl";
  double percentile = 99.99;              // percentile observer
  double lp_norm = 2.0;                   // mse observer
  std::vector<std::string> skip;          // layers kept in fp32
  std::map<std::string, int> layer_bits;  // layer -> bits (weight and input)
  bool first_last_8bit = false;
  // Weight rounding: "nearest" (plain calibration) or "adaround" (layer-wise AdaRound on the
  // calibration samples, REFERENCE.md section 4; defaults as there, except iters, see below).
  std::string method = "nearest";
  int adaround_iters = 20000;     // per layer (the papers' default; 2000 is a usable quick run)
  float adaround_lambda = 0.01f;  // rounding regularizer weight
  float round_lr = 1e-3f;         // Adam lr of the rounding variables V (AdaRound / BRECQ / QDrop: 1e-3)
  int adaround_batch = 32;
  std::string granularity;  // reconstruction units: "" (the method's), layer, block, stage, network
  // RAM for cached activations (reconstruction caches, the calibration samples); beyond it they are
  // spilled to a temporary file (results do not depend on it).
  int64_t cache_budget_mib = 1024;
  // Data-free mode (docs/data_free.md): no calibration data (calib.path empty); activation ranges from the
  // BN statistics (beta +- bn_range_sigmas |gamma|, clipped by the activations), the input's range from
  // calib.mean / calib.std (pixels in [0, 1]); only method "nearest".
  bool data_free = false;
  double bn_range_sigmas = 6.0;
  std::vector<int64_t> input_shape;  // C, H, W of one sample (data-free; default: the eval data's)
  // DFQ's weight transforms (Nagel et al. 2019), with or without data. They change the FP weights:
  // the output folder carries them (folded/*.npy) and every native file needs them.
  bool equalize = false;                // cross-layer equalization, then high-bias absorption
  std::string equalize_relu6 = "relu";  // relu: relu6 of an equalized pair becomes relu (DFQ) | skip: no such pairs
  bool bias_correction = false;         // analytic from BN statistics (data-free) or empirical on the samples
  // Data-free with synthetic images (ZeroQ): `synthesize` images optimised (Adam) so that every BN
  // layer's batch statistics match its running ones; then any observer and method run on them. Seeded
  // by `seed`. 0: off (BN-statistics ranges).
  int64_t synthesize = 0;
  int synth_iters = 500;          // Adam iterations per batch (ZeroQ's 500)
  int64_t synth_batch = 32;       // images optimised together (their batch statistics)
  float synth_lr = 0.5f;          // Adam lr (ZeroQ's), reduced x0.1 on plateaus
  float synth_smoothness = 0.0f;  // total-variation prior weight (0: off)
  bool synth_targets = false;     // also push image i to class i mod K (cross-entropy)
  std::string save_synthetic;     // write the images to this .npy (float32 [N, C, H, W])
  // brecq / qdrop: block-wise reconstruction (REFERENCE.md sections 4 and 9); adaround_iters,
  // adaround_lambda and adaround_batch apply to them too (rounding iterations per unit), and their
  // granularity is block unless set.
  std::string recon_loss = "mse";    // mse | fisher (BRECQ's Fisher-diagonal weighting)
  int act_iters = 5000;              // brecq stage 2: activation-step iterations per unit
  float drop_prob = 0.5f;            // qdrop: probability that an element takes its quantized value
  float step_lr = 0.0f;              // activation-step Adam lr; 0: the method's (brecq 4e-4, qdrop 4e-5)
  std::optional<DataOptions> eval;   // evaluate FP and quantized top-1 when set
  int64_t eval_limit = 0;            // 0: the whole evaluation set
  bool verify = false;               // also compare the simulation with the integer executor (needs eval)
  std::vector<std::string> exports;  // extra exports: "onnx" (model.qdq.onnx; default for ort/tensorrt/openvino)
  int trt_version = 8600;            // TensorRT calib.cache header version (major*1000 + minor*100 + patch)
  std::string out_dir;               // written atomically; empty: write nothing
  int threads = 0;                   // 0: OpenMP default
  int batch_size = 64;
  std::string command_line;  // recorded in params.json provenance
  ProgressCallback progress;
  std::function<void(const std::string& layer, int iteration, double loss, double soft_fraction)> adaround_detail;
  // Where accuracy goes (issue 16). Mixed precision: per-layer bits from bits_set (weights) and
  // a_bits_set (inputs; empty: the backend's) minimising the summed sensitivity within bits_budget:
  // "3" (average weight bits) or a size "70KB" / "68KiB" / "70000B"; empty: off.
  std::string bits_budget;
  std::vector<int> bits_set{2, 3, 4, 8};
  std::vector<int> a_bits_set;
  double a_bits_budget = 0;                // > 0: average input-activation bits allowed
  std::string sensitivity_metric = "kl";  // kl | nsr: what the allocation minimises (docs/report.md)
  int64_t sensitivity_samples = 256;       // calibration samples the logits are compared on
  bool sensitivity = false;                // measure each layer alone at its bits for the report
  bool fix_outliers = false;               // apply the outlier findings' advice and run again
};

struct LayerSummary {
  std::string layer;
  double weight_sqnr_db = 0;  // quantized weight vs folded FP weight
  double input_sqnr_db = 0;   // its input activation's quantization SQNR (calibration data; NaN: data-free)
  int w_bits = 0, a_bits = 0;
};

struct OutlierSummary {
  std::string layer;
  std::string kind;  // weight_per_tensor_gap | weight_max_over_std | channel_range_spread | activation_heavy_tail
  std::string explanation;  // in words and numbers
  std::string advice;
};

struct ReconstructionSummary {
  std::string layer;
  int bits = 0;
  double loss_nearest = 0, loss_adaround = 0;  // layer output MSE vs FP over the calibration samples
  double soft_fraction = 0;                    // rounding variables still soft at the end
  double seconds = 0;
};

struct EvalSummary {
  int64_t samples = 0;
  double fp_top1 = 0, q_top1 = 0, agreement = 0;  // percent
  double fp_top1_op_changes = -1;                 // FP top-1 with equalization's relu6 -> relu alone; -1: no op changed
};

struct LayerBitsSummary {
  std::string layer;
  int w_bits = 0, a_bits = 0;
  bool fixed = false;  // set by --layer-bits / --first-last-8bit, not chosen
  double sensitivity = 0;
};

struct OutlierFixSummary {
  std::vector<std::pair<std::string, std::string>> actions;  // (layer, action)
  bool evaluated = false;
  double top1_before = 0, top1_after = 0;
  double logits_sqnr_before_db = 0, logits_sqnr_after_db = 0;
};

struct QuantizeResult {
  std::string backend;
  std::vector<LayerSummary> layers;
  std::vector<OutlierSummary> outliers;
  std::vector<ReconstructionSummary> reconstruction;  // method "adaround": one per layer
  std::optional<EvalSummary> eval;
  std::vector<std::string> files;                // written into out_dir
  std::vector<std::string> notes;                // placement decisions, native formats skipped (with the reason)
  std::map<std::string, double> seconds;         // per phase
  std::vector<LayerBitsSummary> bit_allocation;  // with bits_budget
  double average_w_bits = 0;
  std::optional<OutlierFixSummary> outlier_fix;  // with fix_outliers
};

MQCALIB_API QuantizeResult quantize(const QuantizeOptions& options);

struct EvalOptions {
  std::string model;
  std::string params;  // params.json written by quantize()
  DataOptions eval;
  // true: eval's preprocessing fields are replaced by the ones params.json records (the CLI sets it
  // when no preprocessing option is given). false: they must equal the record's, else an Error.
  bool preprocess_from_record = false;
  int64_t eval_limit = 0;
  int threads = 0;
  int batch_size = 64;
  ProgressCallback progress;
};

// Re-runs the simulation recorded in params.json exactly and evaluates it.
MQCALIB_API EvalSummary evaluate(const EvalOptions& options);

MQCALIB_API std::vector<std::string> available_observers();  // from the observer registry
MQCALIB_API std::vector<std::string> available_methods();    // reconstruction methods, from the method table
MQCALIB_API std::vector<std::string> available_backends();   // from the backend table
MQCALIB_API std::string version();

enum class TensorKind { Weight, Bias, Activation };

// One quantized tensor as the record holds it: real = scale[c] * (q - zero_point[c]).
struct TensorParams {
  std::string name;   // engine tensor name ("layer1.0.conv1.weight", "layer1.0.relu", ...)
  std::string layer;  // the node it belongs to
  TensorKind kind = TensorKind::Activation;
  int bits = 8;
  bool is_signed = true, symmetric = true;
  int axis = -1;  // channel axis of per-channel params, -1 per-tensor
  int32_t qmin = 0, qmax = 0;
  std::vector<float> scales;
  std::vector<int32_t> zero_points;
};

// The pipeline object, stage by stage (quantize() runs all of it). Calibration data comes from
// options.calib (a file), from add_calibration_batch (copied), or from a callback, in that order of
// precedence reversed: a callback, else memory batches, else the file.
class MQCALIB_API Pipeline {
 public:
  explicit Pipeline(QuantizeOptions options);  // validates the options (Error naming the bad one)
  ~Pipeline();
  Pipeline(Pipeline&&) noexcept;
  Pipeline& operator=(Pipeline&&) noexcept;

  // float32 NCHW samples [n, c, h, w], already preprocessed as the model expects; copied.
  void add_calibration_batch(const float* data, int64_t n, int64_t c, int64_t h, int64_t w);
  // Fills `buffer` (room for `capacity` samples of c*h*w floats) and returns how many it wrote; 0 ends
  // the data. May throw: the exception is reported by calibrate().
  using BatchCallback = std::function<int64_t(float* buffer, int64_t capacity)>;
  void set_calibration_callback(int64_t c, int64_t h, int64_t w, BatchCallback next);

  void calibrate();  // load, plan, read samples, observe, reconstruct (options.method), record, analyse
  bool calibrated() const;

  std::vector<TensorParams> tensors() const;  // record order
  std::optional<TensorParams> find_tensor(const std::string& name) const;
  QuantizeResult result() const;

  void evaluate();  // on options.eval
  void verify();    // on options.eval: the float simulation against the integer executor (report.json "verify")
  // Issue 16 (after calibrate; calibrate itself applies options.bits_budget). fix_outliers applies the
  // outlier findings' advice and calibrates again (evaluates again when evaluated): result().outlier_fix.
  // measure_sensitivity quantizes each layer alone at its planned bits for the report's sensitivity.
  void fix_outliers();
  void measure_sensitivity();
  // One evaluation batch [n, c, h, w] with n labels; accumulates into result().eval.
  void evaluate_batch(const float* data, const int64_t* labels, int64_t n, int64_t c, int64_t h, int64_t w);

  std::vector<std::string> write_outputs(const std::string& dir);  // the whole set; returns file names
  // One native file by its name ("calib.cache", "clip_ranges.json", "encodings.json", "ncnn.table") or
  // "params.json" (nearest rounding only: other methods need their weights/ folder, use write_outputs).
  void write_file(const std::string& file_name, const std::string& path) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace mqcalib
