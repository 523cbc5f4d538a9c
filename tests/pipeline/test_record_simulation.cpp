// The record stage and the simulation alone: the record lists every point in params.json's order, and
// build_simulation(record) reproduces what the stages applied (weights, codes, biases, activations).
#include <doctest/doctest.h>

#include "backends/backend.h"
#include "core/bias_i32.h"
#include "core/quantize.h"
#include "exec/executor.h"
#include "exec/int_kernels.h"
#include "graph/graph_builder.h"
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
  const QuantRecord rec = make_record(r.g, r.plan, r.st, Provenance());
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
  const QuantRecord rec = make_record(r.g, r.plan, r.st, Provenance());
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
  QuantRecord rec = make_record(r.g, r.plan, r.st, Provenance());
  rec.tensors.back().tensor = "no_such_tensor";
  CHECK_THROWS_WITH(build_simulation(r.g, rec), doctest::Contains("no_such_tensor"));
  rec = make_record(r.g, r.plan, r.st, Provenance());
  rec.tensors[0].layer = "no_such_layer";
  CHECK_THROWS_WITH(build_simulation(r.g, rec), doctest::Contains("no_such_layer"));
  rec = make_record(r.g, r.plan, r.st, Provenance());
  rec.weight_codes["c1.weight"] = WeightCodes{"weights/c1.weight.npy", {4, 1, 3, 2}, std::vector<int32_t>(24, 0)};
  CHECK_THROWS_WITH(build_simulation(r.g, rec), doctest::Contains("c1.weight"));
  rec = make_record(r.g, r.plan, r.st, Provenance());
  rec.tensors.push_back(rec.tensors.back());
  CHECK_THROWS_WITH(build_simulation(r.g, rec), doctest::Contains("twice"));
}

namespace {

// a, b -> add -> c, every (a, b) code pair of two 8-bit grids as one tensor each: a record of the three
// activations for `backend`, and the simulation's output on those codes.
struct AddCase {
  ActQ pa{0.019669661f, 3, -128, 127}, pb{0.015732653f, -5, -128, 127}, pc{0.02359129f, 7, -128, 127};
  std::vector<int32_t> qa, qb;
  Graph g;
  QuantRecord rec;
  explicit AddCase(const char* backend) {
    for (int32_t a = pa.qmin; a <= pa.qmax; ++a)
      for (int32_t b = 0; b <= pb.qmax; ++b) {
        qa.push_back(a);
        qb.push_back(b);
      }
    GraphBuilder gb;
    const int64_t n = static_cast<int64_t>(qa.size());
    const ValueId va = gb.input("a", {1, 1, 1, n}), vb = gb.input("b", {1, 1, 1, n});
    gb.output(gb.binary(OpKind::Add, "c", va, vb));
    g = gb.g;
    rec.provenance.backend = backend;
    for (const auto& [name, p] : {std::pair{"a", pa}, std::pair{"b", pb}, std::pair{"c", pc}}) {
      TensorQuant t;
      t.tensor = name;
      t.layer = "c";
      t.role = TensorRole::Activation;
      t.params.scale = {p.scale};
      t.params.zero_point = {p.zp};
      rec.tensors.push_back(t);
    }
  }
  TensorF32 values(const std::vector<int32_t>& q, const ActQ& p) const {
    TensorF32 x({1, 1, 1, static_cast<int64_t>(q.size())});
    for (size_t i = 0; i < q.size(); ++i) x.data()[i] = p.scale * static_cast<float>(q[i] - p.zp);
    return x;
  }
  TensorF32 simulate() const {
    const Simulation sim = build_simulation(g, rec);
    return Executor(sim.graph).run({values(qa, pa), values(qb, pb)}, sim.run_options(sim.activations.hook())).at(0);
  }
};

}  // namespace

TEST_CASE("build_simulation: an add of two quantized tensors is the backend's integer add on their codes") {
  for (const char* backend : {"ort", "snpe"}) {
    CAPTURE(backend);
    const AddCase k(backend);
    const BackendProfile& profile = find_backend(backend);
    const RequantMode mode{profile.integer_requant, profile.activation.rounding};
    std::vector<int32_t> qc(k.qa.size());
    add_i32_ref(k.qa.data(), k.pa, k.qb.data(), k.pb, static_cast<int64_t>(qc.size()), k.pc, mode, qc.data());
    const TensorF32 y = k.simulate();
    const TensorF32 float_sum = [&] {  // what fake quantization of the float sum gives
      TensorF32 s = k.values(k.qa, k.pa);
      const TensorF32 b = k.values(k.qb, k.pb);
      for (int64_t i = 0; i < s.size(); ++i) s.data()[i] = s[i] + b[i];
      QParams p;
      p.scale = {k.pc.scale};
      p.zero_point = {k.pc.zp};
      fake_quantize_f32(s.view(), p, s.data());
      return s;
    }();
    int64_t equal_to_int = 0, differ_from_float = 0;
    for (size_t i = 0; i < qc.size(); ++i) {
      equal_to_int += y[static_cast<int64_t>(i)] == k.pc.scale * static_cast<float>(qc[i] - k.pc.zp);
      differ_from_float += y[static_cast<int64_t>(i)] != float_sum[static_cast<int64_t>(i)];
    }
    CHECK(equal_to_int == static_cast<int64_t>(qc.size()));
    CHECK(differ_from_float > 0);  // the case is one where the two forms part
  }
}

TEST_CASE("build_simulation: an add with an input off its grid, or without a backend, stays a float add") {
  AddCase k("ort");
  k.rec.tensors.erase(k.rec.tensors.begin());  // a not quantized: its values are not codes of a grid
  CHECK(build_simulation(k.g, k.rec).integer_adds.get() == nullptr);
  AddCase none("");
  CHECK(build_simulation(none.g, none.rec).integer_adds.get() == nullptr);
}
