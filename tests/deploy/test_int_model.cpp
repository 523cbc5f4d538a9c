// The integer model built from a hand-made record, the integer executor against the simulation
// (verify), the aliases, the float path, and the QDQ ONNX writer (checked by ONNX's checker).
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>

#include "core/quantize.h"
#include "deploy/deploy_model.h"
#include "exec/executor.h"
#include "export/onnx_qdq.h"
#include "graph/graph_builder.h"
#include "pipeline/verify.h"

using namespace mqcalib;

namespace {

constexpr double kMaxActLsb = 2.0;        // float-vs-integer rounding, compounded over two layers
constexpr double kMaxFracDiffer = 0.02;   // of the elements of a tensor
constexpr double kMinTop1Agreement = 95;  // percent, 64 random samples

QScheme u8_asym() {
  QScheme s;
  s.signedness = Signedness::Unsigned;
  s.symmetry = Symmetry::Asymmetric;
  return s;
}
QScheme s8_sym_pc() {
  QScheme s;
  s.narrow_range = true;
  s.granularity = Granularity::PerChannel;
  return s;
}

// conv c1 -> relu r1 -> conv c2 ; add(r1, c2) -> sigmoid-free head: avgpool -> flatten -> fc.
struct Net {
  testing::GraphBuilder b;
  ValueId x, r1, c2, add, gap, flat, fc;
  Net() {
    x = b.input("input", {1, 2, 8, 8});
    const ValueId c1 = b.conv("c1", x, 4, 2, 3, 1, true);
    r1 = b.unary(OpKind::Relu, "r1", c1);
    c2 = b.conv("c2", r1, 4, 4, 3, 1, true);
    add = b.binary(OpKind::Add, "add", r1, c2);
    Attrs a;
    a.output_size = {1, 1};
    gap = b.op(OpKind::AdaptiveAvgPool2d, "gap", {add}, a);
    Attrs fa;
    fa.start_dim = 1;
    fa.end_dim = 3;  // canonical form (graph/ir.h): dims normalized, non-negative
    flat = b.op(OpKind::Flatten, "flat", {gap}, fa);
    fc = b.linear("fc", flat, 5, 4);
    b.output(fc);
  }
};

TensorF32 batch(testing::GraphBuilder& b, int64_t n) { return b.randn({n, 2, 8, 8}); }

// The record a calibration would write: min-max ranges of one batch, weights per-channel int8.
QuantRecord make_record(Net& net, const TensorF32& calib) {
  Graph& g = net.b.g;
  std::map<ValueId, Range> ranges;
  const std::vector<ValueId> planned{net.x, net.r1, net.c2, net.add, net.flat};
  Executor(g).run({calib}, [&](ValueId v, TensorF32& t) {
    if (std::find(planned.begin(), planned.end(), v) == planned.end()) return;
    const auto [lo, hi] = std::minmax_element(t.vec().begin(), t.vec().end());
    ranges[v] = Range{{*lo}, {*hi}};
  });
  QuantRecord rec;
  rec.provenance.backend = "ort";
  std::map<std::string, float> act_scale;
  for (ValueId v : planned) {
    const std::string& name = g.value(v).name;
    const QParams p = choose_qparams(u8_asym(), ranges[v], name);
    act_scale[name] = p.scale[0];
    rec.tensors.push_back({name, name, TensorRole::Activation, u8_asym(), p, ranges[v], "minmax"});
  }
  for (const auto& [layer, input] :
       std::vector<std::pair<std::string, std::string>>{{"c1", "input"}, {"c2", "r1"}, {"fc", "flat"}}) {
    const Node& n = g.find_node(layer);
    Range r;
    const int64_t O = n.params.weight.dim(0), per = n.params.weight.size() / O;
    for (int64_t o = 0; o < O; ++o) {
      const auto [lo, hi] =
          std::minmax_element(n.params.weight.data() + o * per, n.params.weight.data() + (o + 1) * per);
      r.min.push_back(*lo);
      r.max.push_back(*hi);
    }
    const QParams wp = choose_qparams(s8_sym_pc(), r, layer + ".weight");
    rec.tensors.push_back({layer + ".weight", layer, TensorRole::Weight, s8_sym_pc(), wp, r, "minmax"});
    QParams bp;
    bp.axis = 0;
    bp.qmin = INT32_MIN;
    bp.qmax = INT32_MAX;
    for (float s : wp.scale) {
      bp.scale.push_back(act_scale.at(input) * s);
      bp.zero_point.push_back(0);
    }
    QScheme bs;
    bs.bits = 32;
    rec.tensors.push_back({layer + ".bias", layer, TensorRole::Bias, bs, bp, Range{}, "int32 s_in*s_w"});
    rec.layer_inputs[layer] = input;
  }
  return rec;
}

}  // namespace

