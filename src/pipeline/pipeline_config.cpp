// mqcalib/src/pipeline/pipeline_config.cpp: validate(PipelineConfig), run before any work.
#include <filesystem>

#include "core/error.h"
#include "export/output_folder.h"
#include "pipeline/bit_allocation.h"
#include "pipeline/pipeline.h"

namespace mqcalib {

namespace {

// Samples per batch above this are refused: no model of this engine needs more, and a batch is
// allocated whole (a typo of 100000 would ask for gigabytes before anything runs).
constexpr int64_t kMaxBatch = 4096;

void need_path(const std::string& path, const std::string& option) {
  if (path.empty()) throw Error(option + " is required");
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) throw Error(option + " '" + path + "': no such file or folder");
}

void need_file(const std::string& path, const std::string& option) {
  need_path(path, option);
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) throw Error(option + " '" + path + "': is a folder, not a file");
}

// The options of issue 16's stages (pipeline_diagnose.cpp).
void validate_diagnose(const PipelineConfig& c) {
  if (!c.mixed.budget.empty()) {
    parse_bits_budget(c.mixed.budget, 1);  // the syntax; the size is checked against the model later
    if (c.mixed.w_bits_set.empty()) throw Error("--bits-set is empty");
    for (int b : c.mixed.w_bits_set)
      if (b < 2 || b > 16) throw Error("--bits-set: " + std::to_string(b) + " is not in 2..16");
    for (int b : c.mixed.a_bits_set)
      if (b < 2 || b > 16) throw Error("--a-bits-set: " + std::to_string(b) + " is not in 2..16");
    if (c.mixed.a_bits_average < 0) throw Error("--a-bits-budget must be positive");
    if (c.mixed.samples <= 0) throw Error("--sensitivity-samples must be positive");
  }
  if (c.sensitivity.enabled && c.sensitivity.samples <= 0) throw Error("--sensitivity-samples must be positive");
  if (c.sensitivity.evaluate && !c.eval) throw Error("sensitivity top-1 needs --eval");
}

// A file the run will write: its folder exists and it is not a folder itself.
void need_writable_file(const std::string& path, const std::string& option) {
  const std::filesystem::path p(path);
  std::error_code ec;
  const std::filesystem::path dir = p.parent_path().empty() ? std::filesystem::path(".") : p.parent_path();
  if (!std::filesystem::is_directory(dir, ec))
    throw Error(option + " '" + path + "': the folder '" + dir.string() + "' does not exist");
  if (std::filesystem::is_directory(p, ec)) throw Error(option + " '" + path + "': is a folder, not a file");
}

// The data-free options: no --calib, a sample shape from somewhere, only what needs no samples.
void validate_data_free(const PipelineConfig& c) {
  const DataFreeOptions& d = c.data_free;
  if (!(d.range_sigmas > 0.0) || d.range_sigmas > 1e3)
    throw Error("--bn-range-sigmas must be in (0, 1000], got " + std::to_string(d.range_sigmas));
  if (!d.enabled) {
    if (!d.input_shape.empty()) throw Error("--input-shape is for --data-free (the calibration data gives the shape)");
    if (d.synthesis.samples != 0) throw Error("--synthesize is for --data-free (there is calibration data)");
    if (!d.save_synthetic.empty()) throw Error("--save-synthetic is for --data-free --synthesize");
    return;
  }
  if (!c.calib.path.empty())
    throw Error("--data-free takes no --calib (its activation ranges come from BN statistics)");
  if (d.synthesis.samples == 0) {
    if (!d.save_synthetic.empty()) throw Error("--save-synthetic needs --synthesize N");
    if (c.reconstruct.method != "nearest")
      throw Error("--method " + c.reconstruct.method +
                  " learns from calibration samples: --data-free has none (add --synthesize N)");
  } else {
    validate(d.synthesis);
    if (c.reconstruct.method != "nearest" && c.reconstruct.batch > d.synthesis.samples)
      throw Error("--adaround-batch " + std::to_string(c.reconstruct.batch) + " is more than the " +
                  std::to_string(d.synthesis.samples) + " synthesized samples (--synthesize)");
    if (!d.save_synthetic.empty()) need_writable_file(d.save_synthetic, "--save-synthetic");
  }
  if (d.input_shape.empty() && !c.eval)
    throw Error("--data-free needs --input-shape C,H,W (or --eval data to take it from)");
  if (!d.input_shape.empty()) {
    bool ok = d.input_shape.size() == 3;
    for (int64_t v : d.input_shape) ok = ok && v > 0 && v <= 65536;
    if (!ok) throw Error("--input-shape " + shape_to_string(d.input_shape) + ": expected C,H,W, each in 1..65536");
  }
}

void validate_transforms(const TransformOptions& t) {
  if (t.equalization.max_sweeps <= 0) throw Error("equalization: the sweep limit must be positive");
  if (!(t.equalization.tolerance > 0.0)) throw Error("equalization: the tolerance must be positive");
  if (!(t.high_bias_sigmas >= 0.0) || t.high_bias_sigmas > 1e3)
    throw Error("high-bias absorption: sigmas must be in [0, 1000], got " + std::to_string(t.high_bias_sigmas));
}

}  // namespace

void validate(const PipelineConfig& c) {
  need_file(c.model, "--model");
  validate_data_free(c);
  validate_transforms(c.transforms);
  if (!c.calib.path.empty()) need_path(c.calib.path, "--calib");  // empty: data-free, or the caller's batches
  if (c.calib_size <= 0) throw Error("--calib-size must be positive, got " + std::to_string(c.calib_size));
  if (c.batch_size <= 0 || c.batch_size > kMaxBatch)
    throw Error("--batch-size must be in 1.." + std::to_string(kMaxBatch) + ", got " + std::to_string(c.batch_size));
  ObserverRegistry::instance().info(c.w_observer.name);  // unknown names fail before any work
  ObserverRegistry::instance().info(c.a_observer.name);
  validate(c.reconstruct);
  if (c.eval) {
    need_path(c.eval->path, "--eval");
    if (c.eval->labels.empty()) throw Error("--eval needs --eval-labels");
    need_file(c.eval->labels, "--eval-labels");
  }
  if (c.eval_limit < 0) throw Error("--eval-limit must be >= 0, got " + std::to_string(c.eval_limit));
  if (c.native.trt_version <= 0)
    throw Error("--trt-version must be positive (major*1000 + minor*100 + patch, e.g. 8600), got " +
                std::to_string(c.native.trt_version));
  if (c.verify && !c.eval) throw Error("--verify needs evaluation data (--eval, --eval-labels)");
  for (const std::string& e : c.exports)
    if (e != "onnx") throw Error("--export '" + e + "': the known extra export is onnx (model.qdq.onnx)");
  if (!c.out_dir.empty()) check_output_folder(c.out_dir);
  validate_diagnose(c);
}

}  // namespace mqcalib
