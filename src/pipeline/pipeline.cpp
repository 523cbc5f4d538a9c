// mqcalib/src/pipeline/pipeline.cpp: QuantizationPipeline's stage sequencing (stages: pipeline.h).
#include "pipeline/pipeline.h"

#include <sys/resource.h>

#include <chrono>

#include "core/error.h"
#include "export/exporters.h"
#include "export/output_folder.h"
#include "export/record_files.h"
#include "export/report_json.h"
#include "pipeline/bn_range_stage.h"
#include "pipeline/record_stage.h"

namespace mqcalib {

namespace {

using Clock = std::chrono::steady_clock;

// Adds the seconds since construction to report.seconds[phase] when it goes out of scope.
class PhaseTimer {
 public:
  PhaseTimer(RunReport& r, const char* phase) : r_(r), phase_(phase), t0_(Clock::now()) {}
  ~PhaseTimer() { r_.seconds[phase_] += std::chrono::duration<double>(Clock::now() - t0_).count(); }

 private:
  RunReport& r_;
  const char* phase_;
  Clock::time_point t0_;
};

int64_t peak_rss_bytes() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<int64_t>(ru.ru_maxrss) * 1024;
}

}  // namespace

QuantizationPipeline::QuantizationPipeline(PipelineConfig config) : config_(std::move(config)) {
  validate(config_);
  report_.tool_version = MQCALIB_VERSION;
  report_.model = config_.model;
  report_.backend = config_.backend.name;
  report_.backend_notes = config_.backend_notes;
  report_.w_observer = config_.w_observer.name;
  report_.a_observer = config_.a_observer.name;
  report_.seed = config_.seed;
  report_.method = config_.reconstruct.method;
}

QuantizationPipeline::~QuantizationPipeline() = default;

template <class T>
const T& QuantizationPipeline::need(const std::unique_ptr<T>& p, const char* what, const char* stage) const {
  if (!p) throw Error(std::string("pipeline: ") + what + " is not there yet: run the " + stage + " stage first");
  return *p;
}

const FoldedModel& QuantizationPipeline::model() const { return need(model_, "the model", "load"); }
const FoldedModel& QuantizationPipeline::prepared_model() const { return need(prepared_, "the model", "load"); }
const QuantPlan& QuantizationPipeline::quant_plan() const { return need(plan_, "the plan", "plan"); }
const SampleStore& QuantizationPipeline::samples() const { return need(samples_, "the sample store", "read_samples"); }
const QuantState& QuantizationPipeline::state() const { return need(state_, "the quantization state", "calibrate"); }
const QuantRecord& QuantizationPipeline::record() const { return need(record_, "the record", "calibrate"); }
const Simulation& QuantizationPipeline::simulation() const { return need(simulation_, "the simulation", "calibrate"); }

Shape QuantizationPipeline::open_sample_shape() {
  if (!config_.data_free.enabled) {
    calib_data_ = open_dataset(config_.calib.path, config_.calib.preprocess);
    return calib_data_->sample_shape();
  }
  if (!config_.data_free.input_shape.empty()) return config_.data_free.input_shape;
  MQCALIB_ASSERT(config_.eval.has_value(), "data-free needs --input-shape or --eval (validate)");
  return open_dataset(config_.eval->path, config_.eval->preprocess)->sample_shape();
}

void QuantizationPipeline::load() {
  LoadedModel loaded;
  {
    PhaseTimer t(report_, "load");
    sample_shape_ = open_sample_shape();
    loaded = load_model(config_.model, sample_shape_);
  }
  {
    PhaseTimer t(report_, "fold");
    model_ = std::make_unique<FoldedModel>(fold_model(std::move(loaded)));
  }
  report_.folded_bn = static_cast<int64_t>(model_->folds.folded.size());
  report_.unfolded_bn.clear();
  for (const UnfoldedBn& u : model_->folds.unfolded) report_.unfolded_bn.emplace_back(u.bn, u.reason);
  PhaseTimer t(report_, "equalize");
  transforms_ = TransformReport{};
  prepared_ = std::make_unique<FoldedModel>(equalize_model(*model_, config_.transforms, transforms_));
}

void QuantizationPipeline::plan() {
  plan_ = std::make_unique<QuantPlan>(plan_quantization(prepared_model().graph, config_.backend, config_.policy));
  report_.placement_notes = plan_->notes;
}

void QuantizationPipeline::read_samples() {
  if (config_.data_free.enabled)
    throw Error("pipeline: a data-free run has no calibration data to read (give read_samples a BatchProvider)");
  if (!calib_data_) throw Error("pipeline: the calibration data is not open yet: run the load stage first");
  DatasetBatches provider(*calib_data_, sample_indices(calib_data_->size(), config_.calib_size, config_.seed));
  read_samples(provider);
}

void QuantizationPipeline::read_samples(BatchProvider& provider) {
  PhaseTimer t(report_, "read_samples");
  SampleStoreOptions so;
  so.batch = config_.batch_size;
  so.cache.ram_budget_bytes = config_.reconstruct.cache_budget_bytes;
  so.cache.spill_dir = config_.reconstruct.spill_dir;
  samples_ = std::make_unique<SampleStore>(SampleStore::load(provider, so, config_.progress));
  report_.calib_samples = samples_->size();
}

