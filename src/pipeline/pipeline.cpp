// mqcalib/src/pipeline/pipeline.cpp: QuantizationPipeline's stage sequencing (stages: pipeline.h).
#include "pipeline/pipeline.h"

#include <sys/resource.h>

#include <chrono>
#include <set>

#include "core/error.h"
#include "deploy/deploy_model.h"
#include "export/exporters.h"
#include "export/onnx_qdq.h"
#include "export/output_folder.h"
#include "export/record_files.h"
#include "export/report_html.h"
#include "export/report_json.h"
#include "pipeline/bn_range_stage.h"
#include "pipeline/phase_timer.h"
#include "pipeline/record_stage.h"
#include "pipeline/report_detail.h"
#include "pipeline/verify.h"

namespace mqcalib {

namespace {

using Clock = std::chrono::steady_clock;

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
  if (!p)
    throw Error(ErrorKind::State,
                std::string("pipeline: ") + what + " is not there yet: run the " + stage + " stage first");
  return *p;
}

const FoldedModel& QuantizationPipeline::model() const { return need(model_, "the model", "load"); }
// Without equalization the model quantized is the folded model itself (no second copy of the weights).
const FoldedModel& QuantizationPipeline::prepared_model() const { return prepared_ ? *prepared_ : model(); }
const Graph& QuantizationPipeline::calibrated_graph() const { return corrected_ ? *corrected_ : prepared_model().graph; }
const QuantPlan& QuantizationPipeline::quant_plan() const { return need(plan_, "the plan", "plan"); }
const SampleStore& QuantizationPipeline::samples() const { return need(samples_, "the sample store", "read_samples"); }
const QuantState& QuantizationPipeline::state() const { return need(state_, "the quantization state", "calibrate"); }
const QuantRecord& QuantizationPipeline::record() const { return need(record_, "the record", "calibrate"); }
const Simulation& QuantizationPipeline::simulation() const { return need(simulation_, "the simulation", "calibrate"); }

void QuantizationPipeline::load() {
  if (config_.data_free.enabled) {
    load(data_free_sample_shape());
    return;
  }
  if (config_.calib.path.empty()) throw Error("pipeline: load() needs --calib (or load(sample_shape) for caller data)");
  {
    PhaseTimer t(report_, "load");
    calib_data_ = open_dataset(config_.calib.path, config_.calib.preprocess);
    if (config_.calib_size > calib_data_->size())
      throw Error(ErrorKind::Invalid, "--calib-size " + std::to_string(config_.calib_size) + " is more than the " +
                                          std::to_string(calib_data_->size()) + " samples of " +
                                          calib_data_->description());
    if (config_.reconstruct.method != "nearest" && config_.reconstruct.batch > config_.calib_size)
      throw Error(ErrorKind::Invalid, "--adaround-batch " + std::to_string(config_.reconstruct.batch) +
                                          " is more than the " + std::to_string(config_.calib_size) +
                                          " calibration samples (--calib-size)");
  }
  load(calib_data_->sample_shape());
}

void QuantizationPipeline::load(const Shape& sample_shape) {
  sample_shape_ = sample_shape;
  LoadedModel loaded;
  {
    PhaseTimer t(report_, "load");
    loaded = load_model(config_.model, sample_shape);
    if (config_.eval) open_eval_data(loaded.graph, sample_shape);
  }
  if (config_.data_free.enabled && config_.data_free.synthesis.samples > 0)
    unfolded_ = std::make_unique<Graph>(loaded.graph);
  {
    PhaseTimer t(report_, "fold");
    model_ = std::make_unique<FoldedModel>(fold_model(std::move(loaded)));
  }
  report_.folded_bn = static_cast<int64_t>(model_->folds.folded.size());
  report_.unfolded_bn.clear();
  for (const UnfoldedBn& u : model_->folds.unfolded) report_.unfolded_bn.emplace_back(u.bn, u.reason);
  PhaseTimer t(report_, "equalize");
  transforms_ = TransformReport{};
  prepared_.reset();
  if (config_.transforms.equalize)
    prepared_ = std::make_unique<FoldedModel>(equalize_model(*model_, config_.transforms, transforms_));
}

void QuantizationPipeline::open_eval_data(const Graph& model, const Shape& sample_shape) {
  const DataSource& e = *config_.eval;
  eval_data_ = open_dataset(e.path, e.preprocess);
  check_sample_shape(*eval_data_, sample_shape);
  eval_labels_ = load_labels(e.labels);
  check_labels(*eval_data_, eval_labels_, e.labels);
  check_labels_in_classes(model, eval_labels_, e.labels);
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
  // The graph quantized: the prepared model; with bias correction a copy, its biases corrected below
  // (a copy: calibrate can run again). Without, the prepared model itself: no further copy of the
  // weights while reconstruction runs.
  std::unique_ptr<Graph> corrected =
      config_.transforms.bias_correction ? std::make_unique<Graph>(prepared_model().graph) : nullptr;
  const Graph& prepared = corrected ? *corrected : prepared_model().graph;
  const QuantPlan& plan = quant_plan();
  auto st = std::make_unique<QuantState>();
  {
    PhaseTimer t(report_, "observe_weights");
    st->weights = observe_weights(prepared, plan, config_.w_observer);
  }
  record_method_settings();
  if (!config_.data_free.enabled || config_.data_free.synthesis.samples > 0) samples();  // the stage it needs
  if (!samples_) {  // data-free: nearest rounding (validate), activation ranges from BN statistics
    correct_biases(*st, corrected.get());
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
    const ReconstructInputs in{prepared,
                               plan,
                               calib,
                               config_.reconstruct,
                               config_.reconstruct_progress,
                               observe,
                               [this](const std::string& k, double v) { report_.method_settings.emplace_back(k, v); }};
    if (method->needs_activation_params()) st->activations = observe(*st);
    {
      PhaseTimer t(report_, "reconstruct");
      report_.reconstruction = method->run(in, *st);
    }
    correct_biases(*st, corrected.get());
    if (!method->needs_activation_params()) st->activations = observe(*st);
  }
  quantize_biases(*st, prepared, plan, config_.backend.weight.rounding);
  state_ = std::move(st);
  corrected_ = std::move(corrected);
}

void QuantizationPipeline::calibrate() {
  observe_and_reconstruct();
  PhaseTimer t(report_, "record");
  record_ = std::make_unique<QuantRecord>(make_record(calibrated_graph(), quant_plan(), state(), provenance()));
  record_weight_changes(*record_, model().graph, calibrated_graph(), state());
  simulation_ = std::make_unique<Simulation>(build_simulation(model().graph, *record_));
  report_transforms();
}

void QuantizationPipeline::record_method_settings() {
  const ReconstructOptions& r = config_.reconstruct;
  report_.method_settings = synthesis_settings_;  // the synthesis's losses, when it ran
  report_.method_choices.clear();
  if (r.method == "nearest") return;
  for (const auto& kv : std::vector<std::pair<std::string, double>>{
           {"iters", r.iters}, {"lambda", r.lambda}, {"round_lr", r.round_lr}, {"batch", r.batch}, {"seed", static_cast<double>(r.seed)}})
    report_.method_settings.push_back(kv);
  if (r.method != "brecq" && r.method != "qdrop") return;
  report_.method_settings.emplace_back("act_iters", r.method == "brecq" ? r.act_iters : 0);
  if (r.method == "qdrop") report_.method_settings.emplace_back("drop_prob", r.drop_prob);
  report_.method_settings.emplace_back("step_lr", r.step_lr > 0.0f ? r.step_lr : (r.method == "qdrop" ? 4e-5 : 4e-4));
  report_.method_settings.emplace_back("cache_budget_bytes", static_cast<double>(r.cache_budget_bytes));
  report_.method_choices = {{"granularity", r.granularity.empty() ? "block" : r.granularity}, {"loss", r.loss}};
}

void QuantizationPipeline::analyse() {
  PhaseTimer t(report_, "analyse");
  Analysis a = mqcalib::analyse(prepared_model().graph, quant_plan(), state(), simulation(), samples_.get(),
                                prepared_model().weight_stats, config_.backend);
  report_.layers = std::move(a.layers);
  report_.activations = std::move(a.activations);
  report_.outliers = std::move(a.findings);
  if (!samples_) return;  // data-free without synthesis: no samples to draw histograms from
  ReportDetail d =
      report_detail(simulation(), quant_plan(), state(), *samples_, model().weight_stats, config_.a_observer);
  report_.histograms = std::move(d.histograms);
  report_.channel_ranges = std::move(d.channel_ranges);
}

void QuantizationPipeline::evaluate() {
  if (!config_.eval) throw Error("pipeline: evaluate needs evaluation data (--eval)");
  PhaseTimer t(report_, "eval");
  const DataSource& e = *config_.eval;
  if (!eval_data_) {  // a pipeline driven stage by stage, with samples from a provider
    eval_data_ = open_dataset(e.path, e.preprocess);
    check_sample_shape(*eval_data_, sample_shape_);
    eval_labels_ = load_labels(e.labels);
    check_labels(*eval_data_, eval_labels_, e.labels);
    check_labels_in_classes(model().graph, eval_labels_, e.labels);
  }
  const Dataset* ds = eval_data_.get();
  const std::vector<int64_t>& labels = eval_labels_;
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
        evaluate_top1(changed, nullptr, labeled_batches(*ds, labels, config_.eval_limit, config_.batch_size), e.labels,
                      progress)
            .fp_top1();
  }
}

