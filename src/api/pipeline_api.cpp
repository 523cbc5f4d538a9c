// mqcalib/src/api/pipeline_api.cpp: mqcalib::Pipeline, the public C++ pipeline object, over the internal
// QuantizationPipeline (src/pipeline/pipeline.h).
#include "api/options.h"
#include "api/thread_scope.h"
#include "core/error.h"
#include "export/exporters.h"
#include "export/params_json.h"
#include "mqcalib/mqcalib.h"
#include "pipeline/batch_providers.h"
#include "pipeline/pipeline.h"

namespace mqcalib {

struct Pipeline::Impl {
  QuantizeOptions options;
  QuantizationPipeline pipeline;
  MemoryBatches memory;
  std::unique_ptr<CallbackBatches> callback;
  explicit Impl(QuantizeOptions o) : options(std::move(o)), pipeline(to_config(options)) {}
};

namespace {

TensorF32 batch_tensor(const float* data, int64_t n, int64_t c, int64_t h, int64_t w, const char* what) {
  if (!data) throw Error(std::string(what) + ": null data pointer");
  if (n < 1 || c < 1 || h < 1 || w < 1 || n > (int64_t{1} << 20) || c * h * w > (int64_t{1} << 26))
    throw Error(std::string(what) + ": shape [" + std::to_string(n) + ", " + std::to_string(c) + ", " +
                std::to_string(h) + ", " + std::to_string(w) + "] is not a batch of images (each dim >= 1)");
  return TensorF32({n, c, h, w}, std::vector<float>(data, data + n * c * h * w));
}

TensorParams to_params(const TensorQuant& t) {
  TensorParams p;
  p.name = t.tensor;
  p.layer = t.layer;
  p.kind = t.role == TensorRole::Weight ? TensorKind::Weight
           : t.role == TensorRole::Bias ? TensorKind::Bias
                                        : TensorKind::Activation;
  p.bits = t.scheme.bits;
  p.is_signed = t.scheme.signedness == Signedness::Signed;
  p.symmetric = t.scheme.symmetry == Symmetry::Symmetric;
  p.axis = t.params.axis;
  p.qmin = t.params.qmin;
  p.qmax = t.params.qmax;
  p.scales = t.params.scale;
  p.zero_points = t.params.zero_point;
  return p;
}

}  // namespace

Pipeline::Pipeline(QuantizeOptions options) {
  const ThreadScope threads(options.threads);
  impl_ = std::make_unique<Impl>(std::move(options));
}
Pipeline::~Pipeline() = default;
Pipeline::Pipeline(Pipeline&&) noexcept = default;
Pipeline& Pipeline::operator=(Pipeline&&) noexcept = default;

void Pipeline::add_calibration_batch(const float* data, int64_t n, int64_t c, int64_t h, int64_t w) {
  if (calibrated()) throw Error("add_calibration_batch: the pipeline is calibrated already");
  impl_->memory.add(batch_tensor(data, n, c, h, w, "add_calibration_batch"));
}

void Pipeline::set_calibration_callback(int64_t c, int64_t h, int64_t w, BatchCallback next) {
  if (calibrated()) throw Error("set_calibration_callback: the pipeline is calibrated already");
  impl_->callback = std::make_unique<CallbackBatches>(Shape{c, h, w}, std::move(next));
}

bool Pipeline::calibrated() const {
  try {
    impl_->pipeline.record();
    return true;
  } catch (const Error&) {
    return false;
  }
}

void Pipeline::calibrate() {
  const ThreadScope threads(impl_->options.threads);
  if (calibrated()) throw Error("calibrate: the pipeline is calibrated already");
  QuantizationPipeline& p = impl_->pipeline;
  BatchProvider* caller = impl_->callback          ? static_cast<BatchProvider*>(impl_->callback.get())
                          : !impl_->memory.empty() ? static_cast<BatchProvider*>(&impl_->memory)
                                                   : nullptr;
  if (caller && p.config().data_free.enabled)
    throw Error("calibrate: a data-free pipeline takes no calibration batches (its ranges come from BN statistics)");
  if (caller)
    p.load(caller->sample_shape());
  else
    p.load();
  p.plan();
  if (caller)
    p.read_samples(*caller);
  else if (!p.config().data_free.enabled)
    p.read_samples();
  else if (p.config().data_free.synthesis.samples > 0)
    p.synthesize_samples();
  if (!p.config().mixed.budget.empty()) {  // per-layer bits chosen on the samples, then the plan again
    p.allocate_bits();
    p.plan();
  }
  p.calibrate();
  p.analyse();
}

std::vector<TensorParams> Pipeline::tensors() const {
  std::vector<TensorParams> out;
  for (const TensorQuant& t : impl_->pipeline.record().tensors) out.push_back(to_params(t));
  return out;
}

std::optional<TensorParams> Pipeline::find_tensor(const std::string& name) const {
  for (const TensorQuant& t : impl_->pipeline.record().tensors)
    if (t.tensor == name) return to_params(t);
  return std::nullopt;
}

QuantizeResult Pipeline::result() const {
  QuantizeResult r = to_result(impl_->pipeline.report(), impl_->pipeline.files_written());
  r.seconds["total"] = impl_->pipeline.seconds_since_created();
  return r;
}

void Pipeline::evaluate() {
  const ThreadScope threads(impl_->options.threads);
  impl_->pipeline.evaluate();
}

void Pipeline::verify() {
  const ThreadScope threads(impl_->options.threads);
  impl_->pipeline.verify();
}

void Pipeline::fix_outliers() {
  const ThreadScope threads(impl_->options.threads);
  impl_->pipeline.fix_outliers();
}

void Pipeline::measure_sensitivity() {
  const ThreadScope threads(impl_->options.threads);
  impl_->pipeline.sensitivity();
}

void Pipeline::evaluate_batch(const float* data, const int64_t* labels, int64_t n, int64_t c, int64_t h, int64_t w) {
  const ThreadScope threads(impl_->options.threads);
  if (!labels) throw Error("evaluate_batch: null labels pointer");
  TensorF32 x = batch_tensor(data, n, c, h, w, "evaluate_batch");
  impl_->pipeline.evaluate_batch(x, std::vector<int64_t>(labels, labels + n));
}

std::vector<std::string> Pipeline::write_outputs(const std::string& dir) {
  const ThreadScope threads(impl_->options.threads);
  impl_->pipeline.write_outputs(dir);
  return impl_->pipeline.files_written();
}

void Pipeline::write_file(const std::string& file_name, const std::string& path) const {
  const QuantRecord& rec = impl_->pipeline.record();
  if (file_name == "params.json") {
    if (!rec.weight_codes.empty())
      throw Error("write_file params.json: this run has integer weight codes (" + rec.provenance.weight_rounding +
                  "): write the whole set with write_outputs");
    write_params_json(rec, path);
    return;
  }
  std::vector<std::string> notes;
  for (const auto& [name, bytes] :
       render_native_formats(rec, impl_->pipeline.config().backend.name, &notes, impl_->pipeline.config().native))
    if (name == file_name) {
      write_file_atomic(path, bytes);
      return;
    }
  std::string why = notes.empty() ? "" : ": " + notes.front();
  for (const std::string& n : notes)
    if (n.compare(0, file_name.size(), file_name) == 0) why = ": " + n;
  throw Error("write_file: backend '" + impl_->pipeline.config().backend.name + "' writes no '" + file_name + "'" +
              why);
}

}  // namespace mqcalib
