// Units and the runner on the zoo models (imported through src/import, BN folded): every granularity
// covers the graph; the runner, unit after unit, reproduces the executor's values at every unit
// output; a backward runs through every block; the whole-network gradient w.r.t. the input (what the
// data-free synthesis uses) matches directional finite differences of the double reference.
#include <doctest/doctest.h>

#include <cstdlib>
#include <map>

#include "exec/executor.h"
#include "exec/test_util.h"
#include "graph/bn_fold.h"
#include "import/torchscript_import.h"
#include "reconstruction/unit_ref_d.h"
#include "reconstruction/unit_runner.h"

using namespace mqcalib;
using namespace mqcalib::test;

namespace {

constexpr double kDirectionalRelTol = 1e-4;  // float32 network gradient vs double directional differences

Graph zoo(const std::string& name) {
  const char* root = std::getenv("MQCALIB_SOURCE_ROOT");
  ImportOptions io;
  io.input_shape = {1, 1, 28, 28};
  Graph g = import_torchscript(std::string(root ? root : ".") + "/examples/zoo/" + name + ".pt", io);
  fold_batchnorm(g);
  return g;
}

}  // namespace

TEST_CASE("zoo units: cover at every granularity; the runner chains to the executor's values; backward runs") {
  for (const char* name : {"resnet20", "mobilenetv2"}) {
    CAPTURE(name);
    const Graph g = zoo(name);
    for (UnitGranularity gran :
         {UnitGranularity::Layer, UnitGranularity::Block, UnitGranularity::Stage, UnitGranularity::Network}) {
      const std::vector<Unit> units = partition_units(g, gran);
      std::vector<int> seen(g.nodes().size(), 0);
      for (const Unit& u : units)
        for (size_t i : u.nodes) ++seen[i];
      for (int s : seen) CHECK(s == 1);
      if (gran == UnitGranularity::Block) CHECK(units.size() == (std::string(name) == "resnet20" ? 11u : 14u));
      if (gran == UnitGranularity::Stage && std::string(name) == "resnet20") CHECK(units.size() == 5u);
    }
    const TensorF32 x = random_tensor({3, 1, 28, 28}, 1, -0.8f, 2.0f);
    std::map<ValueId, TensorF32> ref;
    Executor(g).run({x}, [&](ValueId v, TensorF32& t) { ref[v] = t; });
    std::map<ValueId, TensorF32> have{{g.inputs()[0], x}};
    for (const Unit& u : partition_units(g, UnitGranularity::Block)) {
      CAPTURE(u.name);
      UnitRunner r(g, u);
      std::vector<ViewF32> in;
      for (ValueId v : u.inputs) in.push_back(have.at(v).view());
      r.forward(in, UnitRunOptions{});
      std::vector<GradSeed> seeds;
      std::vector<TensorF32> gy;
      for (ValueId v : u.outputs) {
        const ViewF32 o = r.value(v);
        have[v] = TensorF32(o.shape, std::vector<float>(o.data, o.data + o.size()));
        CHECK(max_rel_diff(have[v], ref.at(v)) <= 1e-6);  // same kernels; batch-size blocking only
        gy.push_back(random_tensor(o.shape, 2));
        seeds.push_back({v, gy.back().view()});
      }
      r.backward(seeds, true);
      const ViewF32 gx = r.input_grad(0);
      double s = 0.0;
      for (int64_t i = 0; i < gx.size(); ++i) s += std::fabs(gx.data[i]);
      CHECK(std::isfinite(s));
      CHECK(s > 0.0);
    }
  }
}

TEST_CASE("zoo network gradient w.r.t. the input vs double directional finite differences") {
  const Graph g = zoo("resnet20");
  const Unit net = whole_graph_unit(g);
  const TensorF32 x = random_tensor({1, 1, 28, 28}, 3, -0.8f, 2.0f), gy = random_tensor({1, 10}, 4);
  UnitRunner r(g, net);
  r.forward({x.view()}, UnitRunOptions{});
  r.backward({{net.outputs[0], gy.view()}}, true);
  const ViewF32 gx = r.input_grad(0);
  const VecD gyd = to_double(gy), xd = to_double(x);
  for (uint32_t k = 0; k < 3; ++k) {
    const TensorF32 dir = random_tensor(x.shape(), 10 + k);
    double analytic = 0.0;
    for (int64_t i = 0; i < x.size(); ++i) analytic += static_cast<double>(gx.data[i]) * dir[i];
    auto f = [&](double t) {
      VecD v = xd;
      for (size_t i = 0; i < v.size(); ++i) v[i] += t * dir[static_cast<int64_t>(i)];
      return dot(gyd, run_unit_d(g, net, {{v, x.shape()}}, {})[static_cast<size_t>(net.outputs[0])].v);
    };
    const double fd = (f(kFdStep) - f(-kFdStep)) / (2.0 * kFdStep);
    CHECK(std::fabs(analytic - fd) <= kDirectionalRelTol * std::fabs(fd));
  }
}
