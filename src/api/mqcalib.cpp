// mqcalib/src/api/mqcalib.cpp: the public API (include/mqcalib/mqcalib.h) over the engine's stages.
// The CLI goes through exactly these functions.
#include "mqcalib/mqcalib.h"

#include <sys/resource.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <limits>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>

#include "backends/backend.h"
#include "calibrators/observer.h"
#include "core/error.h"
#include "core/parallel.h"
#include "core/quantize.h"
#include "data/dataset.h"
#include "export/exporters.h"
#include "export/npy_i32.h"
#include "export/params_json.h"
#include "export/report_json.h"
#include "export/quant_record.h"
#include "export/sha256.h"
#include "graph/bn_fold.h"
#include "graph/weight_stats.h"
#include "import/torchscript_import.h"
#include "pipeline/adaround_weights.h"
#include "pipeline/evaluate.h"
#include "pipeline/outliers.h"
#include "pipeline/quant_plan.h"
#include "pipeline/quantized_model.h"

namespace mqcalib {

namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

int64_t peak_rss_bytes() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<int64_t>(ru.ru_maxrss) * 1024;
}

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

std::string describe_preprocess(const DataOptions& d) {
  auto list = [](const std::vector<float>& v) {
    std::string s;
    for (float f : v) s += (s.empty() ? "" : ",") + std::to_string(f);
    return s;
  };
  return "x/255, mean [" + list(d.mean) + "], std [" + list(d.std) + "], color " + d.color +
         (d.resize ? ", resize " + std::to_string(d.resize) : "") +
         (d.center_crop ? ", center_crop " + std::to_string(d.center_crop) : "");
}

Granularity parse_granularity(const std::string& s) {
  if (s == "per-tensor") return Granularity::PerTensor;
  if (s == "per-channel") return Granularity::PerChannel;
  throw Error("--w-granularity '" + s + "': expected per-tensor or per-channel");
}

// The engine's own graph for `model`, with BN folded. The example input shape comes from the data.
Graph load_folded(const std::string& model, const Shape& sample_shape, FoldReport* report) {
  if (!std::filesystem::is_regular_file(model)) throw Error("--model '" + model + "': no such file");
  Shape in{1};
  in.insert(in.end(), sample_shape.begin(), sample_shape.end());
  ImportOptions io;
  io.input_shape = in;
  Graph g = import_torchscript(model, io);
  FoldReport r = fold_batchnorm(g);
  if (report) *report = std::move(r);
  return g;
}

// Batches of `batch` samples over `indices`, in order.
BatchSource batches_of(const Dataset& ds, const std::vector<int64_t>& indices, int batch) {
  return [&ds, &indices, batch](int64_t i, TensorF32& x) {
    const int64_t b = i * batch;
    if (b >= static_cast<int64_t>(indices.size())) return false;
    const int64_t e = std::min<int64_t>(b + batch, static_cast<int64_t>(indices.size()));
    x = load_batch(ds, std::vector<int64_t>(indices.begin() + b, indices.begin() + e));
    return true;
  };
}

LabeledBatchSource labeled_batches(const Dataset& ds, const std::vector<int64_t>& labels, int64_t limit, int batch) {
  const int64_t n = limit > 0 ? std::min(limit, ds.size()) : ds.size();
  return [&ds, &labels, n, batch](int64_t i, TensorF32& x, std::vector<int64_t>& y) {
    const int64_t b = i * batch;
    if (b >= n) return false;
    const int64_t e = std::min<int64_t>(b + batch, n);
    std::vector<int64_t> idx;
    for (int64_t k = b; k < e; ++k) idx.push_back(k);
    x = load_batch(ds, idx);
    y.assign(labels.begin() + b, labels.begin() + e);
    return true;
  };
}



double finite_or(double v, double cap) { return std::isfinite(v) ? v : cap; }

// FP predictions on an evaluation set, kept for the life of the process: a sweep over backends and
// observers (the accuracy suite, a deployment tool comparing configurations) runs the FP model once
// per (model file content, data, labels, preprocessing, limit, batch size).
// Thread-safe: callers work on a copy.
std::mutex& fp_cache_mutex() {
  static std::mutex mu;
  return mu;
}
std::map<std::string, std::vector<int64_t>>& fp_cache() {
  static std::map<std::string, std::vector<int64_t>> cache;
  return cache;
}
std::vector<int64_t> fp_cache_get(const std::string& key) {
  std::lock_guard<std::mutex> lock(fp_cache_mutex());
  const auto it = fp_cache().find(key);
  return it == fp_cache().end() ? std::vector<int64_t>{} : it->second;
}
void fp_cache_put(const std::string& key, const std::vector<int64_t>& predictions) {
  std::lock_guard<std::mutex> lock(fp_cache_mutex());
  fp_cache()[key] = predictions;
}

}  // namespace

