// mqcalib/src/api/verify_api.cpp: mqcalib::verify() (include/mqcalib/verify.h): the simulation recorded
// in params.json against the integer executor (pipeline/verify.h), and the files a runtime comparison
// needs (the record's QDQ ONNX model, float32 dumps).
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "api/options.h"
#include "api/thread_scope.h"
#include "backends/backend.h"
#include "core/error.h"
#include "data/dataset.h"
#include "deploy/deploy_model.h"
#include "export/atomic_file.h"
#include "export/npy_f32.h"
#include "export/onnx_qdq.h"
#include "export/record_files.h"
#include "export/report_json.h"
#include "mqcalib/verify.h"
#include "pipeline/model_stage.h"
#include "pipeline/verify.h"

namespace mqcalib {

namespace {

// Collects rows of the per-batch tensors for the dumps.
struct Dump {
  Shape row;
  std::vector<float> data;
  void add(const TensorF32& t) {
    row.assign(t.shape().begin() + 1, t.shape().end());
    data.insert(data.end(), t.vec().begin(), t.vec().end());
  }
  void write(const std::string& path, std::vector<std::string>& files) const {
    if (path.empty()) return;
    Shape s{static_cast<int64_t>(data.size()) / std::max<int64_t>(1, numel(row))};
    s.insert(s.end(), row.begin(), row.end());
    write_npy_f32(path, s, data.data());
    files.push_back(path);
  }
};

// The integer executor's codes of every tensor for the first batch, as float32 .npy files.
void dump_codes(const IntModel& im, const VerifyBatchSource& src, const std::string& dir) {
  TensorF32 x;
  std::vector<int64_t> y;
  if (!src(0, x, y)) return;
  std::filesystem::create_directories(dir);
  IntExecutor(im).run({x}, [&](ValueId v, const IntTensor& t) {
    if (!t.is_int) return;
    const std::vector<float> f(t.q.begin(), t.q.end());
    write_npy_f32((std::filesystem::path(dir) / (im.graph->value(v).name + ".npy")).string(), t.shape, f.data());
  });
}

// Merges {"verify": ...} into the JSON object in `path` (created when absent), atomically.
void merge_verify_into_report(const VerifyResult& r, const std::string& path) {
  nlohmann::json rep = nlohmann::json::object();
  if (std::filesystem::exists(path)) {
    std::ifstream f(path);
    try {
      rep = nlohmann::json::parse(f);
    } catch (const std::exception& e) {
      throw Error("report '" + path + "': not valid JSON (" + e.what() + ")");
    }
    if (!rep.is_object()) throw Error("report '" + path + "': not a JSON object");
  }
  rep["verify"] = verify_json(r);
  write_file_atomic(path, report_json_text(rep));
}

VerifySummary to_summary(const VerifyResult& r) {
  VerifySummary s;
  s.backend = r.backend;
  s.requant = r.requant;
  s.samples = r.samples;
  s.sim_top1 = r.sim_top1;
  s.int_top1 = r.int_top1;
  s.top1_agreement = r.top1_agreement;
  for (const TensorAgreement& t : r.tensors)
    s.tensors.push_back(VerifyTensorSummary{t.tensor, t.origin, t.elements, t.max_lsb, t.frac_differ});
  s.first_parting = r.first_parting;
  s.first_over_one_lsb = r.first_over_one_lsb;
  s.float_ops = r.float_ops;
  s.float_output_convs = r.float_output_convs;
  return s;
}

// The report.json the verify block goes into: the named one, else the one beside params.json, if any.
std::string report_path(const VerifyOptions& o) {
  if (!o.report.empty()) return o.report;
  const std::filesystem::path beside = std::filesystem::path(o.params).parent_path() / "report.json";
  return std::filesystem::exists(beside) ? beside.string() : std::string();
}

// Batch i of the first n samples (labels beside): false past the end.
VerifyBatchSource batch_source(const Dataset& ds, const std::vector<int64_t>& labels, int64_t n, int batch) {
  return [&ds, &labels, n, batch](int64_t i, TensorF32& x, std::vector<int64_t>& y) {
    const int64_t b = i * batch;
    if (b >= n) return false;
    std::vector<int64_t> idx;
    for (int64_t k = b; k < std::min<int64_t>(b + batch, n); ++k) idx.push_back(k);
    x = load_batch(ds, idx);
    y.assign(labels.begin() + b, labels.begin() + b + static_cast<int64_t>(idx.size()));
    return true;
  };
}

}  // namespace

VerifySummary verify(const VerifyOptions& o) {
  if (o.batch_size <= 0) throw Error("--batch-size must be positive");
  if (o.eval.labels.empty()) throw Error("verify needs --eval-labels");
  const ThreadScope threads(o.threads);
  const QuantRecord rec = load_record(o.params);
  const BackendProfile& backend = find_backend(rec.provenance.backend);
  const DataOptions d = with_record_preprocess(o.eval, rec.provenance.preprocess, o.preprocess_from_record, o.params);
  const std::unique_ptr<Dataset> ds = open_dataset(d.path, to_preprocess(d));
  const std::vector<int64_t> labels = load_labels(d.labels);
  check_labels(*ds, labels, d.labels);
  const FoldedModel fm = fold_model(load_model(o.model, ds->sample_shape()));
  if (!rec.provenance.model_sha256.empty() && rec.provenance.model_sha256 != fm.sha256)
    throw Error("--params '" + o.params + "' was written for a different model file (sha256 differs from '" + o.model +
                "')");
  // the integer model of the recorded FP weights (equalization, bias correction) and op changes
  const Graph recorded = recorded_fp_graph(fm.graph, rec);  // the IntModel keeps a reference to it
  const IntModel im = int_model_from_record(recorded, rec, backend);
  const Simulation sim = build_simulation(fm.graph, rec);
  std::vector<std::string> files;
  if (!o.onnx.empty()) {
    write_qdq_onnx(im, o.onnx, QdqOnnxOptions{!o.dump_codes.empty()});
    files.push_back(o.onnx);
  }
  const int64_t n = o.eval_limit > 0 ? std::min(o.eval_limit, ds->size()) : ds->size();
  const VerifyBatchSource src = batch_source(*ds, labels, n, o.batch_size);
  if (!o.dump_codes.empty()) {
    dump_codes(im, src, o.dump_codes);
    files.push_back(o.dump_codes);
  }
  Dump inputs, sim_out, int_out;
  const VerifyResult r = verify_integer(
      sim, im, src,
      [&](int64_t done) {
        if (o.progress) o.progress("verify", done, n);
      },
      [&](const TensorF32& x, const TensorF32& s, const TensorF32& q) {
        if (!o.dump_inputs.empty()) inputs.add(x);
        if (!o.dump_sim.empty()) sim_out.add(s);
        if (!o.dump_int.empty()) int_out.add(q);
      });
  inputs.write(o.dump_inputs, files);
  sim_out.write(o.dump_sim, files);
  int_out.write(o.dump_int, files);
  const std::string report = report_path(o);
  if (!report.empty()) {
    merge_verify_into_report(r, report);
    files.push_back(report);
  }
  VerifySummary s = to_summary(r);
  s.files = std::move(files);
  return s;
}

}  // namespace mqcalib
