// Quantizer placement per backend (src/pipeline/quant_plan.h) on small hand-built graphs whose
// correct placement is written out by hand from REFERENCE.md section 2.
#include <doctest/doctest.h>

#include <algorithm>

#include "pipeline/quant_plan.h"

using namespace mqcalib;

namespace {

// A few-line graph builder: b.conv("c1", "input").relu("r1", "c1")...
struct GraphBuilder {
  Graph g;
  GraphBuilder() { g.inputs().push_back(g.add_value("input")); }
  ValueId v(const std::string& name) { return g.find_value(name); }
  GraphBuilder& op(OpKind k, const std::string& name, std::vector<std::string> ins) {
    Node n;
    n.kind = k;
    n.name = name;
    for (const std::string& i : ins) n.inputs.push_back(v(i));
    n.outputs.push_back(g.add_value(name));
    if (k == OpKind::Conv2d || k == OpKind::Linear) n.params.weight = TensorF32({2, 2, 1, 1}, 0.5f);
    g.add_node(std::move(n));
    return *this;
  }
  GraphBuilder& conv(const std::string& n, const std::string& in) { return op(OpKind::Conv2d, n, {in}); }
  GraphBuilder& relu(const std::string& n, const std::string& in) { return op(OpKind::Relu, n, {in}); }
  GraphBuilder& add(const std::string& n, const std::string& a, const std::string& b) {
    return op(OpKind::Add, n, {a, b});
  }
  GraphBuilder& cat(const std::string& n, std::vector<std::string> ins) { return op(OpKind::Cat, n, std::move(ins)); }
  Graph done(const std::string& out) {
    g.outputs().push_back(v(out));
    g.validate();
    return g;
  }
};

std::vector<std::string> act_tensors(const QuantPlan& p) {
  std::vector<std::string> out;
  for (const ActQuantPoint& a : p.activations) out.push_back(a.tensor);
  std::sort(out.begin(), out.end());
  return out;
}

// input -> c1 -> r1 -> c2 -> add(c2, r1) -> r2 -> fc
Graph residual() {
  return GraphBuilder()
      .conv("c1", "input")
      .relu("r1", "c1")
      .conv("c2", "r1")
      .add("add", "c2", "r1")
      .relu("r2", "add")
      .op(OpKind::Linear, "fc", {"r2"})
      .done("fc");
}

}  // namespace

TEST_CASE("plan: tensorrt quantizes conv/linear inputs and add inputs, and fuses add+relu") {
  const QuantPlan p = plan_quantization(residual(), find_backend("tensorrt"), {});
  // input (c1), r1 (c2 and add), c2 (add input), r2 (fc; add+relu fused so not the add output).
  CHECK(act_tensors(p) == std::vector<std::string>{"c2", "input", "r1", "r2"});
  CHECK(p.weights.size() == 3);
  CHECK(p.weights[0].scheme.granularity == Granularity::PerChannel);
}

TEST_CASE("plan: academic quantizes only conv/linear inputs") {
  const QuantPlan p = plan_quantization(residual(), find_backend("academic"), {});
  CHECK(act_tensors(p) == std::vector<std::string>{"input", "r1", "r2"});
}

TEST_CASE("plan: fbgemm does not fuse add+relu here when the profile says so; the add output gets its own quantizer") {
  BackendProfile b = find_backend("fbgemm");
  b.fuse_add_relu = false;
  const QuantPlan p = plan_quantization(residual(), b, {});
  CHECK(act_tensors(p) == std::vector<std::string>{"add", "c2", "input", "r1", "r2"});
}

TEST_CASE("plan: skip and per-layer bits") {
  LayerPolicy pol;
  pol.skip = {"c2"};
  pol.layer_bits = {{"fc", 4}};
  const QuantPlan p = plan_quantization(residual(), find_backend("tensorrt"), pol);
  CHECK(p.weights.size() == 2);
  CHECK(p.weights[1].layer == "fc");
  CHECK(p.weights[1].scheme.bits == 4);
  CHECK(p.activations[static_cast<size_t>(p.act_index(residual().find_value("r2")))].scheme.bits == 4);
  pol = {};
  pol.first_last_8bit = true;
  BackendProfile b = find_backend("tensorrt");
  b.weight.bits = 4;
  const QuantPlan q = plan_quantization(residual(), b, pol);
  CHECK(q.weights[0].scheme.bits == 8);
  CHECK(q.weights[1].scheme.bits == 4);
  CHECK(q.weights[2].scheme.bits == 8);
  pol.skip = {"nope"};
  CHECK_THROWS_WITH_AS(plan_quantization(residual(), b, pol), doctest::Contains("nope"), Error);
}

TEST_CASE("plan: concat inputs share one scale where the backend requires it") {
  const Graph g =
      GraphBuilder().conv("a", "input").conv("b", "input").cat("cat", {"a", "b"}).conv("c", "cat").done("c");
  const QuantPlan trt = plan_quantization(g, find_backend("tensorrt"), {});
  const int ga = trt.activations[static_cast<size_t>(trt.act_index(g.find_value("a")))].group;
  CHECK(ga >= 0);
  CHECK(trt.activations[static_cast<size_t>(trt.act_index(g.find_value("b")))].group == ga);
  CHECK(trt.activations[static_cast<size_t>(trt.act_index(g.find_value("cat")))].group == ga);
  CHECK(trt.activations[static_cast<size_t>(trt.act_index(g.find_value("input")))].group == -1);
  const QuantPlan ort = plan_quantization(g, find_backend("ort"), {});  // ORT requantizes concat inputs
  CHECK(ort.activations[static_cast<size_t>(ort.act_index(g.find_value("a")))].group == -1);
}

TEST_CASE("plan: openvino uses the unsigned grid for tensors non-negative by structure") {
  const QuantPlan p = plan_quantization(residual(), find_backend("openvino"), {});
  const Graph g = residual();
  CHECK(p.activations[static_cast<size_t>(p.act_index(g.find_value("r1")))].scheme.signedness == Signedness::Unsigned);
  CHECK(p.activations[static_cast<size_t>(p.act_index(g.find_value("input")))].scheme.signedness == Signedness::Signed);
  CHECK(p.activations[static_cast<size_t>(p.act_index(g.find_value("c2")))].scheme.signedness == Signedness::Signed);
}
