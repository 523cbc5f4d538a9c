// Every IR op the torchvision models and the single-op test models use maps to ONNX: each folded
// graph, with quantizers where the ort profile's placement puts them (min-max ranges of one batch),
// exports a model ONNX's checker accepts, and the integer executor runs it; its outputs follow the
// simulation of the same record (SQNR of the integer outputs against the simulated ones; random-weight
// models with near-tied logits, so no top-1 bound).
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>

#include "../import/equiv_util.h"
#include "core/quantize.h"
#include "deploy/deploy_model.h"
#include "export/onnx_qdq.h"
#include "graph/bn_fold.h"
#include "import/torchscript_import.h"
#include "pipeline/quant_plan.h"
#include "pipeline/verify.h"

using namespace mqcalib;

namespace {

constexpr double kMinOutputSqnrDb = 10.0;  // integer vs simulated outputs, 8 samples

// The record of a min-max calibration on `x` for `backend`'s placement.
QuantRecord minmax_record(const Graph& g, const TensorF32& x, const BackendProfile& backend) {
  const QuantPlan plan = plan_quantization(g, backend, {});
  std::map<ValueId, Range> ranges;
  Executor(g).run({x}, [&](ValueId v, TensorF32& t) {
    const auto [lo, hi] = std::minmax_element(t.vec().begin(), t.vec().end());
    ranges[v] = Range{{*lo}, {*hi}};
  });
  QuantRecord rec;
  rec.provenance.backend = backend.name;
  std::map<ValueId, float> s_act;
  for (const ActQuantPoint& a : plan.activations) {
    const QParams p = choose_qparams(a.scheme, ranges.at(a.value), a.tensor);
    s_act[a.value] = p.scale[0];
    rec.tensors.push_back({a.tensor, a.layer, TensorRole::Activation, a.scheme, p, ranges.at(a.value), "minmax"});
  }
  for (const WeightQuantPoint& w : plan.weights) {
    const Node& n = g.nodes()[w.node];
    const int64_t O = n.params.weight.dim(0), per = n.params.weight.size() / O;
    Range r;
    for (int64_t o = 0; o < O; ++o) {
      const auto [lo, hi] =
          std::minmax_element(n.params.weight.data() + o * per, n.params.weight.data() + (o + 1) * per);
      r.min.push_back(*lo);
      r.max.push_back(*hi);
    }
    const QParams wp = choose_qparams(w.scheme, r, w.tensor);
    rec.tensors.push_back({w.tensor, w.layer, TensorRole::Weight, w.scheme, wp, r, "minmax"});
    if (n.params.bias.empty() || !s_act.count(w.input)) continue;
    QParams bp;
    bp.axis = 0;
    bp.qmin = INT32_MIN;
    bp.qmax = INT32_MAX;
    for (float s : wp.scale) {
      bp.scale.push_back(s_act[w.input] * s);
      bp.zero_point.push_back(0);
    }
    QScheme bs;
    bs.bits = 32;
    rec.tensors.push_back({w.layer + ".bias", w.layer, TensorRole::Bias, bs, bp, Range{}, "int32 s_in*s_w"});
  }
  return rec;
}

}  // namespace

TEST_CASE("QDQ ONNX export and integer executor: every torchvision and single-op test model") {
  const BackendProfile& ort = find_backend("ort");
  for (const test::ManifestEntry& e : test::read_manifest()) {
    if (e.mode != "scripted" || e.kind == "error") continue;
    CAPTURE(e.name);
    ImportOptions io;
    io.input_shape = e.input_shape;
    Graph g = import_torchscript(test::models_dir() + "/" + e.file, io);
    fold_batchnorm(g);
    Shape bs = e.input_shape;
    bs[0] = 8;
    const TensorF32 x = test::normal_tensor(bs, 7);
    const QuantRecord rec = minmax_record(g, x, ort);
    const IntModel im = int_model_from_record(g, rec, ort);
    const std::string path = (std::filesystem::temp_directory_path() / ("mqcalib_test_" + e.name + ".onnx")).string();
    CHECK_NOTHROW(write_qdq_onnx(im, path));  // ONNX's checker accepts it
    CHECK(std::filesystem::file_size(path) > 0);
    std::filesystem::remove(path);
    double signal = 0, noise = 0;
    const VerifyResult r = verify_integer(
        build_simulation(g, rec), im,
        [&](int64_t i, TensorF32& xb, std::vector<int64_t>& y) {
          if (i > 0) return false;
          xb = x;
          y.assign(8, 0);
          return true;
        },
        {},
        [&](const TensorF32&, const TensorF32& s, const TensorF32& q) {
          for (int64_t k = 0; k < s.size(); ++k) {
            signal += static_cast<double>(s[k]) * s[k];
            noise += (static_cast<double>(s[k]) - q[k]) * (static_cast<double>(s[k]) - q[k]);
          }
        });
    const double sqnr = noise > 0 ? 10.0 * std::log10(signal / noise) : 999.0;
    std::string fl;
    for (const std::string& f : r.float_ops) fl += " " + f;
    MESSAGE(e.name << ": integer vs simulated outputs " << sqnr << " dB, first tensor beyond 1 LSB '"
                   << r.first_over_one_lsb << "', float-path ops:" << fl);
    CHECK(sqnr >= kMinOutputSqnrDb);
  }
}