void QuantizationPipeline::observe_and_reconstruct() {
  // The graph quantized: the prepared model, biases corrected below (a copy: calibrate can run again).
  auto calibrated = std::make_unique<Graph>(prepared_model().graph);
  Graph& prepared = *calibrated;
  const QuantPlan& plan = quant_plan();
  auto st = std::make_unique<QuantState>();
  {
    PhaseTimer t(report_, "observe_weights");
    st->weights = observe_weights(prepared, plan, config_.w_observer);
  }
  if (!config_.data_free.enabled) samples();  // the stage it needs
  if (!samples_) {  // data-free: nearest rounding (validate), activation ranges from BN statistics
    correct_biases(*st, prepared);
    PhaseTimer t(report_, "observe_activations");
    st->activations = bn_range_activations(prepared, plan, input_ranges(prepared, config_.calib.preprocess),
                                           config_.data_free.range_sigmas);
  } else {
    const SampleStore& calib = *samples_;
    const std::unique_ptr<ReconstructionMethod> method = find_method(config_.reconstruct.method).create();
    auto observe = [&](const QuantState& s) {
      PhaseTimer t(report_, "observe_activations");
      return observe_activations(with_quantized_weights(prepared, s), plan, calib, config_.a_observer,
                                 config_.progress);
    };
    const ReconstructInputs in{prepared, plan, calib, config_.reconstruct, config_.reconstruct_progress, observe};
    if (method->needs_activation_params()) st->activations = observe(*st);
    {
      PhaseTimer t(report_, "reconstruct");
      report_.reconstruction = method->run(in, *st);
    }
    correct_biases(*st, prepared);
    if (!method->needs_activation_params()) st->activations = observe(*st);
  }
  quantize_biases(*st, prepared, plan, config_.backend.weight.rounding);
  state_ = std::move(st);
  calibrated_ = std::move(calibrated);
}

void QuantizationPipeline::correct_biases(const QuantState& state, Graph& g) {
  transforms_.bias_correction = BiasCorrectionMode::None;
  transforms_.corrections.clear();
  if (!config_.transforms.bias_correction) return;
  PhaseTimer t(report_, "bias_correction");
  if (samples_) {
    transforms_.bias_correction = BiasCorrectionMode::Empirical;
    transforms_.corrections = correct_biases_empirical(g, state, *samples_, config_.progress);
  } else {
    transforms_.bias_correction = BiasCorrectionMode::Analytic;
    transforms_.corrections =
        correct_biases_analytic(g, state, input_ranges(g, config_.calib.preprocess), config_.data_free.range_sigmas);
  }
}

void QuantizationPipeline::calibrate() {
  observe_and_reconstruct();
  PhaseTimer t(report_, "record");
  record_ = std::make_unique<QuantRecord>(make_record(*calibrated_, quant_plan(), state(), provenance()));
  record_weight_changes(*record_, model().graph, *calibrated_, state());
  simulation_ = std::make_unique<Simulation>(build_simulation(model().graph, *record_));
  report_.method_settings.clear();
  if (config_.reconstruct.method != "nearest")
    report_.method_settings = {{"iters", config_.reconstruct.iters},
                               {"lambda", config_.reconstruct.lambda},
                               {"batch", config_.reconstruct.batch},
                               {"seed", static_cast<double>(config_.reconstruct.seed)}};
  report_transforms();
}

void QuantizationPipeline::report_transforms() {
  TransformSummary& t = report_.transforms;
  t = TransformSummary{};
  if (!samples_) {
    t.activation_ranges = kBnRangeObserver;
    t.range_sigmas = config_.data_free.range_sigmas;
  }
  const EqualizeReport& e = transforms_.equalization;
  for (const EqualizedPair& p : e.pairs)
    t.equalized_pairs.push_back(p.first + " -> " + p.second + " (" + std::string(to_string(p.join)) + ")");
  t.equalization_sweeps = config_.transforms.equalize ? e.sweeps : 0;
  t.equalization_last_change = e.last_change;
  t.relu6_replaced = e.relu6_replaced;
  t.relu6_skipped = e.relu6_skipped;
  for (const AbsorbedBias& a : transforms_.absorbed) t.absorbed.push_back(a.first + " -> " + a.second);
  t.bias_correction = std::string(to_string(transforms_.bias_correction));
  for (const BiasCorrection& b : transforms_.corrections) {
    if (b.skipped.empty())
      t.bias_corrected.push_back(b.layer);
    else
      t.bias_correction_skipped.emplace_back(b.layer, b.skipped);
  }
}

