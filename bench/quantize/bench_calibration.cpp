// mqcalib/bench/quantize/bench_calibration.cpp: what calibration costs on top of the FP forward.
//
//   bench_calibration [MODEL.pt] [OBSERVER] [SAMPLES] [THREADS]
//   defaults: examples/zoo/resnet20.pt kl 1024 2
//
// Issue 4 target: observers add <= 30% on top of the FP forward over the same samples. Both sides
// run in this process on the same preloaded batches (64 samples each, Fashion-MNIST training images
// sampled with seed 0, preprocessing x/255, mean 0.2860, std 0.3530):
//   forward      Executor::run over the batches, no hooks (the FP forward alone);
//   calibrate    observe_activations(): the same forward with every activation point of the
//                tensorrt placement observed (hook) and finalized (KL search included).
// Weights are fake-quantized first on both sides (as the pipeline does), so the forwards are the same
// work. Median of 5 repetitions after one warm-up; the instruction-set flags of the build are printed.
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "backends/backend.h"
#include "data/dataset.h"
#include "exec/executor.h"
#include "graph/bn_fold.h"
#include "import/torchscript_import.h"
#include "pipeline/observe.h"
#include "pipeline/quant_plan.h"
#include "pipeline/sample_store.h"
#include "pipeline/simulation.h"

using namespace mqcalib;

namespace {

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

template <typename F>
double time_ms(F&& f) {
  const auto t0 = std::chrono::steady_clock::now();
  f();
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

int main(int argc, char** argv) {
  const char* root_env = std::getenv("MQCALIB_SOURCE_ROOT");
  const std::string root = root_env ? root_env : ".";
  const std::string model = argc > 1 ? argv[1] : root + "/examples/zoo/resnet20.pt";
  const std::string observer = argc > 2 ? argv[2] : "kl";
  const int64_t samples = argc > 3 ? std::atoll(argv[3]) : 1024;
  const int threads = argc > 4 ? std::atoi(argv[4]) : 2;
  constexpr int kBatch = 64, kReps = 5;
  omp_set_num_threads(threads);
  try {
    Preprocess pp;
    pp.mean = {0.2860f};
    pp.std = {0.3530f};
    const auto ds = open_dataset("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz", pp);
    DatasetBatches provider(*ds, sample_indices(ds->size(), samples, 0));
    SampleStoreOptions so;
    so.batch = kBatch;
    const SampleStore store = SampleStore::load(provider, so);
    std::vector<TensorF32> batches;
    for (int64_t b = 0; b < store.size(); b += kBatch)
      batches.push_back(store.read(b, std::min<int64_t>(kBatch, store.size() - b)));
    ImportOptions io;
    io.input_shape = {1, 1, 28, 28};
    Graph g = import_torchscript(model, io);
    fold_batchnorm(g);
    const QuantPlan plan = plan_quantization(g, resolve_backend(find_backend("tensorrt"), {}).profile, {});
    QuantState state;
    state.weights = observe_weights(g, plan, ObserverChoice{"minmax", {}});
    const Graph quantized = with_quantized_weights(g, state);
    const Executor ex(quantized);
    std::vector<double> fwd, cal;
    for (int r = 0; r <= kReps; ++r) {
      const double f = time_ms([&] {
        for (const TensorF32& x : batches) ex.run({x});
      });
      const double k = time_ms([&] { observe_activations(quantized, plan, store, ObserverChoice{observer, {}}); });
      if (r == 0) continue;  // warm-up
      fwd.push_back(f);
      cal.push_back(k);
    }
    const double f = median(fwd), c = median(cal);
    std::printf(
        "bench_calibration: %s, %lld samples (batch %d), observer %s on %zu activation points, %d threads, "
        "march=%s\n",
        model.c_str(), static_cast<long long>(samples), kBatch, observer.c_str(), plan.activations.size(), threads,
        MQCALIB_MARCH);
    std::printf(
        "  FP forward alone      %9.1f ms\n  forward + observers   %9.1f ms\n  observer overhead     %8.1f %%"
        "  (target <= 30 %%)\n",
        f, c, 100.0 * (c - f) / f);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_calibration: %s\n", e.what());
    return 1;
  }
}