TEST_CASE("integer model from a record: aliases, then the integer executor agrees with the simulation") {
  Net net;
  const Graph& g = net.b.g;
  const TensorF32 calib = batch(net.b, 32);
  const QuantRecord rec = make_record(net, calib);
  const IntModel im = int_model_from_record(g, rec, find_backend("ort"));
  const Simulation sim = build_simulation(g, rec);
  // c1 feeds only the relu: it requantizes straight to r1's grid (QLinearConv with the ReLU folded).
  const size_t c1 = static_cast<size_t>(g.find_value("c1"));
  CHECK(im.origin[c1] == QuantOrigin::AliasBackward);
  CHECK(*im.act[c1] == *im.act[static_cast<size_t>(net.r1)]);
  CHECK(im.origin[static_cast<size_t>(net.gap)] == QuantOrigin::AliasBackward);  // through the flatten

  std::vector<TensorF32> data;
  for (int i = 0; i < 2; ++i) data.push_back(batch(net.b, 32));
  const VerifyResult r = verify_integer(sim, im, [&](int64_t i, TensorF32& x, std::vector<int64_t>& y) {
    if (i >= static_cast<int64_t>(data.size())) return false;
    x = data[static_cast<size_t>(i)];
    y.assign(32, 0);
    return true;
  });
  CHECK(r.samples == 64);
  CHECK(r.float_ops.empty());  // every op ran on integers
  for (const TensorAgreement& t : r.tensors) {
    CAPTURE(t.tensor);
    if (t.origin == "output") continue;  // logits: in accumulator LSBs, compared through top-1 below
    CHECK(t.max_lsb <= kMaxActLsb);
    CHECK(t.frac_differ <= kMaxFracDiffer);
  }
  CHECK(r.top1_agreement >= kMinTop1Agreement);
}

TEST_CASE("integer executor: an op without an integer kernel runs between dequantize and quantize") {
  Net net;
  Graph& g = net.b.g;
  const TensorF32 calib = batch(net.b, 8);
  const QuantRecord rec = make_record(net, calib);
  g.nodes()[1].kind = OpKind::Sigmoid;  // r1 becomes a sigmoid: no integer kernel here
  const IntModel im = int_model_from_record(g, rec, find_backend("ort"));
  IntExecutor ex(im);
  const std::vector<TensorF32> out = ex.run({calib});
  CHECK(ex.float_ops() == std::set<std::string>{"r1"});
  CHECK(out.at(0).shape() == Shape{8, 5});
}

TEST_CASE("QDQ ONNX export: checked by ONNX's checker, QDQ pairs on the integer model's tensors") {
  Net net;
  const Graph& g = net.b.g;
  const QuantRecord rec = make_record(net, batch(net.b, 16));
  const IntModel im = int_model_from_record(g, rec, find_backend("ort"));
  const std::string path = (std::filesystem::temp_directory_path() / "mqcalib_test_model.qdq.onnx").string();
  write_qdq_onnx(im, path);
  const std::vector<std::string> ops = onnx_op_types(path);
  auto count = [&](const char* op) { return std::count(ops.begin(), ops.end(), op); };
  CHECK(count("Conv") == 2);
  CHECK(count("Gemm") == 1);
  CHECK(count("Relu") == 1);
  CHECK(count("Add") == 1);
  CHECK(count("GlobalAveragePool") == 1);
  // One QDQ pair per quantized tensor (input, c1 alias, r1, c2, add, gap alias, flat), and the
  // weight/bias dequantizers.
  size_t pairs = 0;
  for (const auto& q : im.act) pairs += q.has_value();
  CHECK(pairs == 7);
  CHECK(count("QuantizeLinear") == static_cast<long>(pairs));
  CHECK(count("DequantizeLinear") == static_cast<long>(pairs + 6));
  std::filesystem::remove(path);
}

TEST_CASE("QDQ ONNX export and integer model: inputs they cannot express are errors naming the tensor") {
  Net net;
  QuantRecord rec = make_record(net, batch(net.b, 8));
  for (TensorQuant& t : rec.tensors)
    if (t.tensor == "r1") t.params.qmax = 1023;  // a 10-bit grid
  CHECK_THROWS_WITH(int_model_from_record(net.b.g, rec, find_backend("ort")), doctest::Contains("tensor 'r1'"));
}
