// mqcalib/src/pipeline/pipeline.cpp: QuantizationPipeline's stage sequencing (stages: pipeline.h).
#include "pipeline/pipeline.h"

#include <sys/resource.h>

#include <chrono>

#include "core/error.h"
#include "export/exporters.h"
#include "export/output_folder.h"
#include "export/record_files.h"
#include "export/report_html.h"
#include "export/report_json.h"
#include "pipeline/phase_timer.h"
#include "pipeline/record_stage.h"
#include "pipeline/report_detail.h"

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
  if (!p) throw Error(std::string("pipeline: ") + what + " is not there yet: run the " + stage + " stage first");
  return *p;
}

const FoldedModel& QuantizationPipeline::model() const { return need(model_, "the model", "load"); }
const QuantPlan& QuantizationPipeline::quant_plan() const { return need(plan_, "the plan", "plan"); }
const SampleStore& QuantizationPipeline::samples() const { return need(samples_, "the sample store", "read_samples"); }
const QuantState& QuantizationPipeline::state() const { return need(state_, "the quantization state", "calibrate"); }
const QuantRecord& QuantizationPipeline::record() const { return need(record_, "the record", "calibrate"); }
const Simulation& QuantizationPipeline::simulation() const { return need(simulation_, "the simulation", "calibrate"); }

void QuantizationPipeline::load() {
  LoadedModel loaded;
  {
    PhaseTimer t(report_, "load");
    calib_data_ = open_dataset(config_.calib.path, config_.calib.preprocess);
    loaded = load_model(config_.model, calib_data_->sample_shape());
  }
  PhaseTimer t(report_, "fold");
  model_ = std::make_unique<FoldedModel>(fold_model(std::move(loaded)));
  report_.folded_bn = static_cast<int64_t>(model_->folds.folded.size());
  report_.unfolded_bn.clear();
  for (const UnfoldedBn& u : model_->folds.unfolded) report_.unfolded_bn.emplace_back(u.bn, u.reason);
}

void QuantizationPipeline::plan() {
  plan_ = std::make_unique<QuantPlan>(plan_quantization(model().graph, config_.backend, config_.policy));
  report_.placement_notes = plan_->notes;
}

void QuantizationPipeline::read_samples() {
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
  const Graph& folded = model().graph;
  const QuantPlan& plan = quant_plan();
  const SampleStore& calib = samples();
  auto st = std::make_unique<QuantState>();
  {
    PhaseTimer t(report_, "observe_weights");
    st->weights = observe_weights(folded, plan, config_.w_observer);
  }
  const std::unique_ptr<ReconstructionMethod> method = find_method(config_.reconstruct.method).create();
  auto observe = [&](const QuantState& s) {
    PhaseTimer t(report_, "observe_activations");
    return observe_activations(with_quantized_weights(folded, s), plan, calib, config_.a_observer, config_.progress);
  };
  const ReconstructInputs in{folded, plan, calib, config_.reconstruct, config_.reconstruct_progress, observe};
  if (method->needs_activation_params()) st->activations = observe(*st);
  {
    PhaseTimer t(report_, "reconstruct");
    report_.reconstruction = method->run(in, *st);
  }
  if (!method->needs_activation_params()) st->activations = observe(*st);
  quantize_biases(*st, folded, plan, config_.backend.weight.rounding);
  state_ = std::move(st);
}

void QuantizationPipeline::calibrate() {
  observe_and_reconstruct();
  PhaseTimer t(report_, "record");
  record_ = std::make_unique<QuantRecord>(make_record(model().graph, quant_plan(), state(), provenance()));
  simulation_ = std::make_unique<Simulation>(build_simulation(model().graph, *record_));
  report_.method_settings.clear();
  if (config_.reconstruct.method != "nearest")
    report_.method_settings = {{"iters", config_.reconstruct.iters},
                               {"lambda", config_.reconstruct.lambda},
                               {"batch", config_.reconstruct.batch},
                               {"seed", static_cast<double>(config_.reconstruct.seed)}};
}

Provenance QuantizationPipeline::provenance() const {
  Provenance p;
  p.tool_version = MQCALIB_VERSION;
  p.model_path = config_.model;
  p.model_sha256 = model().sha256;
  p.backend = config_.backend.name;
  p.preprocessing = config_.calib.preprocess_description;
  p.layout = "NCHW " + shape_to_string(samples().sample_shape());
  p.seed = config_.seed;
  p.calib_samples = samples().size();
  p.calib_sha256 = samples().sha256();
  p.skipped_layers.assign(config_.policy.skip.begin(), config_.policy.skip.end());
  p.layer_bits = config_.policy.layer_bits;
  p.layer_a_bits = config_.policy.layer_a_bits;
  p.command_line = config_.command_line;
  p.weight_rounding = config_.reconstruct.method;
  return p;
}

void QuantizationPipeline::analyse() {
  PhaseTimer t(report_, "analyse");
  Analysis a = mqcalib::analyse(model().graph, quant_plan(), state(), simulation(), samples(), model().weight_stats,
                                config_.backend);
  report_.layers = std::move(a.layers);
  report_.activations = std::move(a.activations);
  report_.outliers = std::move(a.findings);
  ReportDetail d =
      report_detail(simulation(), quant_plan(), state(), samples(), model().weight_stats, config_.a_observer);
  report_.histograms = std::move(d.histograms);
  report_.channel_ranges = std::move(d.channel_ranges);
}

void QuantizationPipeline::evaluate() {
  if (!config_.eval) throw Error("pipeline: evaluate needs evaluation data (--eval)");
  PhaseTimer t(report_, "eval");
  const DataSource& e = *config_.eval;
  const std::unique_ptr<Dataset> ds = open_dataset(e.path, e.preprocess);
  check_sample_shape(*ds, samples().sample_shape());
  const std::vector<int64_t> labels = load_labels(e.labels);
  check_labels(*ds, labels, e.labels);
  const int64_t total = config_.eval_limit > 0 ? std::min(config_.eval_limit, ds->size()) : ds->size();
  const ProgressFn progress = [this, total](const std::string& phase, int64_t done, int64_t) {
    if (config_.progress) config_.progress(phase, done, total);
  };
  const EvalResult r =
      evaluate_top1(model().graph, simulation(), labeled_batches(*ds, labels, config_.eval_limit, config_.batch_size),
                    e.labels, progress);
  report_.eval = EvalReport{r.samples, r.fp_top1(), r.q_top1(), r.agreement()};
}

void QuantizationPipeline::write_outputs() {
  if (config_.out_dir.empty()) throw Error("pipeline: write_outputs needs an output folder (--out)");
  const auto t0 = Clock::now();
  OutputFiles files = record_files(record());
  report_.export_notes.clear();
  for (auto& f : render_native_formats(record(), config_.backend.name, &report_.export_notes))
    files.push_back(std::move(f));
  report_.seconds["export"] = std::chrono::duration<double>(Clock::now() - t0).count();
  report_.peak_memory_bytes = peak_rss_bytes();
  files.emplace_back("report.json", report_json_text(report_));
  files.emplace_back("report.html", report_html(report_));
  write_output_folder(config_.out_dir, files);
  files_.clear();
  for (const auto& f : files)
    if (f.first.compare(0, 8, "weights/") != 0) files_.push_back(f.first);
}

void QuantizationPipeline::run() {
  const auto t0 = Clock::now();
  load();
  read_samples();
  if (!config_.mixed.budget.empty()) allocate_bits();
  plan();
  calibrate();
  analyse();
  if (config_.eval) evaluate();
  if (config_.fix_outliers) fix_outliers();
  if (config_.sensitivity.enabled) sensitivity();
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