void QuantizationPipeline::evaluate_batch(const TensorF32& x, const std::vector<int64_t>& labels) {
  if (!evaluator_) evaluator_ = std::make_unique<TopOneEvaluator>(model().graph, simulation());
  PhaseTimer t(report_, "eval");
  evaluator_->add(x, labels, "labels");
  const EvalResult& r = evaluator_->result();
  report_.eval = EvalReport{r.samples, r.fp_top1(), r.q_top1(), r.agreement(), std::nullopt};
}

void QuantizationPipeline::verify() {
  if (!config_.eval) throw Error("pipeline: verify needs evaluation data (--eval)");
  PhaseTimer t(report_, "verify");
  const DataSource& e = *config_.eval;
  const std::unique_ptr<Dataset> ds = open_dataset(e.path, e.preprocess);
  check_sample_shape(*ds, sample_shape_);
  const std::vector<int64_t> labels = load_labels(e.labels);
  check_labels(*ds, labels, e.labels);
  const int64_t total = config_.eval_limit > 0 ? std::min(config_.eval_limit, ds->size()) : ds->size();
  // the integer model of the recorded FP weights (equalized, bias-corrected) and op changes; it keeps a
  // reference to the graph
  const Graph fp = recorded_fp_graph(model().graph, record());
  const IntModel im = int_model_from_record(fp, record(), config_.backend);
  report_.verify =
      verify_integer(simulation(), im, labeled_batches(*ds, labels, config_.eval_limit, config_.batch_size),
                     [this, total](int64_t done) {
                       if (config_.progress) config_.progress("verify", done, total);
                     });
}

