// A result that changed FP weights is deployable from its files alone: record_weight_changes lists
// exactly the changed tensors (equalized, bias-corrected, AdaRound-rounded) and op changes, the files
// round-trip through disk (params.json + folded/*.npy), and build_simulation on the model file's plain
// fold plus the loaded record runs the same network as the graph that was quantized.
#include <doctest/doctest.h>
#include <unistd.h>

#include <filesystem>

#include "backends/backend.h"
#include "exec/executor.h"
#include "export/output_folder.h"
#include "export/record_files.h"
#include "graph/equalize.h"
#include "pipeline/bn_range_stage.h"
#include "pipeline/observe.h"
#include "pipeline/record_stage.h"
#include "pipeline/simulation.h"
#include "stage_fixture.h"

using namespace mqcalib;
using namespace mqcalib::testing;

namespace fs = std::filesystem;

TEST_CASE("record_weight_changes: changed tensors and ops recorded; the record rebuilds the quantized graph") {
  const Graph original = bn_stage_model();
  Graph prepared = original;
  equalize_cross_layer(prepared);                   // c1, dw, pw rows/columns; r2 relu6 -> relu
  prepared.nodes().back().params.bias[1] += 0.25f;  // a bias correction of fc
  const QuantPlan plan = plan_quantization(prepared, find_backend("tensorrt"), {});
  QuantState st;
  st.weights = observe_weights(prepared, plan, ObserverChoice{"minmax", {}});
  WeightQuant& fc = st.weights.back();  // AdaRound-style codes for fc: all 1
  fc.codes.assign(static_cast<size_t>(prepared.nodes().at(fc.point.node).params.weight.size()), 1);
  Preprocess pp;
  pp.mean = {0.5f};
  pp.std = {0.5f};
  st.activations = bn_range_activations(prepared, plan, input_ranges(prepared, pp), 6.0);
  quantize_biases(st, prepared, plan, Rounding::HalfToEven);
  QuantRecord rec = make_record(prepared, plan, st, Provenance{});
  record_weight_changes(rec, original, prepared, st);

  std::vector<std::string> tensors;
  for (const auto& kv : rec.float_weights) tensors.push_back(kv.first);
  // c1: rows and bias divided; dw: columns multiplied, rows and bias divided; pw: columns multiplied;
  // fc: bias changed, weight as s * (code - zp).
  CHECK(tensors ==
        std::vector<std::string>{"c1.bias", "c1.weight", "dw.bias", "dw.weight", "fc.bias", "fc.weight", "pw.weight"});
  CHECK(rec.op_changes == std::map<std::string, std::string>{{"r2", "relu"}});
  for (size_t i = 0; i < rec.float_weights.at("fc.weight").values.size(); ++i) {
    const int64_t o = static_cast<int64_t>(i) / 216;
    CHECK(rec.float_weights.at("fc.weight").values[i] == fc.params.scale[static_cast<size_t>(o)] * 1.0f);
  }

  // Through disk: the files record_files renders, read back by load_record.
  const fs::path dir = fs::temp_directory_path() / ("mqcalib_record_weights_" + std::to_string(::getpid()));
  write_output_folder(dir.string(), record_files(rec));
  CHECK(fs::is_regular_file(dir / "folded" / "c1.weight.npy"));
  const QuantRecord loaded = load_record((dir / "params.json").string());
  fs::remove_all(dir);
  REQUIRE(loaded.float_weights.size() == rec.float_weights.size());
  CHECK(loaded.op_changes == rec.op_changes);

  // The simulation from the model's plain fold + the loaded record == the one from the quantized graph.
  const Simulation from_record = build_simulation(original, loaded);
  QuantRecord plain = rec;
  plain.float_weights.clear();
  plain.op_changes.clear();
  const Simulation from_prepared = build_simulation(prepared, plain);
  for (size_t k = 0; k < prepared.nodes().size(); ++k) {
    CHECK(from_record.graph.nodes()[k].kind == from_prepared.graph.nodes()[k].kind);
    CHECK(from_record.graph.nodes()[k].params.weight.vec() == from_prepared.graph.nodes()[k].params.weight.vec());
    CHECK(from_record.graph.nodes()[k].params.bias.vec() == from_prepared.graph.nodes()[k].params.bias.vec());
  }
  const TensorF32 x = stage_samples(4);
  const TensorF32 a = Executor(from_record.graph).run({x}, from_record.activations.hook())[0];
  const TensorF32 b = Executor(from_prepared.graph).run({x}, from_prepared.activations.hook())[0];
  CHECK(a.vec() == b.vec());
  // Without the recorded weights, the model's own fold is another network.
  const Simulation stale = build_simulation(original, plain);
  CHECK(Executor(stale.graph).run({x}, stale.activations.hook())[0].vec() != b.vec());
}

TEST_CASE("recorded_fp_graph: a record's tensor or op change the model cannot take is an error naming it") {
  const Graph g = bn_stage_model();
  QuantRecord rec;
  rec.float_weights["nope.weight"] = FloatTensor{"folded/nope.weight.npy", {1}, {1.0f}};
  CHECK_THROWS_WITH(recorded_fp_graph(g, rec), doctest::Contains("nope.weight"));
  rec.float_weights = {{"c1.weight", FloatTensor{"folded/c1.weight.npy", {2}, {1.0f, 2.0f}}}};
  CHECK_THROWS_WITH(recorded_fp_graph(g, rec), doctest::Contains("c1.weight"));
  rec.float_weights.clear();
  rec.op_changes = {{"r1", "relu"}};  // r1 is a relu already: only relu6 -> relu is a legal change
  CHECK_THROWS_WITH(recorded_fp_graph(g, rec), doctest::Contains("r1"));
}
