// mqcalib/include/mqcalib/mqcalib.h: the public C++ API.
//
// What a deployment tool includes to run the same pipeline as `mqcalib quantize` (the CLI is a thin
// layer over these functions): load a TorchScript model, fold BN, calibrate on real data with the
// chosen observers, place quantizers as the chosen backend runs them, evaluate, and write
// params.json plus the backend's native files. Only standard-library types cross this boundary.
//
//   mqcalib::QuantizeOptions o;
//   o.model = "examples/zoo/resnet20.pt";
//   o.calib = "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz";
//   o.mean = {0.2860f}; o.std = {0.3530f};
//   o.backend = "tensorrt";
//   o.out_dir = "out";
//   mqcalib::QuantizeResult r = mqcalib::quantize(o);
//
// Errors throw std::runtime_error (mqcalib::Error) whose message names the bad input.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace mqcalib {

// (phase, done, total); total is -1 when unknown.
using ProgressCallback = std::function<void(const std::string& phase, int64_t done, int64_t total)>;

struct DataOptions {
  std::string path;                 // IDX (.gz or plain), .npy, or a folder of PNG/JPEG images
  std::string labels;               // IDX labels, .npy of ints, or text one per line (evaluation)
  std::vector<float> mean{0.0f};    // torchvision convention: (x/255 - mean) / std
  std::vector<float> std{1.0f};
  std::string color = "gray";       // gray | rgb | bgr (image folders)
  int resize = 0;                   // image folders: shorter side to this size (0: keep)
  int center_crop = 0;              // image folders: center crop (0: none)
  std::string layout = "nchw";      // .npy: nchw | nhwc
};

struct QuantizeOptions {
  std::string model;                // TorchScript file (scripted or traced)
  DataOptions calib;                // calibration data
  int64_t calib_size = 1024;        // samples drawn (deterministically from `seed`)
  uint64_t seed = 0;
  std::string backend = "tensorrt";  // see available_backends()
  int w_bits = 0;                   // 0: the backend's default
  int a_bits = 0;
  std::string w_granularity;        // "" (backend default) | per-tensor | per-channel
  std::string w_observer = "minmax";  // see available_observers()
  std::string a_observer = "kl";
  double percentile = 99.99;        // percentile observer
  double lp_norm = 2.0;             // mse observer
  std::vector<std::string> skip;    // layers kept in fp32
  std::map<std::string, int> layer_bits;  // layer -> bits (weight and input)
  bool first_last_8bit = false;
  std::optional<DataOptions> eval;  // evaluate FP and quantized top-1 when set
  int64_t eval_limit = 0;           // 0: the whole evaluation set
  std::string out_dir;              // written atomically; empty: write nothing
  int threads = 0;                  // 0: OpenMP default
  int batch_size = 64;
  std::string command_line;         // recorded in params.json provenance
  ProgressCallback progress;
};

struct LayerSummary {
  std::string layer;
  double weight_sqnr_db = 0;        // quantized weight vs folded FP weight
  double input_sqnr_db = 0;         // its input activation's quantization SQNR (calibration data)
  int w_bits = 0, a_bits = 0;
};

struct OutlierSummary {
  std::string layer;
  std::string kind;                 // weight_per_tensor_gap | weight_max_over_std | channel_range_spread | activation_heavy_tail
  std::string explanation;          // in words and numbers
  std::string advice;
};

struct EvalSummary {
  int64_t samples = 0;
  double fp_top1 = 0, q_top1 = 0, agreement = 0;  // percent
};

struct QuantizeResult {
  std::string backend;
  std::vector<LayerSummary> layers;
  std::vector<OutlierSummary> outliers;
  std::optional<EvalSummary> eval;
  std::vector<std::string> files;   // written into out_dir
  std::vector<std::string> notes;   // placement decisions, native formats skipped (with the reason)
  std::map<std::string, double> seconds;  // per phase
};

QuantizeResult quantize(const QuantizeOptions& options);

struct EvalOptions {
  std::string model;
  std::string params;               // params.json written by quantize()
  DataOptions eval;
  int64_t eval_limit = 0;
  int threads = 0;
  int batch_size = 64;
  ProgressCallback progress;
};

// Re-runs the simulation recorded in params.json exactly and evaluates it.
EvalSummary evaluate(const EvalOptions& options);

std::vector<std::string> available_observers();  // from the observer registry
std::vector<std::string> available_backends();   // from the backend table
std::string version();

}  // namespace mqcalib