void QuantizationPipeline::write_outputs() {
  if (config_.out_dir.empty()) throw Error("pipeline: write_outputs needs an output folder (--out)");
  write_outputs(config_.out_dir);
}

void QuantizationPipeline::write_outputs(const std::string& dir) {
  check_output_folder(dir);
  const auto t0 = Clock::now();
  OutputFiles files = record_files(record());
  report_.export_notes.clear();
  std::vector<std::string> native;
  for (auto& f : render_native_formats(record(), config_.backend.name, &report_.export_notes, config_.native)) {
    native.push_back(f.first);
    files.push_back(std::move(f));
  }
  bool qdq_written = false;
  if (writes_qdq_onnx(config_.backend.name, config_.exports)) {
    try {  // the QDQ model carries the recorded FP weights (equalized, bias-corrected) and op changes
      const Graph fp = recorded_fp_graph(model().graph, record());
      files.emplace_back(kQdqOnnxFile, qdq_onnx_bytes(int_model_from_record(fp, record(), config_.backend)));
      qdq_written = true;
    } catch (const Error& e) {
      report_.export_notes.push_back(std::string(kQdqOnnxFile) + " not written: " + e.what());
    }
  }
  if (const std::string note = deployment_weights_note(record(), native); !note.empty())
    report_.export_notes.push_back(note + (qdq_written ? std::string("; ") + kQdqOnnxFile + " carries them" : ""));
  report_.seconds["export"] = std::chrono::duration<double>(Clock::now() - t0).count();
  report_.peak_memory_bytes = peak_rss_bytes();
  report_.seconds["total"] = seconds_since_created();
  files.emplace_back("report.json", report_json_text(report_));
  files.emplace_back("report.html", report_html(report_));
  write_output_folder(dir, files);
  files_.clear();
  for (const auto& f : files)
    if (f.first.compare(0, 8, "weights/") != 0 && f.first.compare(0, 7, "folded/") != 0) files_.push_back(f.first);
}

