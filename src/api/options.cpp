// mqcalib/src/api/options.cpp: the public options as the pipeline's config, its report as the public result.
#include "api/options.h"

#include "backends/backend.h"
#include "core/error.h"

namespace mqcalib {

Preprocess to_preprocess(const DataOptions& d) {
  Preprocess p;
  p.mean = d.mean;
  p.std = d.std;
  p.color = parse_color_mode(d.color == "gray" ? "grayscale" : d.color);
  p.resize = d.resize;
  p.center_crop = d.center_crop;
  p.npy_layout = parse_layout(d.layout);
  return p;
}

PreprocessRecord to_preprocess_record(const DataOptions& d) {
  PreprocessRecord r;
  r.mean = d.mean;
  r.std = d.std;
  r.color = d.color;
  r.resize = d.resize;
  r.center_crop = d.center_crop;
  r.layout = d.layout;
  return r;
}

void take_record_preprocess(const PreprocessRecord& r, DataOptions* d) {
  d->mean = r.mean;
  d->std = r.std;
  d->color = r.color;
  d->resize = r.resize;
  d->center_crop = r.center_crop;
  d->layout = r.layout;
}

std::string describe_preprocess(const PreprocessRecord& d) {
  auto list = [](const std::vector<float>& v) {
    std::string s;
    for (float f : v) s += (s.empty() ? "" : ",") + std::to_string(f);
    return s;
  };
  return "x/255, mean [" + list(d.mean) + "], std [" + list(d.std) + "], color " + d.color +
         (d.resize ? ", resize " + std::to_string(d.resize) : "") +
         (d.center_crop ? ", center_crop " + std::to_string(d.center_crop) : "");
}

DataOptions with_record_preprocess(const DataOptions& d, const PreprocessRecord& rec, bool from_record,
                                   const std::string& params) {
  DataOptions out = d;
  if (from_record) {
    take_record_preprocess(rec, &out);
  } else if (!(to_preprocess_record(d) == rec)) {
    throw Error("--params '" + params + "' was calibrated with preprocessing " + describe_preprocess(rec) +
                " but the evaluation data asks for " + describe_preprocess(to_preprocess_record(d)) +
                ": give the record's options, or none to take them from the record");
  }
  return out;
}

namespace {

DataSource to_source(const DataOptions& d) {
  return DataSource{d.path, to_preprocess(d), describe_preprocess(to_preprocess_record(d)), to_preprocess_record(d), d.labels};
}

Granularity parse_granularity(const std::string& s) {
  if (s == "per-tensor") return Granularity::PerTensor;
  if (s == "per-channel") return Granularity::PerChannel;
  throw Error("--w-granularity '" + s + "': expected per-tensor or per-channel");
}

Relu6Policy parse_relu6_policy(const std::string& s) {
  if (s == "relu") return Relu6Policy::ReplaceByRelu;
  if (s == "skip") return Relu6Policy::Skip;
  throw Error("--equalize-relu6 '" + s + "': expected relu (replace relu6 by relu, as DFQ) or skip");
}

// One note line per transform that ran (the CLI prints the notes).
std::vector<std::string> transform_notes(const TransformSummary& t) {
  auto list = [](const std::vector<std::string>& v) {
    std::string s;
    for (const std::string& x : v) s += (s.empty() ? "" : ", ") + x;
    return s;
  };
  std::vector<std::string> n;
  if (t.activation_ranges != "observer")
    n.push_back("data-free: activation ranges from BN statistics (beta +- " + std::to_string(t.range_sigmas) +
                " |gamma|, clipped by the activations)");
  if (!t.equalized_pairs.empty())
    n.push_back("equalization: " + std::to_string(t.equalized_pairs.size()) + " layer pairs, " +
                std::to_string(t.equalization_sweeps) + " sweeps; high bias absorbed in " +
                std::to_string(t.absorbed.size()) + " pairs");
  if (!t.relu6_replaced.empty())
    n.push_back("equalization replaced relu6 by relu (the FP network changes where an activation exceeded 6) at: " +
                list(t.relu6_replaced));
  if (!t.relu6_skipped.empty()) n.push_back("equalization skipped the relu6 pairs: " + list(t.relu6_skipped));
  if (t.bias_correction != "none") {
    std::string s = t.bias_correction + " bias correction: " + std::to_string(t.bias_corrected.size()) + " layers";
    for (const auto& [layer, why] : t.bias_correction_skipped) s += "; " + layer + " not corrected: " + why;
    n.push_back(s);
  }
  return n;
}

ResolvedBackend backend_of(const QuantizeOptions& o) {
  BackendOverrides ov;
  if (o.w_bits) ov.w_bits = o.w_bits;
  if (o.a_bits) ov.a_bits = o.a_bits;
  if (!o.w_granularity.empty()) ov.w_granularity = parse_granularity(o.w_granularity);
  return resolve_backend(find_backend(o.backend), ov);
}

}  // namespace

PipelineConfig to_config(const QuantizeOptions& o) {
  PipelineConfig c;
  const ResolvedBackend rb = backend_of(o);
  c.model = o.model;
  c.backend = rb.profile;
  c.backend_notes = rb.notes;
  c.policy.skip.insert(o.skip.begin(), o.skip.end());
  c.policy.layer_bits = o.layer_bits;
  c.policy.first_last_8bit = o.first_last_8bit;
  c.w_observer.name = o.w_observer;
  c.w_observer.options.percentile = o.percentile;
  c.w_observer.options.lp_norm = o.lp_norm;
  c.a_observer = c.w_observer;
  c.a_observer.name = o.a_observer;
  c.reconstruct.method = o.method;
  c.reconstruct.iters = o.adaround_iters;
  c.reconstruct.lambda = o.adaround_lambda;
  c.reconstruct.round_lr = o.round_lr;
  c.reconstruct.batch = o.adaround_batch;
  c.reconstruct.seed = o.seed;
  c.reconstruct.granularity = o.granularity;
  c.reconstruct.loss = o.recon_loss;
  c.reconstruct.act_iters = o.act_iters;
  c.reconstruct.drop_prob = o.drop_prob;
  c.reconstruct.step_lr = o.step_lr;
  if (o.cache_budget_mib < 0 || o.cache_budget_mib > (int64_t{1} << 30))
    throw Error("--cache-budget must be in 0.." + std::to_string(int64_t{1} << 30) + " MiB, got " +
                std::to_string(o.cache_budget_mib));
  c.reconstruct.cache_budget_bytes = o.cache_budget_mib << 20;
  c.data_free.enabled = o.data_free;
  c.data_free.range_sigmas = o.bn_range_sigmas;
  c.data_free.input_shape = o.input_shape;
  c.transforms.equalize = o.equalize;
  c.transforms.equalization.relu6 = parse_relu6_policy(o.equalize_relu6);
  c.transforms.bias_correction = o.bias_correction;
  c.data_free.synthesis.samples = o.synthesize;
  c.data_free.synthesis.iterations = o.synth_iters;
  c.data_free.synthesis.batch = o.synth_batch;
  c.data_free.synthesis.lr = o.synth_lr;
  c.data_free.synthesis.smoothness = o.synth_smoothness;
  c.data_free.synthesis.target_classes = o.synth_targets;
  c.data_free.synthesis.seed = o.seed;
  c.data_free.save_synthetic = o.save_synthetic;
  c.calib = to_source(o.calib);
  c.calib_size = o.calib_size;
  c.seed = o.seed;
  c.batch_size = o.batch_size;
  if (o.eval) c.eval = to_source(*o.eval);
  c.eval_limit = o.eval_limit;
  c.verify = o.verify;
  c.exports = o.exports;
  c.native.trt_version = o.trt_version;
  c.out_dir = o.out_dir;
  c.command_line = o.command_line;
  c.progress = o.progress;
  const ProgressCallback progress = o.progress;
  const auto detail = o.adaround_detail;
  const int iters = o.adaround_iters, act_iters = o.act_iters, synth_iters = o.synth_iters;
  const std::string method = o.method;
  c.reconstruct_progress = [progress, detail, iters, act_iters, synth_iters, method](
                               const std::string& unit, size_t k, size_t n, int it, float loss, float soft) {
    if (detail) detail(unit, it, loss, soft);
    const std::string of = " " + std::to_string(k + 1) + "/" + std::to_string(n);
    if (unit == kSynthesisUnit) {  // the synthesis: batch k of n, its BN-statistics loss (soft: NaN)
      if (progress) progress(unit + of, it, synth_iters);
      return;
    }
    // block methods label units "<phase> <unit>"; BRECQ's stage 2 ("steps") runs act_iters
    const int total = unit.rfind("steps ", 0) == 0 ? act_iters : iters;
    if (progress) progress(method + of + " " + unit, it, total);
  };
  apply_diagnose_options(o, c);
  return c;
}

QuantizeResult to_result(const RunReport& r, const std::vector<std::string>& files) {
  QuantizeResult q;
  q.backend = r.backend;
  for (const LayerReport& l : r.layers)
    q.layers.push_back({l.layer, l.weight_sqnr_db, l.input_sqnr_db, l.w_bits, l.a_bits});
  for (const OutlierFinding& f : r.outliers) q.outliers.push_back({f.layer, f.kind, f.explanation, f.advice});
  for (const UnitReport& u : r.reconstruction)
    q.reconstruction.push_back({u.unit, u.bits, u.loss_before, u.loss_after, u.soft_fraction, u.seconds});
  if (r.eval)
    q.eval = EvalSummary{r.eval->samples, r.eval->fp_top1, r.eval->quant_top1, r.eval->agreement,
                         r.eval->fp_top1_op_changes.value_or(-1.0)};
  q.files = files;
  q.notes = r.backend_notes;
  for (std::string& n : transform_notes(r.transforms)) q.notes.push_back(std::move(n));
  q.notes.insert(q.notes.end(), r.export_notes.begin(), r.export_notes.end());
  q.seconds = r.seconds;
  add_diagnose_results(r, q);
  return q;
}

}  // namespace mqcalib
