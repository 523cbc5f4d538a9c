// bench/forward/bench_forward.cpp: FP32 forward throughput, the engine vs LibTorch in the same run.
//
// For every model: the engine imports the TorchScript file and folds its BatchNorms (what a deployed
// forward runs), LibTorch loads the same file frozen (torch::jit::freeze: conv+BN folded, weights
// prepacked) and runs under InferenceMode. Both sides use kThreads threads (omp_set_num_threads,
// at::set_num_threads), the same batch of kBatch random inputs; each side is warmed up, then timed
// kRuns times; the median ms per batch of each side and the ratio engine / LibTorch are printed,
// with the -march of the build (meson option `march`) and the max relative difference of the outputs.
//
// Usage: bench_forward MODEL.pt@CxHxW [MODEL.pt@CxHxW ...]
// `meson test -C build --benchmark forward` runs it on the zoo models (examples/zoo, 1x28x28) and
// torchvision resnet18 / mobilenet_v2 (3x64x64, random weights with real BN statistics), which the
// test-model export writes into build/tests/import/models:
//   /usr/bin/python3 tests/import/export_models.py build/tests/import/models
// (meson builds that as the target `torch_test_models`; Debian's python3, which has torch).
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "core/error.h"
#include "exec/executor.h"
#include "graph/bn_fold.h"
#include "import/libtorch_reference.h"
#include "import/torchscript_import.h"

using namespace mqcalib;

namespace {
using Clock = std::chrono::steady_clock;
constexpr int kThreads = 2;
constexpr int64_t kBatch = 32;
constexpr int kWarmup = 2;
constexpr int kRuns = 10;  // median of

struct ModelArg {
  std::string path;
  Shape chw;
};

// "path@CxHxW" -> path, {C, H, W}.
ModelArg parse_arg(const std::string& arg) {
  const size_t at = arg.rfind('@');
  if (at == std::string::npos) throw Error("bench_forward: argument '" + arg + "' must be MODEL.pt@CxHxW");
  ModelArg m{arg.substr(0, at), {}};
  std::string dims = arg.substr(at + 1);
  size_t b = 0;
  for (;;) {
    const size_t e = dims.find('x', b);
    const std::string part = dims.substr(b, e == std::string::npos ? std::string::npos : e - b);
    char* end = nullptr;
    const long long v = std::strtoll(part.c_str(), &end, 10);
    if (part.empty() || *end != '\0' || v <= 0)
      throw Error("bench_forward: argument '" + arg + "': bad input shape '" + dims + "' (want CxHxW)");
    m.chw.push_back(v);
    if (e == std::string::npos) break;
    b = e + 1;
  }
  if (m.chw.size() != 3) throw Error("bench_forward: argument '" + arg + "': input shape must be CxHxW");
  return m;
}

double median_ms(const std::function<void()>& f) {
  for (int i = 0; i < kWarmup; ++i) f();
  std::vector<double> ms;
  for (int i = 0; i < kRuns; ++i) {
    const auto t0 = Clock::now();
    f();
    ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
  }
  std::sort(ms.begin(), ms.end());
  return 0.5 * (ms[kRuns / 2 - 1] + ms[kRuns / 2]);
}

double max_rel_diff(const TensorF32& a, const TensorF32& b) {
  if (a.shape() != b.shape()) return INFINITY;
  double d = 0.0, m = 0.0;
  for (int64_t i = 0; i < a.size(); ++i) {
    d = std::max(d, std::fabs(static_cast<double>(a[i]) - b[i]));
    m = std::max(m, std::fabs(static_cast<double>(b[i])));
  }
  return d / std::max(m, 1e-30);
}

void bench_one(const ModelArg& m) {
  Shape shape1 = {1};
  shape1.insert(shape1.end(), m.chw.begin(), m.chw.end());
  ImportOptions opt;
  opt.input_shape = shape1;
  Graph g = import_torchscript(m.path, opt);
  const FoldReport folds = fold_batchnorm(g);
  Executor ex(g);
  LibTorchModel ref(m.path, /*freeze_for_speed=*/true);

  Shape shape = shape1;
  shape[0] = kBatch;
  TensorF32 x(shape);
  std::mt19937 rng(1);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  for (int64_t i = 0; i < x.size(); ++i) x[i] = nd(rng);

  TensorF32 out_engine, out_torch;
  omp_set_num_threads(kThreads);
  const double engine_ms = median_ms([&] { out_engine = std::move(ex.run({x})[0]); });
  set_libtorch_threads(kThreads);
  const double torch_ms = median_ms([&] { out_torch = ref.forward(x); });
  std::printf(
      "%-40s %-12s %5zu BN folded  engine %9.2f ms  libtorch %9.2f ms  engine/libtorch %5.2f  "
      "max rel diff %.1e\n",
      m.path.substr(m.path.rfind('/') + 1).c_str(), shape_to_string(m.chw).c_str(), folds.folded.size(), engine_ms,
      torch_ms, engine_ms / torch_ms, max_rel_diff(out_engine, out_torch));
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: bench_forward MODEL.pt@CxHxW [MODEL.pt@CxHxW ...]\n");
    return 2;
  }
  try {
    std::vector<ModelArg> models;
    for (int i = 1; i < argc; ++i) models.push_back(parse_arg(argv[i]));
    std::printf(
        "bench_forward: FP32 forward, batch %lld, %d threads each side, median of %d runs after %d warm-up; "
        "-march=%s; LibTorch frozen (torch::jit::freeze) under InferenceMode, engine with BN folded\n",
        static_cast<long long>(kBatch), kThreads, kRuns, kWarmup,
        std::string(MQCALIB_MARCH).empty() ? "(compiler default)" : MQCALIB_MARCH);
    for (const ModelArg& m : models) bench_one(m);
  } catch (const Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