double QuantizationPipeline::seconds_since_created() const {
  return std::chrono::duration<double>(Clock::now() - created_).count();
}

void QuantizationPipeline::run() {
  load();
  if (!config_.data_free.enabled)
    read_samples();
  else if (config_.data_free.synthesis.samples > 0)
    synthesize_samples();
  if (!config_.mixed.budget.empty()) allocate_bits();
  plan();
  calibrate();
  analyse();
  if (config_.eval) evaluate();
  if (config_.fix_outliers) fix_outliers();
  if (config_.sensitivity.enabled) sensitivity();
  if (config_.verify) verify();
  if (!config_.out_dir.empty()) write_outputs();
  report_.seconds["total"] = seconds_since_created();
}

RecordedSimulation load_recorded_simulation(const std::string& model, const std::string& params,
                                            const Shape& sample_shape) {
  QuantRecord record = load_record(params);
  FoldedModel m = fold_model(load_model(model, sample_shape));
  if (!record.provenance.model_sha256.empty() && record.provenance.model_sha256 != m.sha256)
    throw Error("--params '" + params + "' was written for a different model file (sha256 differs from '" + model +
                "')");
  check_record_complete(m.graph, record, params);
  Simulation sim = build_simulation(m.graph, record);
  return RecordedSimulation{std::move(m), std::move(record), std::move(sim)};
}

void check_record_complete(const Graph& folded, const QuantRecord& record, const std::string& params) {
  if (record.tensors.empty())
    throw Error("--params '" + params +
                "': the record lists no tensors; evaluating it would report the FP32 model as the quantized one");
  LayerPolicy policy;
  policy.skip.insert(record.provenance.skipped_layers.begin(), record.provenance.skipped_layers.end());
  policy.layer_bits = record.provenance.layer_bits;
  const QuantPlan plan = plan_quantization(folded, find_backend(record.provenance.backend), policy);
  std::set<std::pair<std::string, TensorRole>> listed;
  for (const TensorQuant& t : record.tensors) listed.insert({t.tensor, t.role});
  auto need = [&](const std::string& tensor, TensorRole role, const std::string& layer) {
    if (!listed.count({tensor, role}))
      throw Error("--params '" + params + "': no entry for " + std::string(to_string(role)) + " '" + tensor +
                  "' (layer '" + layer + "'), which backend " + record.provenance.backend +
                  " quantizes; an incomplete record would run it in FP32");
  };
  for (const WeightQuantPoint& w : plan.weights) {
    need(w.tensor, TensorRole::Weight, w.layer);
    if (!folded.nodes().at(w.node).params.bias.empty()) need(w.layer + ".bias", TensorRole::Bias, w.layer);
  }
  for (const ActQuantPoint& a : plan.activations) need(a.tensor, TensorRole::Activation, a.layer);
}

}  // namespace mqcalib
