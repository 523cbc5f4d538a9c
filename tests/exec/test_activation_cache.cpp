// Activation cache: with a RAM budget of one tenth of the cached data, data is spilled, the cache's
// RAM stays under the budget (plus a stated margin) and every read is identical to an unlimited
// budget; the spill file is deleted on destruction.
#include <doctest/doctest.h>
#include <sys/stat.h>

#include <cstring>
#include <string>

#include "exec/activation_cache.h"
#include "exec/test_util.h"

using namespace mqcalib;
using namespace mqcalib::test;

namespace {

// The cache never splits a batch and never exceeds its budget with its own buffers (header), so
// the stated margin is zero bytes.
constexpr int64_t kCacheRamMarginBytes = 0;

bool file_exists(const std::string& p) {
  struct stat st;
  return ::stat(p.c_str(), &st) == 0;
}

Graph small_net() {
  Graph g;
  ValueId in = g.add_value("input");
  g.inputs().push_back(in);
  auto add = [&](OpKind k, const std::string& name, ValueId x, Attrs a = {}, Params p = {}) {
    Node n;
    n.kind = k;
    n.name = name;
    n.inputs = {x};
    n.outputs = {g.add_value(name)};
    n.attrs = a;
    n.params = std::move(p);
    g.add_node(std::move(n));
    return g.nodes().back().outputs[0];
  };
  Attrs ca;
  ca.kernel = {3, 3};
  ca.padding = {1, 1};
  Params cp;
  cp.weight = random_tensor({6, 2, 3, 3}, 1);
  cp.bias = random_tensor({6}, 2);
  ValueId c = add(OpKind::Conv2d, "conv", in, ca, cp);
  ValueId r = add(OpKind::Relu6, "relu", c);
  Attrs fa;
  fa.end_dim = 3;  // canonical: non-negative dims
  ValueId f = add(OpKind::Flatten, "flatten", r, fa);
  Params lp;
  lp.weight = random_tensor({4, 6 * 5 * 5}, 3);
  ValueId l = add(OpKind::Linear, "fc", f, Attrs{}, lp);
  g.outputs() = {l};
  return g;
}

}  // namespace

TEST_CASE("activation cache: budget of one tenth spills, stays under budget, same contents") {
  const Graph g = small_net();
  const Executor ex(g);
  std::vector<std::vector<TensorF32>> batches;
  for (uint32_t k = 0; k < 10; ++k) batches.push_back({random_tensor({4, 2, 5, 5}, 500 + k)});
  const std::vector<ValueId> vals = node_io_values(g, {"conv", "fc"});  // input, conv, flatten, fc
  CHECK(vals.size() == 4);

  const ActivationCache full = collect_activations(ex, batches, vals, CacheOptions{});
  int64_t total = 0;
  for (ValueId v : vals) total += full.num_samples(v) * numel(full.sample_shape(v)) * 4;
  CHECK(full.bytes_in_ram() == total);
  CHECK(full.bytes_spilled() == 0);
  CHECK(full.spill_path().empty());
  CHECK(full.num_samples(vals[1]) == 40);
  CHECK(full.sample_shape(vals[1]) == Shape{6, 5, 5});

  CacheOptions small;
  small.ram_budget_bytes = total / 10;
  std::string path;
  {
    const ActivationCache lim = collect_activations(ex, batches, vals, small);
    CHECK(lim.bytes_spilled() > 0);
    CHECK(lim.bytes_in_ram() + lim.bytes_spilled() == total);
    CHECK(lim.peak_ram_bytes() <= small.ram_budget_bytes + kCacheRamMarginBytes);
    path = lim.spill_path();
    CHECK_FALSE(path.empty());
    CHECK_FALSE(file_exists(path));  // unlinked as soon as it is created: a killed run leaves no file
    for (ValueId v : vals) {
      CAPTURE(v);
      CHECK(lim.num_samples(v) == 40);
      // whole range (crosses RAM and spilled segments) and an unaligned range
      CHECK(bit_identical(lim.read(v, 0, 40), full.read(v, 0, 40)));
      CHECK(bit_identical(lim.read(v, 3, 30), full.read(v, 3, 30)));
      // zero-copy view of an appended batch, RAM or file-backed
      for (int64_t b : {0, 4, 36}) {
        REQUIRE(lim.is_contiguous(v, b, 4));
        const ViewF32 a = lim.view(v, b, 4), e = full.view(v, b, 4);
        CHECK(a.shape == e.shape);
        CHECK(std::memcmp(a.data, e.data, sizeof(float) * static_cast<size_t>(a.size())) == 0);
      }
    }
    CHECK_FALSE(lim.is_contiguous(vals[0], 2, 4));
    CHECK_THROWS_AS(lim.view(vals[0], 2, 4), Error);
    CHECK_THROWS_AS(lim.read(vals[0], 38, 4), Error);
  }
  CHECK_FALSE(file_exists(path));

  // budget 0: everything spilled, still identical
  CacheOptions none;
  none.ram_budget_bytes = 0;
  const ActivationCache z = collect_activations(ex, batches, vals, none);
  CHECK(z.bytes_in_ram() == 0);
  CHECK(z.peak_ram_bytes() == 0);
  CHECK(z.bytes_spilled() == total);
  for (ValueId v : vals) CHECK(bit_identical(z.read(v, 0, 40), full.read(v, 0, 40)));

  // the cached input and output are what the executor computes
  const auto out = ex.run(batches[2]);
  CHECK(bit_identical(full.read(vals.back(), 8, 4), out[0]));
  CHECK(bit_identical(z.read(vals[0], 8, 4), batches[2][0]));
}

TEST_CASE("activation cache: errors name the value") {
  ActivationCache c({3}, CacheOptions{});
  TensorF32 a({2, 3});
  c.append(3, a);
  CHECK_THROWS_WITH_AS(c.append(3, TensorF32({2, 4})), doctest::Contains("value 3"), Error);
  CHECK_THROWS_WITH_AS(c.append(4, a), doctest::Contains("value 4"), Error);
  CacheOptions bad;
  bad.ram_budget_bytes = 0;
  bad.spill_dir = "/nonexistent/dir";
  ActivationCache d({1}, bad);
  CHECK_THROWS_WITH_AS(d.append(1, a), doctest::Contains("/nonexistent/dir"), Error);
}
