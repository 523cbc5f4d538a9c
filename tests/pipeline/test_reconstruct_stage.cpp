// The reconstruct stage alone: the method table, nearest, and layer-wise AdaRound over the small model
// (codes on each weight's grid, better or equal loss than nearest, deterministic at any thread count).
#include <doctest/doctest.h>
#include <omp.h>

#include <limits>

#include "backends/backend.h"
#include "pipeline/observe.h"
#include "pipeline/reconstruct.h"
#include "pipeline/simulation.h"
#include "stage_fixture.h"

using namespace mqcalib;
using namespace mqcalib::testing;

namespace {

struct Setup {
  Graph g = stage_model();
  QuantPlan plan;
  QuantState st;
  SampleStore store = stage_store(64, 16);
  Setup() {
    BackendOverrides ov;
    ov.w_bits = 3;
    plan = plan_quantization(g, resolve_backend(find_backend("fbgemm"), ov).profile, {});
    st.weights = observe_weights(g, plan, ObserverChoice{"minmax", {}});
  }
  std::vector<UnitReport> run(const std::string& method, int iters, int64_t budget = -1, float round_lr = 1e-3f) {
    ReconstructOptions o;
    o.method = method;
    o.iters = iters;
    o.round_lr = round_lr;
    o.batch = 8;
    o.cache_budget_bytes = budget;
    const ReconstructInputs in{g, plan, store, o, {}, {}, {}};
    return find_method(method).create()->run(in, st);
  }
};

}  // namespace

TEST_CASE("method table: names, lookup, validation naming the option") {
  CHECK(method_names() == std::vector<std::string>{"nearest", "adaround", "brecq", "qdrop"});
  CHECK_THROWS_WITH(find_method("adaroundd"), doctest::Contains("adaroundd"));
  ReconstructOptions o;
  o.method = "adaround";
  o.iters = 0;
  CHECK_THROWS_WITH(validate(o), doctest::Contains("--iters"));
  o.iters = 10;
  o.batch = 0;
  CHECK_THROWS_WITH(validate(o), doctest::Contains("--adaround-batch"));
  o.batch = 32;
  for (const float lr : {0.0f, -1e-3f, 2.0f, std::numeric_limits<float>::quiet_NaN()}) {
    o.round_lr = lr;
    CHECK_THROWS_WITH(validate(o), doctest::Contains("--round-lr"));
  }
  o.round_lr = 1.0f;
  CHECK_NOTHROW(validate(o));
  o.method = "brecq";
  o.granularity = "blocks";
  CHECK_THROWS_WITH(validate(o), doctest::Contains("granularity 'blocks'"));
  o.granularity = "stage";
  o.loss = "kl";
  CHECK_THROWS_WITH(validate(o), doctest::Contains("loss 'kl'"));
  o.loss = "fisher";
  o.method = "qdrop";
  o.drop_prob = 0.0f;
  CHECK_THROWS_WITH(validate(o), doctest::Contains("--drop-prob"));
  o.drop_prob = 0.5f;
  CHECK_NOTHROW(validate(o));
  o.method = "nearest";
  CHECK_NOTHROW(validate(o));
}

TEST_CASE("nearest leaves every weight on its nearest grid point (no codes)") {
  Setup s;
  CHECK(s.run("nearest", 1).empty());
  for (const WeightQuant& w : s.st.weights) CHECK(w.codes.empty());
}

TEST_CASE(
    "adaround: codes on each weight's grid, loss not above nearest, same bits at 1 and 2 threads and any budget") {
  Setup a;
  omp_set_num_threads(1);
  const std::vector<UnitReport> ra = a.run("adaround", 200);
  omp_set_num_threads(2);
  Setup b;
  const std::vector<UnitReport> rb = b.run("adaround", 200, 4096);  // FP targets mostly spilled
  REQUIRE(ra.size() == 3);
  for (size_t k = 0; k < ra.size(); ++k) {
    CAPTURE(ra[k].unit);
    const WeightQuant& w = a.st.weights[k];
    CHECK(ra[k].layers == std::vector<std::string>{w.point.layer});
    REQUIRE(w.codes.size() == static_cast<size_t>(a.g.nodes().at(w.point.node).params.weight.size()));
    for (int32_t c : w.codes) {
      CHECK(c >= w.params.qmin);
      CHECK(c <= w.params.qmax);
    }
    CHECK(ra[k].loss_after <= ra[k].loss_before * 1.0001);
    CHECK(w.codes == b.st.weights[k].codes);
    CHECK(ra[k].loss_after == rb[k].loss_after);
  }
}

TEST_CASE("adaround: the rounding lr reaches the optimiser (another lr, another result, deterministic)") {
  omp_set_num_threads(2);
  Setup a, b, c;
  const std::vector<UnitReport> ra = a.run("adaround", 200);
  const std::vector<UnitReport> rb = b.run("adaround", 200, -1, 1e-2f);
  const std::vector<UnitReport> rc = c.run("adaround", 200, -1, 1e-2f);
  REQUIRE(ra.size() == rb.size());
  bool differs = false;
  for (size_t k = 0; k < ra.size(); ++k) {
    CAPTURE(ra[k].unit);
    differs = differs || ra[k].loss_after != rb[k].loss_after;
    CHECK(rb[k].loss_after <= rb[k].loss_before * 1.0001);
    CHECK(rb[k].loss_after == rc[k].loss_after);
    CHECK(b.st.weights[k].codes == c.st.weights[k].codes);
  }
  CHECK(differs);
}

TEST_CASE("brecq / qdrop through the stage: codes on the grid, learned steps marked, the last observation kept") {
  for (const char* m : {"brecq", "qdrop"}) {
    CAPTURE(m);
    Setup s;
    ReconstructOptions o;
    o.method = m;
    o.iters = 60;
    o.act_iters = 40;
    o.batch = 8;
    int observed = 0;
    const std::function<std::vector<ActQuant>(const QuantState&)> observe = [&](const QuantState& st) {
      ++observed;
      return observe_activations(with_quantized_weights(s.g, st), s.plan, s.store, ObserverChoice{"minmax", {}});
    };
    s.st.activations = observe(s.st);
    std::vector<std::pair<std::string, double>> settings;
    const ReconstructInputs in{
        s.g, s.plan, s.store, o, {}, observe, [&](const std::string& k, double v) { settings.emplace_back(k, v); }};
    const std::vector<UnitReport> r = find_method(m).create()->run(in, s.st);
    CHECK(observed == 2);  // the stage's own, then brecq after stage 1 / qdrop on nearest weights
    CHECK(!r.empty());
    for (const UnitReport& u : r) CHECK(u.loss_after <= u.loss_before * 1.0001);
    for (const WeightQuant& w : s.st.weights) {
      REQUIRE(w.codes.size() == static_cast<size_t>(s.g.nodes().at(w.point.node).params.weight.size()));
      for (int32_t c : w.codes) CHECK((c >= w.params.qmin && c <= w.params.qmax));
    }
    bool any_learned = false;
    for (const ActQuant& a : s.st.activations) any_learned = any_learned || a.learned;
    CHECK(any_learned);
    CHECK(settings.size() == 2);  // cache statistics
  }
}