std::vector<std::string> available_observers() { return ObserverRegistry::instance().names(); }
std::vector<std::string> available_backends() { return backend_names(); }
std::string version() { return MQCALIB_VERSION; }

QuantizeResult quantize(const QuantizeOptions& o) {
  const auto t_start = Clock::now();
  QuantizeResult result;
  set_num_threads(o.threads);
  if (o.batch_size <= 0) throw Error("--batch-size must be positive");
  if (o.calib_size <= 0) throw Error("--calib-size must be positive");
  ObserverRegistry::instance().info(o.w_observer);  // unknown names fail before any work
  ObserverRegistry::instance().info(o.a_observer);
  if (o.method != "nearest" && o.method != "adaround")
    throw Error("--method '" + o.method + "': expected nearest or adaround");
  if (o.method == "adaround" && (o.adaround_iters <= 0 || o.adaround_batch <= 0 || !(o.adaround_lambda >= 0)))
    throw Error("adaround: --iters and --adaround-batch must be positive and --lambda >= 0");

  // Backend and overrides.
  BackendOverrides ov;
  if (o.w_bits) ov.w_bits = o.w_bits;
  if (o.a_bits) ov.a_bits = o.a_bits;
  if (!o.w_granularity.empty()) ov.w_granularity = parse_granularity(o.w_granularity);
  const ResolvedBackend rb = resolve_backend(find_backend(o.backend), ov);
  const BackendProfile& backend = rb.profile;
  result.backend = backend.name;
  result.notes = rb.notes;

  // Data.
  auto t = Clock::now();
  std::unique_ptr<Dataset> calib = open_dataset(o.calib.path, to_preprocess(o.calib));
  const std::vector<int64_t> calib_idx = sample_indices(calib->size(), o.calib_size, o.seed);

  // Model.
  FoldReport folds;
  const Graph folded = load_folded(o.model, calib->sample_shape(), &folds);
  const std::string model_sha256 = sha256_of_file(o.model);  // provenance, and the FP-prediction cache key
  result.seconds["load"] = seconds_since(t);
  t = Clock::now();
  const std::vector<WeightStats> wstats = weight_stats(folded);
  result.seconds["fold"] = seconds_since(t);

  // Plan and quantize.
  LayerPolicy policy;
  policy.skip.insert(o.skip.begin(), o.skip.end());
  policy.layer_bits = o.layer_bits;
  policy.first_last_8bit = o.first_last_8bit;
  QuantizedModel m;
  m.graph = folded;
  m.plan = plan_quantization(folded, backend, policy);
  ObserverOptions obs_opts;
  obs_opts.percentile = o.percentile;
  obs_opts.lp_norm = o.lp_norm;
  t = Clock::now();
  quantize_weights(m, o.w_observer, obs_opts);
  result.seconds["calibrate_weights"] = seconds_since(t);
  if (o.method == "adaround") {
    t = Clock::now();
    AdaRoundOptions ao;
    ao.iters = o.adaround_iters;
    ao.lambda = o.adaround_lambda;
    ao.batch = o.adaround_batch;
    ao.seed = o.seed;
    ao.progress_every = std::max(1, o.adaround_iters / 20);
    const std::vector<AdaRoundLayerReport> reps = adaround_weights(
        m, folded, batches_of(*calib, calib_idx, o.batch_size), ao,
        [&](const std::string& layer, size_t k, size_t n, int it, float loss, float soft) {
          if (o.adaround_detail) o.adaround_detail(layer, it, loss, soft);
          if (o.progress)
            o.progress("adaround " + std::to_string(k + 1) + "/" + std::to_string(n) + " " + layer, it, o.adaround_iters);
        });
    for (const AdaRoundLayerReport& r : reps)
      result.reconstruction.push_back({r.layer, r.bits, r.loss_nearest, r.loss_adaround, r.soft_fraction, r.seconds});
    result.seconds["adaround"] = seconds_since(t);
    t = Clock::now();
  }
  calibrate_activations(m, o.a_observer, obs_opts, batches_of(*calib, calib_idx, o.batch_size),
                        [&](const std::string& phase, int64_t done, int64_t) {
                          if (o.progress) o.progress(phase, std::min<int64_t>(done * o.batch_size, static_cast<int64_t>(calib_idx.size())), static_cast<int64_t>(calib_idx.size()));
                        });
  quantize_biases(m);
  result.seconds["calibrate"] = seconds_since(t);

  // Per-layer report: weight SQNR, and each point's SQNR over (up to 256 of) the calibration samples.
  t = Clock::now();
  SqnrAccumulator acc;
  {
    Executor ex(m.graph);
    const ValueHook hook = simulation_hook(m, &acc);
    const std::vector<int64_t> few(calib_idx.begin(), calib_idx.begin() + std::min<size_t>(256, calib_idx.size()));
    TensorF32 x;
    const BatchSource src = batches_of(*calib, few, o.batch_size);
    for (int64_t i = 0; src(i, x); ++i) ex.run({x}, hook);
  }
  for (size_t k = 0; k < m.plan.weights.size(); ++k) {
    const WeightQuantPoint& w = m.plan.weights[k];
    const TensorF32& fw = folded.nodes().at(w.node).params.weight;
    const TensorF32& qw = m.graph.nodes().at(w.node).params.weight;
    LayerSummary ls;
    ls.layer = w.layer;
    ls.weight_sqnr_db = sqnr_db(fw.data(), qw.data(), fw.size());
    ls.w_bits = w.scheme.bits;
    const int a = m.plan.act_index(w.input);
    ls.input_sqnr_db = a >= 0 ? acc.db(static_cast<size_t>(a)) : std::numeric_limits<double>::infinity();
    ls.a_bits = a >= 0 ? m.plan.activations[static_cast<size_t>(a)].scheme.bits : 32;
    result.layers.push_back(ls);
  }
  std::vector<ActivationStats> astats;
  for (size_t k = 0; k < m.plan.activations.size(); ++k) {
    const ActQuantPoint& a = m.plan.activations[k];
    astats.push_back({a.tensor, a.layer, m.act_minmax[k].min[0], m.act_minmax[k].max[0], m.act_rms[k],
                      m.act_ranges[k].min[0], m.act_ranges[k].max[0], m.act_observers[k]});
  }
  std::vector<OutlierFinding> findings = find_weight_outliers(wstats, backend);
  for (OutlierFinding& f : find_activation_outliers(astats)) findings.push_back(std::move(f));
  for (const OutlierFinding& f : findings) result.outliers.push_back({f.layer, f.kind, f.explanation, f.advice});
  result.seconds["analyse"] = seconds_since(t);

  // Evaluation.
  if (o.eval) {
    t = Clock::now();
    std::unique_ptr<Dataset> ev = open_dataset(o.eval->path, to_preprocess(*o.eval));
    if (o.eval->labels.empty()) throw Error("--eval needs --eval-labels");
    const std::vector<int64_t> labels = load_labels(o.eval->labels);
    check_labels(*ev, labels, o.eval->labels);
    const std::string key = model_sha256 + "|" + o.eval->path + "|" + o.eval->labels + "|" +
                            describe_preprocess(*o.eval) + "|" + std::to_string(o.eval_limit) + "|" +
                            std::to_string(o.batch_size);
    std::vector<int64_t> fp_predictions = fp_cache_get(key);
    const EvalResult er = evaluate_top1(folded, m, labeled_batches(*ev, labels, o.eval_limit, o.batch_size),
                                        [&](const std::string& phase, int64_t done, int64_t) {
                                          if (o.progress) o.progress(phase, done, o.eval_limit > 0 ? std::min(o.eval_limit, ev->size()) : ev->size());
                                        }, &fp_predictions);
    fp_cache_put(key, fp_predictions);
    result.eval = EvalSummary{er.samples, er.fp_top1(), er.q_top1(), er.agreement()};
    result.seconds["eval"] = seconds_since(t);
  }

  // Record and exports.
  if (!o.out_dir.empty()) {
    t = Clock::now();
    QuantRecord rec;
    Provenance& p = rec.provenance;
    p.tool_version = MQCALIB_VERSION;
    p.model_path = o.model;
    p.model_sha256 = model_sha256;
    p.backend = backend.name;
    p.preprocessing = describe_preprocess(o.calib);
    p.layout = "NCHW " + shape_to_string(calib->sample_shape());
    p.seed = o.seed;
    p.calib_samples = static_cast<int64_t>(calib_idx.size());
    {
      Sha256 h;
      const BatchSource src = batches_of(*calib, calib_idx, o.batch_size);
      TensorF32 x;
      for (int64_t i = 0; src(i, x); ++i) h.update(x.data(), static_cast<size_t>(x.size()) * sizeof(float));
      p.calib_sha256 = h.hex();
    }
    p.skipped_layers = o.skip;
    p.layer_bits = o.layer_bits;
    p.command_line = o.command_line;
    for (size_t k = 0; k < m.plan.weights.size(); ++k) {
      const WeightQuantPoint& w = m.plan.weights[k];
      rec.tensors.push_back({w.tensor, w.layer, TensorRole::Weight, w.scheme, m.weight_params[k], m.weight_ranges[k], o.w_observer});
      const int in = m.plan.act_index(w.input);
      if (in >= 0) rec.layer_inputs[w.layer] = m.plan.activations[static_cast<size_t>(in)].tensor;
      if (!m.bias_params[k].scale.empty()) {
        QScheme bs;
        bs.bits = 32;
        bs.signedness = Signedness::Signed;
        bs.symmetry = Symmetry::Symmetric;
        bs.granularity = m.bias_params[k].per_channel() ? Granularity::PerChannel : Granularity::PerTensor;
        bs.axis = 0;
        const TensorF32& b = folded.nodes().at(w.node).params.bias;
        Range br;
        for (int64_t c = 0; c < b.size(); ++c) {
          br.min.push_back(b[c]);
          br.max.push_back(b[c]);
        }
        rec.tensors.push_back({w.layer + ".bias", w.layer, TensorRole::Bias, bs, m.bias_params[k], br, "int32 s_in*s_w"});
      }
    }
    for (size_t k = 0; k < m.plan.activations.size(); ++k) {
      const ActQuantPoint& a = m.plan.activations[k];
      rec.tensors.push_back({a.tensor, a.layer, TensorRole::Activation, a.scheme, m.act_params[k], m.act_ranges[k], m.act_observers[k]});
    }
    std::filesystem::create_directories(o.out_dir);
    const std::string dir = o.out_dir + "/";
    p.weight_rounding = o.method;
    for (size_t k = 0; k < m.weight_codes.size(); ++k) {
      if (m.weight_codes[k].empty()) continue;
      const WeightQuantPoint& w = m.plan.weights[k];
      const std::string rel = "weights/" + w.tensor + ".npy";
      std::filesystem::create_directories(dir + "weights");
      write_npy_i32(dir + rel, folded.nodes().at(w.node).params.weight.shape(), m.weight_codes[k].data());
      rec.weight_codes[w.tensor] = rel;
    }
    write_params_json(rec, dir + "params.json");
    result.files.push_back("params.json");
    std::vector<std::string> export_notes;
    for (const std::string& f : write_native_formats(rec, backend.name, dir, &export_notes)) result.files.push_back(f);
    result.seconds["export"] = seconds_since(t);

    nlohmann::json rep;
    rep["tool_version"] = MQCALIB_VERSION;
    rep["model"] = o.model;
    rep["backend"] = backend.name;
    rep["backend_notes"] = rb.notes;
    rep["w_observer"] = o.w_observer;
    rep["a_observer"] = o.a_observer;
    rep["calib_samples"] = calib_idx.size();
    rep["seed"] = o.seed;
    rep["folded_bn"] = folds.folded.size();
    rep["method"] = o.method;
    if (o.method == "adaround") {
      rep["adaround"] = {{"iters", o.adaround_iters}, {"lambda", o.adaround_lambda}, {"batch", o.adaround_batch}, {"seed", o.seed}};
      nlohmann::json rl = nlohmann::json::array();
      for (const ReconstructionSummary& r : result.reconstruction)
        rl.push_back({{"layer", r.layer}, {"bits", r.bits}, {"loss_nearest", r.loss_nearest},
                      {"loss_adaround", r.loss_adaround}, {"soft_fraction", r.soft_fraction}, {"seconds", r.seconds}});
      rep["reconstruction"] = rl;
    }
    nlohmann::json unf = nlohmann::json::array();
    for (const UnfoldedBn& u : folds.unfolded) unf.push_back({{"bn", u.bn}, {"reason", u.reason}});
    rep["unfolded_bn"] = unf;
    rep["placement_notes"] = m.plan.notes;
    rep["export_notes"] = export_notes;
    for (const std::string& n : export_notes) result.notes.push_back(n);
    if (result.eval) {
      rep["eval"] = {{"samples", result.eval->samples}, {"fp_top1", result.eval->fp_top1},
                     {"quant_top1", result.eval->q_top1}, {"drop", result.eval->fp_top1 - result.eval->q_top1},
                     {"agreement", result.eval->agreement}};
    }
    nlohmann::json layers = nlohmann::json::array();
    for (const LayerSummary& l : result.layers)
      layers.push_back({{"layer", l.layer}, {"w_bits", l.w_bits}, {"a_bits", l.a_bits},
                        {"weight_sqnr_db", finite_or(l.weight_sqnr_db, 999.0)},
                        {"input_sqnr_db", finite_or(l.input_sqnr_db, 999.0)}});
    rep["layers"] = layers;
    nlohmann::json acts = nlohmann::json::array();
    for (size_t k = 0; k < m.plan.activations.size(); ++k)
      acts.push_back({{"tensor", m.plan.activations[k].tensor}, {"sqnr_db", finite_or(acc.db(k), 999.0)},
                      {"observed_min", m.act_minmax[k].min[0]}, {"observed_max", m.act_minmax[k].max[0]},
                      {"clip_min", m.act_ranges[k].min[0]}, {"clip_max", m.act_ranges[k].max[0]}});
    rep["activations"] = acts;
    nlohmann::json outl = nlohmann::json::array();
    for (const OutlierFinding& f : findings)
      outl.push_back({{"layer", f.layer}, {"tensor", f.tensor}, {"kind", f.kind}, {"value", f.value},
                      {"explanation", f.explanation}, {"advice", f.advice}});
    rep["outliers"] = outl;
    result.seconds["total"] = seconds_since(t_start);
    rep["seconds"] = result.seconds;
    rep["peak_memory_bytes"] = peak_rss_bytes();
    write_report_json(rep, dir + "report.json");
    result.files.push_back("report.json");
  }
  result.seconds["total"] = seconds_since(t_start);
  return result;
}

