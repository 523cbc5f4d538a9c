// Determinism of whole imported models (docs/STYLE.md): the engine's forward of the zoo models and of
// torchvision resnet18, mobilenet_v2 and efficientnet_b0 (BN folded) is bit-identical at 1, 2 and 3
// threads, plain and with every value fake-quantized through OutputQuant (fused into the kernels).
#include <doctest/doctest.h>

#include <algorithm>
#include <string>

#include "core/parallel.h"
#include "core/quantize.h"
#include "equiv_check.h"

using namespace mqcalib;
using namespace mqcalib::test;

namespace {

constexpr int64_t kDetBatch = 5;  // odd: panels and chunks straddle samples unevenly

// Symmetric int8 per-tensor params from each value's max |v| in one run.
OutputQuant quantize_every_value(const Executor& ex, const TensorF32& x) {
  const Graph& g = ex.graph();
  std::vector<float> amax(g.values().size(), 0.0f);
  ex.run({x}, [&](ValueId v, TensorF32& t) {
    for (int64_t i = 0; i < t.size(); ++i)
      amax[static_cast<size_t>(v)] = std::max(amax[static_cast<size_t>(v)], std::fabs(t[i]));
  });
  OutputQuant q(g.values().size());
  for (const Value& v : g.values()) {
    QParams p;
    p.scale = {std::max(amax[static_cast<size_t>(v.id)], 1e-6f) / 127.0f};
    p.zero_point = {0};
    q.set(v.id, p, v.name);
  }
  return q;
}

void check_threads(const std::string& label, const std::string& path, const Shape& shape1) {
  CAPTURE(label);
  ImportOptions opt;
  opt.input_shape = shape1;
  Graph g = import_torchscript(path, opt);
  fold_batchnorm(g);
  const Executor ex(g);
  Shape shape = shape1;
  shape[0] = kDetBatch;
  const TensorF32 x = normal_tensor(shape, 11);
  const OutputQuant q = quantize_every_value(ex, x);
  RunOptions quant;
  quant.quant = &q;
  const int saved = num_threads();
  std::vector<TensorF32> plain, quantized;
  for (int t : {1, 2, 3}) {
    set_num_threads(t);
    plain.push_back(ex.run({x})[0]);
    quantized.push_back(ex.run({x}, quant)[0]);
  }
  set_num_threads(saved);
  for (size_t k = 1; k < plain.size(); ++k) {
    CHECK(plain[k].vec() == plain[0].vec());
    CHECK(quantized[k].vec() == quantized[0].vec());
  }
  CHECK(quantized[0].vec() != plain[0].vec());
}

}  // namespace

TEST_CASE("determinism: zoo models bit-identical at 1, 2 and 3 threads, plain and quantized") {
  check_threads("zoo resnet20", zoo_dir() + "/resnet20.pt", {1, 1, 28, 28});
  check_threads("zoo mobilenetv2", zoo_dir() + "/mobilenetv2.pt", {1, 1, 28, 28});
}

TEST_CASE("determinism: torchvision resnet18, mobilenet_v2, efficientnet_b0 at 1, 2 and 3 threads") {
  for (const char* name : {"resnet18", "mobilenet_v2", "efficientnet_b0"}) {
    const ManifestEntry e = manifest_entry(name, "scripted");
    check_threads(name, models_dir() + "/" + e.file, e.input_shape);
  }
}
