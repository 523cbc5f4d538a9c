// mqcalib/src/pipeline/pipeline.h: QuantizationPipeline, the one object every front end drives (the
// C++ API's quantize(), the CLI, the C API). It holds the explicit state each stage hands to the next
// and runs the stages in order; each stage is a free function of its own header, runnable and
// testable alone:
//
//   stage            function (header)                              hands on
//   load             load_model            (model_stage.h)           LoadedModel: Graph + file SHA-256
//   fold             fold_model            (model_stage.h)           FoldedModel: folded Graph, folds, weight stats
//   equalize         equalize_model        (transform_stage.h)       the prepared model (--equalize: CLE, high-bias
//                                                                    absorption; else the folded model itself)
//   plan             plan_quantization     (quant_plan.h)            QuantPlan: points, value -> point map
//   read samples     SampleStore::load     (sample_store.h)          SampleStore: samples decoded once, hashed
//     (synthesize)   synthesize_inputs     (reconstruction/synthesis.h) ... of images made from BN statistics
//   observe weights  observe_weights       (observe.h)               QuantState.weights: ranges, params
//   reconstruct      a ReconstructionMethod (reconstruct.h)          QuantState: codes (learned steps)
//   bias correction  correct_biases_*      (transform_stage.h)       the prepared model's biases (--bias-correction)
//   observe acts     observe_activations   (observe.h)               QuantState.activations: ranges, params, stats
//     (data-free)    bn_range_activations  (bn_range_stage.h)        ... from BN statistics, no sample store
//   biases           quantize_biases       (observe.h)               QuantState.weights[].bias
//   record           make_record           (record_stage.h)          QuantRecord (+ Simulation, simulation.h)
//   analyse          analyse               (analysis.h)              Analysis: SQNR, outlier findings
//   evaluate         evaluate_top1         (evaluate.h)              EvalResult
//   verify           verify_integer        (verify.h)                VerifyReport (report's verify block)
//   export           write_outputs                                   the output folder (export/output_folder.h)
// Where accuracy goes (issue 16; pipeline_diagnose.cpp), when the config asks:
//   allocate bits    choose_mixed_precision (mixed_precision.h)      policy's per-layer bits, before the plan
//   sensitivity      measure_sensitivity   (sensitivity.h)           report: each unit alone, ranked
//   fix outliers     plan_outlier_fix      (outlier_fix.h)           the findings' advice applied, run again
// A stage called before the one it needs throws Error naming both. The config is validated when the
// pipeline is made, before any work.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "backends/backend.h"
#include "data/dataset.h"
#include "export/exporters.h"
#include "export/quant_record.h"
#include "export/run_report.h"
#include "pipeline/analysis.h"
#include "pipeline/evaluate.h"
#include "pipeline/mixed_precision.h"
#include "pipeline/model_stage.h"
#include "pipeline/observe.h"
#include "pipeline/quant_plan.h"
#include "pipeline/quant_state.h"
#include "pipeline/reconstruct.h"
#include "pipeline/sample_store.h"
#include "pipeline/sensitivity.h"
#include "pipeline/simulation.h"
#include "pipeline/transform_stage.h"
#include "reconstruction/synthesis.h"

namespace mqcalib {

// A data source on disk: path, preprocessing (and its description for the record), labels.
struct DataSource {
  std::string path;
  Preprocess preprocess;
  std::string preprocess_description;  // recorded in params.json provenance
  PreprocessRecord recorded;           // the same as fields (provenance.preprocess)
  std::string labels;                  // evaluation only
};

// The unit name the synthesis reports through PipelineConfig::reconstruct_progress (batch k of n, the
// iteration, its BN-statistics loss; soft NaN).
inline constexpr const char* kSynthesisUnit = "synthesize";

// --data-free (docs/data_free.md): no calibration data; activation ranges from the BN statistics.
struct DataFreeOptions {
  bool enabled = false;
  double range_sigmas = 6.0;  // --bn-range-sigmas: a BN-normal channel's range is beta +- n |gamma|
  Shape input_shape;          // --input-shape [C, H, W]; empty: the evaluation data's sample shape
  // --synthesize N (synthesis.samples > 0): calibrate on N images synthesized from the BN statistics
  // (ZeroQ, reconstruction/synthesis.h; its seed is the run's --seed) instead of BN ranges; then any
  // observer and method run on them as on real samples.
  SynthesisOptions synthesis;
  std::string save_synthetic;  // --save-synthetic FILE.npy: the images, float32 [N, C, H, W] (written atomically)
};

struct PipelineConfig {
  std::string model;
  BackendProfile backend;                  // overrides applied (resolve_backend)
  std::vector<std::string> backend_notes;  // what the overrides mean on this backend
  LayerPolicy policy;
  ObserverChoice w_observer, a_observer;
  ReconstructOptions reconstruct;
  TransformOptions transforms;  // --equalize, --bias-correction
  DataFreeOptions data_free;
  DataSource calib;  // with data_free: no path, the preprocessing gives the input's range
  int64_t calib_size = 1024;
  uint64_t seed = 0;
  int64_t batch_size = 64;
  std::optional<DataSource> eval;
  int64_t eval_limit = 0;  // 0: all
  // Also run the verify stage (pipeline/verify.h) on the evaluation data: the report's verify block.
  bool verify = false;
  // Extra exports beyond the backend's own files: "onnx" (model.qdq.onnx, export/onnx_qdq.h).
  std::vector<std::string> exports;
  NativeFormatOptions native;  // e.g. the TensorRT cache header version (--trt-version)
  std::string out_dir;         // empty: write nothing
  std::string command_line;
  ProgressFn progress;
  ReconstructProgress reconstruct_progress;
  // Issue 16: mixed precision before the plan (mixed.budget non-empty), the report's sensitivity,
  // the outlier findings' advice applied after the first run (--fix-outliers).
  MixedPrecisionConfig mixed;
  SensitivityConfig sensitivity;
  bool fix_outliers = false;
};

// Throws Error naming the option when the config cannot run: sizes, observers, method, files that do
// not exist, an output folder that cannot be written. An empty calib.path is legal: the caller then
// provides the samples (load(sample_shape), read_samples(provider)).
void validate(const PipelineConfig& config);

class QuantizationPipeline {
 public:
  explicit QuantizationPipeline(PipelineConfig config);  // validates
  ~QuantizationPipeline();

