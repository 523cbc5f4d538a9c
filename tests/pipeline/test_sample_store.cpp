// The read-samples stage alone: the store reads its provider once, hashes the samples in order,
// serves batches, spills under a budget with the same bits, and rejects bad batches naming them.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <limits>

#include "core/error.h"
#include "export/sha256.h"
#include "stage_fixture.h"

using namespace mqcalib;
using namespace mqcalib::testing;

TEST_CASE("sample store: one pass over the provider, hash of the float32 samples, batches in order") {
  const TensorF32 all = stage_samples(100);
  MemoryBatches p(all);
  SampleStoreOptions o;
  o.batch = 16;
  const SampleStore s = SampleStore::load(p, o);
  CHECK(p.given() == 100);  // each sample handed over exactly once
  CHECK(p.calls() == 7);    // ceil(100 / 16)
  CHECK(s.size() == 100);
  CHECK(s.sample_shape() == Shape{1, 6, 6});
  CHECK(s.sha256() ==
        sha256_hex(std::string_view(reinterpret_cast<const char*>(all.data()), all.size() * sizeof(float))));
  const BatchSource b = s.batches(30);
  TensorF32 x;
  std::vector<float> seen;
  int64_t i = 0;
  for (; b(i, x); ++i) seen.insert(seen.end(), x.vec().begin(), x.vec().end());
  CHECK(i == 4);  // 30, 30, 30, 10
  CHECK(seen == all.to_vector());
  const BatchSource f = s.first(40, 16);
  int64_t n = 0;
  for (i = 0; f(i, x); ++i) n += x.dim(0);
  CHECK(n == 40);
  CHECK(p.given() == 100);  // reading the store never reads the provider again
}

TEST_CASE("sample store: a budget far below the data spills to disk and reads back the same bits") {
  const SampleStore ram = stage_store(100, 16, -1), disk = stage_store(100, 16, 1024);
  CHECK(ram.cache().bytes_spilled() == 0);
  CHECK(disk.cache().bytes_spilled() > 0);
  CHECK(disk.cache().peak_ram_bytes() <= 1024);
  CHECK(ram.read(0, 100).vec() == disk.read(0, 100).vec());
  CHECK(ram.sha256() == disk.sha256());
}

TEST_CASE("sample store: NaN names the sample, other shapes and no data are errors") {
  TensorF32 bad = stage_samples(40);
  bad[37 * 36 + 5] = std::numeric_limits<float>::quiet_NaN();
  MemoryBatches p(bad);
  SampleStoreOptions o;
  o.batch = 16;
  CHECK_THROWS_WITH(SampleStore::load(p, o), doctest::Contains("sample 37 holds NaN or Inf"));
  MemoryBatches empty(TensorF32({0, 1, 6, 6}));
  CHECK_THROWS_WITH(SampleStore::load(empty, o), doctest::Contains("no sample"));

  struct WrongShape : MemoryBatches {
    using MemoryBatches::MemoryBatches;
    Shape sample_shape() const override { return {3, 6, 6}; }
  };
  WrongShape w(stage_samples(4));
  CHECK_THROWS_WITH(SampleStore::load(w, o), doctest::Contains("[4, 1, 6, 6]"));
  o.batch = 0;
  MemoryBatches ok(stage_samples(4));
  CHECK_THROWS(SampleStore::load(ok, o));
}
