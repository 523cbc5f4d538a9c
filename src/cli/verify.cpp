// mqcalib/src/cli/verify.cpp: `mqcalib verify`: the float simulation recorded in params.json against
// the integer executor on the evaluation data (src/deploy/verify.h); optionally writes the QDQ ONNX
// model of the same record and float32 dumps (inputs, both models' outputs) for an external runtime.
#include "pipeline/verify.h"

#include <boost/program_options.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "api/options.h"
#include "backends/backend.h"
#include "cli/commands.h"
#include "cli/data_options.h"
#include "cli/progress.h"
#include "core/parallel.h"
#include "data/dataset.h"
#include "deploy/deploy_model.h"
#include "export/atomic_file.h"
#include "export/npy_f32.h"
#include "export/onnx_qdq.h"
#include "export/record_files.h"
#include "export/report_json.h"
#include "pipeline/model_stage.h"

namespace po = boost::program_options;

namespace mqcalib::cli {

namespace {

struct VerifyArgs {
  std::string model, params, eval, labels, onnx, report, dump_inputs, dump_sim, dump_int, dump_codes;
  int64_t limit = 0;
  int threads = 0, batch = 64;
  bool quiet = false;
};

// Collects rows of the per-batch tensors for the dumps.
struct Dump {
  Shape row;
  std::vector<float> data;
  void add(const TensorF32& t) {
    row.assign(t.shape().begin() + 1, t.shape().end());
    data.insert(data.end(), t.vec().begin(), t.vec().end());
  }
  void write(const std::string& path) const {
    if (path.empty()) return;
    Shape s{static_cast<int64_t>(data.size()) / std::max<int64_t>(1, numel(row))};
    s.insert(s.end(), row.begin(), row.end());
    write_npy_f32(path, s, data.data());
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

void print(const VerifyResult& r) {
  std::printf("\nverify: backend %s, %s requantization, %lld samples\n", r.backend.c_str(), r.requant.c_str(),
              static_cast<long long>(r.samples));
  std::printf("%-40s %-15s %10s %12s\n", "tensor", "origin", "max LSB", "differ");
  for (const TensorAgreement& t : r.tensors)
    std::printf("%-40s %-15s %10.2f %11.4f%%\n", t.tensor.c_str(), t.origin.c_str(), t.max_lsb, 100.0 * t.frac_differ);
  std::printf("\nsimulated top-1 %.2f%%  integer top-1 %.2f%%  top-1 agreement %.2f%%\n", r.sim_top1, r.int_top1,
              r.top1_agreement);
  std::printf("first tensor where they part: %s; first beyond 1 LSB: %s\n",
              r.first_parting.empty() ? "(none)" : r.first_parting.c_str(),
              r.first_over_one_lsb.empty() ? "(none)" : r.first_over_one_lsb.c_str());
  for (const std::string& n : r.float_ops) std::printf("note: '%s' ran through the float path\n", n.c_str());
  for (const std::string& n : r.float_output_convs)
    std::printf("note: '%s': its output has no quantizer, a runtime runs this conv in float\n", n.c_str());
}

// Parses the options; false when --help was printed.
bool parse_verify_args(const std::vector<std::string>& args, VerifyArgs& a, PreprocessArgs& pre, bool* pre_given) {
  po::options_description all(
      "mqcalib verify: the simulation recorded in params.json against the integer executor (the runtime's\n"
      "integer arithmetic, chosen by the record's backend), per tensor and in top-1.\n\nOptions");
  // clang-format off
  all.add_options()
      ("model", po::value(&a.model)->required(), "the TorchScript model params.json was made for")
      ("params", po::value(&a.params)->required(), "params.json written by `mqcalib quantize`")
      ("eval", po::value(&a.eval)->required(), "evaluation data (IDX, .npy, image folder)")
      ("eval-labels", po::value(&a.labels)->required(), "labels of --eval")
      ("eval-limit", po::value(&a.limit)->default_value(0), "verify on the first N samples only (0: all)")
      ("onnx", po::value(&a.onnx), "also write the QDQ ONNX model of this record to FILE")
      ("report", po::value(&a.report), "merge the verify block into this report.json (default: the one beside --params, if any)")
      ("dump-inputs", po::value(&a.dump_inputs), "write the preprocessed inputs as float32 .npy")
      ("dump-sim", po::value(&a.dump_sim), "write the simulation's outputs as float32 .npy")
      ("dump-int", po::value(&a.dump_int), "write the integer executor's outputs as float32 .npy")
      ("dump-codes", po::value(&a.dump_codes), "diagnosis: write the integer executor's codes of every tensor for the "
       "first batch into DIR/<tensor>.npy, and expose the codes as outputs of the --onnx model")
      ("threads", po::value(&a.threads)->default_value(0), "threads (0: all cores); results do not depend on it")
      ("batch-size", po::value(&a.batch)->default_value(a.batch), "batch size")
      ("quiet", po::bool_switch(&a.quiet), "no progress on stderr")
      ("help,h", "this help");
  // clang-format on
  pre.add_to(all);
  po::variables_map vm;
  po::store(po::command_line_parser(args).options(all).run(), vm);
  if (vm.count("help")) {
    std::cout << all << "\n";
    return false;
  }
  po::notify(vm);
  *pre_given = PreprocessArgs::any_given(vm);
  return true;
}

}  // namespace

int run_verify(const std::vector<std::string>& args) {
  VerifyArgs a;
  PreprocessArgs pre;
  bool pre_given = false;
  if (!parse_verify_args(args, a, pre, &pre_given)) return 0;
  if (a.batch <= 0) throw Error("--batch-size must be positive");
  set_num_threads(a.threads);

  const QuantRecord rec = load_record(a.params);
  const BackendProfile& backend = find_backend(rec.provenance.backend);
  const DataOptions d =
      with_record_preprocess(pre.to_data(a.eval, a.labels), rec.provenance.preprocess, !pre_given, a.params);
  std::unique_ptr<Dataset> ds = open_dataset(d.path, to_preprocess(d));
  const std::vector<int64_t> labels = load_labels(a.labels);
  check_labels(*ds, labels, a.labels);
  const FoldedModel fm = fold_model(load_model(a.model, ds->sample_shape()));
  if (!rec.provenance.model_sha256.empty() && rec.provenance.model_sha256 != fm.sha256)
    throw Error("--params '" + a.params + "' was written for a different model file (sha256 differs from '" + a.model +
                "')");
  const Graph& folded = fm.graph;
  const std::string dir = std::filesystem::path(a.params).parent_path().string();
  const IntModel im = int_model_from_record(folded, rec, backend);
  const Simulation sim = build_simulation(folded, rec);
  if (!a.onnx.empty()) write_qdq_onnx(im, a.onnx, QdqOnnxOptions{!a.dump_codes.empty()});

  const int64_t n = a.limit > 0 ? std::min(a.limit, ds->size()) : ds->size();
  const VerifyBatchSource src = [&](int64_t i, TensorF32& x, std::vector<int64_t>& y) {
    const int64_t b = i * a.batch;
    if (b >= n) return false;
    std::vector<int64_t> idx;
    for (int64_t k = b; k < std::min<int64_t>(b + a.batch, n); ++k) idx.push_back(k);
    x = load_batch(*ds, idx);
    y.assign(labels.begin() + b, labels.begin() + b + static_cast<int64_t>(idx.size()));
    return true;
  };
  if (!a.dump_codes.empty()) dump_codes(im, src, a.dump_codes);
  Dump inputs, sim_out, int_out;
  Progress progress(a.quiet);
  const VerifyResult r = verify_integer(
      sim, im, src, [&](int64_t done) { progress("verify", done, n); },
      [&](const TensorF32& x, const TensorF32& s, const TensorF32& q) {
        if (!a.dump_inputs.empty()) inputs.add(x);
        if (!a.dump_sim.empty()) sim_out.add(s);
        if (!a.dump_int.empty()) int_out.add(q);
      });
  progress.finish();
  inputs.write(a.dump_inputs);
  sim_out.write(a.dump_sim);
  int_out.write(a.dump_int);
  std::string report = a.report;
  if (report.empty() && std::filesystem::exists(std::filesystem::path(dir) / "report.json"))
    report = (std::filesystem::path(dir) / "report.json").string();
  if (!report.empty()) merge_verify_into_report(r, report);
  print(r);
  if (!a.onnx.empty()) std::printf("wrote %s\n", a.onnx.c_str());
  return 0;
}

}  // namespace mqcalib::cli