  // Opens the calibration data (its sample shape; --calib-size checked against its size; data-free:
  // --input-shape or the evaluation data's), loads, folds and prepares (equalizes) the model, and opens
  // the evaluation data and labels (checked against the sample shape, their count and the model's
  // classes): every input is validated before any work.
  void load();
  void load(const Shape& sample_shape);  // ... for data the caller provides (read_samples(provider))
  void plan();                           // quantizer placement
  void read_samples();                   // the sample store, from config.calib (calib_size samples drawn with seed);
                                         // not data-free
  void read_samples(BatchProvider& provider);  // ... from any provider (caller memory, callbacks)
  void synthesize_samples();  // data-free --synthesize: the sample store from images synthesized from BN statistics
  void calibrate();           // observe weights, reconstruct, observe activations, biases, record
  void analyse();
  void evaluate();  // on config.eval
  // One caller-fed evaluation batch [n, C, H, W] with its labels; accumulates into report().eval.
  void evaluate_batch(const TensorF32& x, const std::vector<int64_t>& labels);
  void allocate_bits();  // needs samples: sets config.policy's per-layer bits (before plan)
  void sensitivity();    // needs a plan and samples (evaluates with config.eval when sensitivity.evaluate)
  void fix_outliers();   // needs analyse: applies the findings' advice and runs plan .. evaluate again
  void write_outputs();                        // into config.out_dir
  void write_outputs(const std::string& dir);  // the whole set into `dir`
  void verify();  // on config.eval: the simulation against the integer executor
  void run();     // every stage the config asks for, in order

  const PipelineConfig& config() const { return config_; }
  const FoldedModel& model() const;           // the model file's plain BN fold (FP evaluation, the record's base)
  const FoldedModel& prepared_model() const;  // the model quantized: equalized (biases corrected in calibrate)
  const TransformReport& transforms() const { return transforms_; }
  const QuantPlan& quant_plan() const;
  const SampleStore& samples() const;
  const QuantState& state() const;
  const QuantRecord& record() const;
  const Simulation& simulation() const;
  const RunReport& report() const { return report_; }
  double seconds_since_created() const;  // the run's wall time so far (report seconds "total")
  std::vector<std::string> files_written() const { return files_; }

 private:
  template <class T>
  const T& need(const std::unique_ptr<T>& p, const char* what, const char* stage) const;
  void observe_and_reconstruct();
  void correct_biases(const QuantState& state, Graph* g);  // g: the copy corrected (--bias-correction only)
  void open_eval_data(const Graph& model, const Shape& sample_shape);
  void record_method_settings();
  Provenance provenance() const;
  Shape data_free_sample_shape() const;
  void report_transforms();

  PipelineConfig config_;
  std::unique_ptr<Dataset> calib_data_;
  std::unique_ptr<Dataset> eval_data_;  // opened and checked by load()
  std::vector<int64_t> eval_labels_;
  std::unique_ptr<FoldedModel> model_, prepared_;  // prepared_: only when equalized (else model_)
  std::vector<std::pair<std::string, double>> synthesis_settings_;  // report.json method_settings
  std::unique_ptr<Graph> unfolded_;    // the model as imported (its BN layers), kept by load for synthesize_samples
  std::unique_ptr<Graph> corrected_;  // with --bias-correction: the prepared graph, biases corrected
  const Graph& calibrated_graph() const;  // the record's graph: corrected_, else the prepared model's
  TransformReport transforms_;
  Shape sample_shape_;  // of one sample, set by load
  std::unique_ptr<QuantPlan> plan_;
  std::unique_ptr<SampleStore> samples_;
  std::unique_ptr<QuantState> state_;
  std::unique_ptr<QuantRecord> record_;
  std::unique_ptr<Simulation> simulation_;
  std::unique_ptr<TopOneEvaluator> evaluator_;  // caller-fed evaluation
  RunReport report_;
  std::vector<std::string> files_;
  std::chrono::steady_clock::time_point created_ = std::chrono::steady_clock::now();
};

// The simulation recorded in a params.json, rebuilt for evaluation: the model loaded and folded, the
// record (with its weight codes) checked against the model file's SHA-256, and the same
// build_simulation quantize uses. Throws Error naming the file that does not match.
struct RecordedSimulation {
  FoldedModel model;
  QuantRecord record;
  Simulation simulation;
};
// Throws Error naming the params file and the first tensor the model quantizes (on the record's
// backend, with its skipped layers) that the record lacks, or when it lists no tensor at all.
void check_record_complete(const Graph& folded, const QuantRecord& record, const std::string& params);
RecordedSimulation load_recorded_simulation(const std::string& model, const std::string& params,
                                            const Shape& sample_shape);

}  // namespace mqcalib