EvalSummary evaluate(const EvalOptions& o) {
  set_num_threads(o.threads);
  const QuantRecord rec = read_params_json(o.params);
  std::unique_ptr<Dataset> ev = open_dataset(o.eval.path, to_preprocess(o.eval));
  const Graph folded = load_folded(o.model, ev->sample_shape(), nullptr);
  if (!rec.provenance.model_sha256.empty() && rec.provenance.model_sha256 != sha256_of_file(o.model))
    throw Error("--params '" + o.params + "' was written for a different model file (sha256 differs from '" + o.model + "')");

  // Rebuild the simulation from the record alone: no observer runs, so it is reproduced exactly.
  QuantizedModel m;
  m.graph = folded;
  for (const TensorQuant& tq : rec.tensors) {
    if (tq.role == TensorRole::Activation) {
      ActQuantPoint a;
      a.value = folded.find_value(tq.tensor);
      a.tensor = tq.tensor;
      a.layer = tq.layer;
      a.scheme = tq.scheme;
      m.plan.activations.push_back(a);
      m.act_params.push_back(tq.params);
      continue;
    }
    const Node& n = folded.find_node(tq.layer);
    const size_t idx = static_cast<size_t>(&n - folded.nodes().data());
    Node& qn = m.graph.nodes().at(idx);
    if (tq.role == TensorRole::Weight) {
      tq.params.validate(tq.tensor);
      const auto codes = rec.weight_codes.find(tq.tensor);
      if (codes != rec.weight_codes.end()) {  // AdaRound: the recorded integer codes
        const std::string path = (std::filesystem::path(o.params).parent_path() / codes->second).string();
        Shape shape;
        const std::vector<int32_t> q = read_npy_i32(path, &shape);
        if (shape != qn.params.weight.shape())
          throw Error("weight codes '" + path + "': shape " + shape_to_string(shape) + ", but " + tq.tensor + " is " +
                      shape_to_string(qn.params.weight.shape()));
        dequantize_i32_f32(q.data(), shape, tq.params, qn.params.weight.data());
      } else {
        fake_quantize_f32(qn.params.weight.view(), tq.params, qn.params.weight.data());
      }
    } else {
      float* b = qn.params.bias.data();
      for (int64_t c = 0; c < qn.params.bias.size(); ++c) {
        const double s = tq.params.scale.at(tq.params.per_channel() ? static_cast<size_t>(c) : 0);
        double q = std::nearbyint(static_cast<double>(b[c]) / s);
        q = std::min<double>(std::max<double>(q, tq.params.qmin), tq.params.qmax);
        b[c] = static_cast<float>(q * s);
      }
    }
  }
  if (o.eval.labels.empty()) throw Error("eval needs --eval-labels");
  const std::vector<int64_t> labels = load_labels(o.eval.labels);
  check_labels(*ev, labels, o.eval.labels);
  const EvalResult er = evaluate_top1(folded, m, labeled_batches(*ev, labels, o.eval_limit, o.batch_size),
                                      [&](const std::string& phase, int64_t done, int64_t) {
                                        if (o.progress) o.progress(phase, done, o.eval_limit > 0 ? std::min(o.eval_limit, ev->size()) : ev->size());
                                      });
  return EvalSummary{er.samples, er.fp_top1(), er.q_top1(), er.agreement()};
}

}  // namespace mqcalib
