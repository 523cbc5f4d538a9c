// The record stage and the simulation alone: the record lists every point in params.json's order, and
// build_simulation(record) reproduces what the stages applied (weights, codes, biases, activations).
#include <doctest/doctest.h>

#include "backends/backend.h"
#include "core/bias_i32.h"
#include "core/quantize.h"
#include "exec/executor.h"
#include "pipeline/observe.h"
#include "pipeline/record_stage.h"
#include "pipeline/simulation.h"
#include "stage_fixture.h"

using namespace mqcalib;
using namespace mqcalib::testing;

namespace {

struct Run {
  Graph g = stage_model();
  QuantPlan plan;
  QuantState st;
  SampleStore store = stage_store(32);
  explicit Run(const char* backend) {
    plan = plan_quantization(g, find_backend(backend), {});
    st.weights = observe_weights(g, plan, ObserverChoice{"minmax", {}});
    st.activations = observe_activations(with_quantized_weights(g, st), plan, store, ObserverChoice{"minmax", {}});
    quantize_biases(st, g, plan, Rounding::HalfToEven);
  }
};

}  // namespace

TEST_CASE("make_record: weight then bias per layer, then activations; layer inputs; codes only when set") {
  Run r("tensorrt");
  // give c2 non-nearest codes: every code 1
  WeightQuant& c2 = r.st.weights[1];
  c2.codes.assign(static_cast<size_t>(r.g.nodes().at(c2.point.node).params.weight.size()), 1);
  const QuantRecord rec = make_record(r.g, r.plan, r.st, Provenance{});
  std::vector<std::string> order;
  for (const TensorQuant& t : rec.tensors) order.push_back(t.tensor + ":" + std::string(to_string(t.role)));
  std::vector<std::string> expect = {"c1.weight:weight", "c1.bias:bias",     "c2.weight:weight",
                                     "c2.bias:bias",     "fc.weight:weight", "fc.bias:bias"};
  for (const ActQuant& a : r.st.activations) expect.push_back(a.point.tensor + ":activation");
  CHECK(order == expect);
  CHECK(rec.layer_inputs.at("c1") == "input");
  CHECK(rec.layer_inputs.at("c2") == "r1");
  REQUIRE(rec.weight_codes.size() == 1);
  CHECK(rec.weight_codes.at("c2.weight").file == "weights/c2.weight.npy");
  CHECK(rec.weight_codes.at("c2.weight").shape == Shape{4, 4, 1, 1});
  const TensorQuant& bias = rec.tensors[1];
  CHECK(bias.scheme.bits == 32);
  CHECK(bias.observed.min[0] == r.g.nodes().at(r.st.weights[0].point.node).params.bias[0]);
}

TEST_CASE("build_simulation: the record alone gives the weights, codes, biases and activation quantizers") {
  Run r("tensorrt");
  WeightQuant& c2 = r.st.weights[1];
  c2.codes.assign(static_cast<size_t>(r.g.nodes().at(c2.point.node).params.weight.size()), -3);
  const QuantRecord rec = make_record(r.g, r.plan, r.st, Provenance{});
  const Simulation sim = build_simulation(r.g, rec);
  // c1: nearest fake quantization of the FP weight
  const Node& c1 = r.g.nodes().at(r.st.weights[0].point.node);
  TensorF32 w1 = c1.params.weight;
  fake_quantize_f32(w1.view(), r.st.weights[0].params, w1.data());
  CHECK(sim.graph.nodes().at(r.st.weights[0].point.node).params.weight.vec() == w1.vec());
  // c2: s * (code - zp) per channel
  const TensorF32& w2 = sim.graph.nodes().at(c2.point.node).params.weight;
  for (int64_t o = 0; o < 4; ++o)
    for (int64_t i = 0; i < 4; ++i) CHECK(w2[o * 4 + i] == c2.params.scale[static_cast<size_t>(o)] * -3.0f);
  // biases on the int32 grid
  std::vector<float> b1(static_cast<size_t>(c1.params.bias.size()));
  fake_quantize_bias_f32(c1.params.bias.data(), c1.params.bias.size(), r.st.weights[0].bias, b1.data());
  CHECK(sim.graph.nodes().at(r.st.weights[0].point.node).params.bias.to_vector() == b1);
  // activations: the hook fake-quantizes exactly the planned values
  CHECK(sim.activations.size() == r.st.activations.size());
  TensorF32 x = r.store.read(0, 2), ref = x;
  sim.activations.hook()(r.g.find_value("input"), x);
  const int in = r.plan.act_index(r.g.find_value("input"));
  fake_quantize_f32(ref.view(), r.st.activations[static_cast<size_t>(in)].params, ref.data());
  CHECK(x.vec() == ref.vec());
  TensorF32 y = r.store.read(0, 2);
  sim.activations.hook()(r.g.find_value("r2") + 100, y);  // not a planned value: untouched
  CHECK(y.vec() == r.store.read(0, 2).vec());
}

TEST_CASE("build_simulation: a record naming what the model lacks is an error naming it") {
  Run r("tensorrt");
  QuantRecord rec = make_record(r.g, r.plan, r.st, Provenance{});
  rec.tensors.back().tensor = "no_such_tensor";
  CHECK_THROWS_WITH(build_simulation(r.g, rec), doctest::Contains("no_such_tensor"));
  rec = make_record(r.g, r.plan, r.st, Provenance{});
  rec.tensors[0].layer = "no_such_layer";
  CHECK_THROWS_WITH(build_simulation(r.g, rec), doctest::Contains("no_such_layer"));
  rec = make_record(r.g, r.plan, r.st, Provenance{});
  rec.weight_codes["c1.weight"] = WeightCodes{"weights/c1.weight.npy", {4, 1, 3, 2}, std::vector<int32_t>(24, 0)};
  CHECK_THROWS_WITH(build_simulation(r.g, rec), doctest::Contains("c1.weight"));
  rec = make_record(r.g, r.plan, r.st, Provenance{});
  rec.tensors.push_back(rec.tensors.back());
  CHECK_THROWS_WITH(build_simulation(r.g, rec), doctest::Contains("twice"));
}