Provenance QuantizationPipeline::provenance() const {
  Provenance p;
  p.tool_version = MQCALIB_VERSION;
  p.model_path = config_.model;
  p.model_sha256 = model().sha256;
  p.backend = config_.backend.name;
  p.preprocessing = config_.calib.preprocess_description;
  p.layout = "NCHW " + shape_to_string(sample_shape_);
  p.seed = config_.seed;
  p.calib_samples = samples_ ? samples_->size() : 0;
  p.calib_sha256 = samples_ ? samples_->sha256() : "";
  p.skipped_layers.assign(config_.policy.skip.begin(), config_.policy.skip.end());
  p.layer_bits = config_.policy.layer_bits;
  p.command_line = config_.command_line;
  p.weight_rounding = config_.reconstruct.method;
  if (!samples_) {
    p.activation_ranges = kBnRangeObserver;
    p.range_sigmas = config_.data_free.range_sigmas;
  }
  if (config_.transforms.equalize) {
    p.relu6_policy = std::string(to_string(config_.transforms.equalization.relu6));
    for (const EqualizedPair& e : transforms_.equalization.pairs)
      p.equalization.push_back(
          {e.first, e.second, std::string(to_string(e.join)), std::vector<float>(e.scales.begin(), e.scales.end())});
    p.high_bias_sigmas = config_.transforms.high_bias_sigmas;
  }
  p.bias_correction = std::string(to_string(transforms_.bias_correction));
  return p;
}

void QuantizationPipeline::analyse() {
  PhaseTimer t(report_, "analyse");
  Analysis a = mqcalib::analyse(prepared_model().graph, quant_plan(), state(), simulation(), samples_.get(),
                                prepared_model().weight_stats, config_.backend);
  report_.layers = std::move(a.layers);
  report_.activations = std::move(a.activations);
  report_.outliers = std::move(a.findings);
}

void QuantizationPipeline::evaluate() {
  if (!config_.eval) throw Error("pipeline: evaluate needs evaluation data (--eval)");
  PhaseTimer t(report_, "eval");
  const DataSource& e = *config_.eval;
  const std::unique_ptr<Dataset> ds = open_dataset(e.path, e.preprocess);
  check_sample_shape(*ds, sample_shape_);
  const std::vector<int64_t> labels = load_labels(e.labels);
  check_labels(*ds, labels, e.labels);
  const int64_t total = config_.eval_limit > 0 ? std::min(config_.eval_limit, ds->size()) : ds->size();
  const ProgressFn progress = [this, total](const std::string& phase, int64_t done, int64_t) {
    if (config_.progress) config_.progress(phase, done, total);
  };
  const EvalResult r =
      evaluate_top1(model().graph, simulation(), labeled_batches(*ds, labels, config_.eval_limit, config_.batch_size),
                    e.labels, progress);
  report_.eval = EvalReport{r.samples, r.fp_top1(), r.q_top1(), r.agreement(), std::nullopt};
  if (!record().op_changes.empty()) {  // the float network with only the op changes (relu6 -> relu): their cost
    QuantRecord ops;
    ops.op_changes = record().op_changes;
    const Graph changed = recorded_fp_graph(model().graph, ops);
    report_.eval->fp_top1_op_changes =
        evaluate_top1(changed, nullptr, labeled_batches(*ds, labels, config_.eval_limit, config_.batch_size),
                      e.labels, progress)
            .fp_top1();
  }
}

void QuantizationPipeline::write_outputs() {
  if (config_.out_dir.empty()) throw Error("pipeline: write_outputs needs an output folder (--out)");
  const auto t0 = Clock::now();
  OutputFiles files = record_files(record());
  report_.export_notes.clear();
  std::vector<std::string> native;
  for (auto& f : render_native_formats(record(), config_.backend.name, &report_.export_notes)) {
    native.push_back(f.first);
    files.push_back(std::move(f));
  }
  if (const std::string note = deployment_weights_note(record(), native); !note.empty())
    report_.export_notes.push_back(note);
  report_.seconds["export"] = std::chrono::duration<double>(Clock::now() - t0).count();
  report_.peak_memory_bytes = peak_rss_bytes();
  files.emplace_back("report.json", report_json_text(report_));
  write_output_folder(config_.out_dir, files);
  files_.clear();
  for (const auto& f : files)
    if (f.first.compare(0, 8, "weights/") != 0 && f.first.compare(0, 7, "folded/") != 0) files_.push_back(f.first);
}

void QuantizationPipeline::run() {
  const auto t0 = Clock::now();
  load();
  plan();
  if (!config_.data_free.enabled) read_samples();
  calibrate();
  analyse();
  if (config_.eval) evaluate();
  report_.seconds["total"] = std::chrono::duration<double>(Clock::now() - t0).count();
  if (!config_.out_dir.empty()) write_outputs();
  report_.seconds["total"] = std::chrono::duration<double>(Clock::now() - t0).count();
}

RecordedSimulation load_recorded_simulation(const std::string& model, const std::string& params,
                                            const Shape& sample_shape) {
  QuantRecord record = load_record(params);
  FoldedModel m = fold_model(load_model(model, sample_shape));
  if (!record.provenance.model_sha256.empty() && record.provenance.model_sha256 != m.sha256)
    throw Error("--params '" + params + "' was written for a different model file (sha256 differs from '" + model +
                "')");
  Simulation sim = build_simulation(m.graph, record);
  return RecordedSimulation{std::move(m), std::move(record), std::move(sim)};
}

}  // namespace mqcalib
