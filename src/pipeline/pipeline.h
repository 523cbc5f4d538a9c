// mqcalib/src/pipeline/pipeline.h: QuantizationPipeline, the one object every front end drives (the
// C++ API's quantize(), the CLI, the C API). It holds the explicit state each stage hands to the next
// and runs the stages in order; each stage is a free function of its own header, runnable and
// testable alone:
//
//   stage            function (header)                              hands on
//   load             load_model            (model_stage.h)           LoadedModel: Graph + file SHA-256
//   fold             fold_model            (model_stage.h)           FoldedModel: folded Graph, folds, weight stats
//   plan             plan_quantization     (quant_plan.h)            QuantPlan: points, value -> point map
//   read samples     SampleStore::load     (sample_store.h)          SampleStore: samples decoded once, hashed
//   observe weights  observe_weights       (observe.h)               QuantState.weights: ranges, params
//   reconstruct      a ReconstructionMethod (reconstruct.h)          QuantState: codes (learned steps)
//   observe acts     observe_activations   (observe.h)               QuantState.activations: ranges, params, stats
//   biases           quantize_biases       (observe.h)               QuantState.weights[].bias
//   record           make_record           (record_stage.h)          QuantRecord (+ Simulation, simulation.h)
//   analyse          analyse               (analysis.h)              Analysis: SQNR, outlier findings
//   evaluate         evaluate_top1         (evaluate.h)              EvalResult
//   verify           verify_integer        (verify.h)                VerifyReport (report's verify block)
//   export           write_outputs                                   the output folder (export/output_folder.h)
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
#include "pipeline/model_stage.h"
#include "pipeline/observe.h"
#include "pipeline/quant_plan.h"
#include "pipeline/quant_state.h"
#include "pipeline/reconstruct.h"
#include "pipeline/sample_store.h"
#include "pipeline/simulation.h"

namespace mqcalib {

// A data source on disk: path, preprocessing (and its description for the record), labels.
struct DataSource {
  std::string path;
  Preprocess preprocess;
  std::string preprocess_description;  // recorded in params.json provenance
  PreprocessRecord recorded;           // the same as fields (provenance.preprocess)
  std::string labels;                  // evaluation only
};

struct PipelineConfig {
  std::string model;
  BackendProfile backend;                  // overrides applied (resolve_backend)
  std::vector<std::string> backend_notes;  // what the overrides mean on this backend
  LayerPolicy policy;
  ObserverChoice w_observer, a_observer;
  ReconstructOptions reconstruct;
  DataSource calib;
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
  std::string out_dir;     // empty: write nothing
  std::string command_line;
  ProgressFn progress;
  ReconstructProgress reconstruct_progress;
};

// Throws Error naming the option when the config cannot run: sizes, observers, method, files that do
// not exist, an output folder that cannot be written. An empty calib.path is legal: the caller then
// provides the samples (load(sample_shape), read_samples(provider)).
void validate(const PipelineConfig& config);

class QuantizationPipeline {
 public:
  explicit QuantizationPipeline(PipelineConfig config);  // validates
  ~QuantizationPipeline();

  // Opens the calibration data (its sample shape; --calib-size checked against its size), loads and
  // folds the model, and opens the evaluation data and labels (checked against the calibration
  // samples' shape, their count and the model's classes): every input is validated before any work.
  void load();
  void load(const Shape& sample_shape);  // ... for data the caller provides (read_samples(provider))
  void plan();                           // quantizer placement
  void read_samples();                   // the sample store, from config.calib (calib_size samples drawn with seed)
  void read_samples(BatchProvider& provider);  // ... from any provider (caller memory, callbacks)
  void calibrate();                            // observe weights, reconstruct, observe activations, biases, record
  void analyse();
  void evaluate();  // on config.eval
  // One caller-fed evaluation batch [n, C, H, W] with its labels; accumulates into report().eval.
  void evaluate_batch(const TensorF32& x, const std::vector<int64_t>& labels);
  void write_outputs();                        // into config.out_dir
  void write_outputs(const std::string& dir);  // the whole set into `dir`
  void verify();  // on config.eval: the simulation against the integer executor
  void run();                                  // every stage the config asks for, in order

  const PipelineConfig& config() const { return config_; }
  const FoldedModel& model() const;
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
  void open_eval_data(const Graph& model, const Shape& sample_shape);
  void record_method_settings();
  Provenance provenance() const;

  PipelineConfig config_;
  std::unique_ptr<Dataset> calib_data_;
  std::unique_ptr<Dataset> eval_data_;  // opened and checked by load()
  std::vector<int64_t> eval_labels_;
  std::unique_ptr<FoldedModel> model_;
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
