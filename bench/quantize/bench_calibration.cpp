// mqcalib/bench/quantize/bench_calibration.cpp: what calibration costs on top of the FP forward.
//
//   bench_calibration [MODEL.pt] [OBSERVER] [SAMPLES] [THREADS] [torch]
//   defaults: examples/zoo/resnet20.pt kl 1024 2
//
// Targets: observers add <= 30% (issue 4), <= 20% (issue 15) on top of the FP forward over the
// same samples (the "observer overhead" line). Both sides
// run in this process on the same preloaded batches (64 samples each, Fashion-MNIST training images
// sampled with seed 0, preprocessing x/255, mean 0.2860, std 0.3530):
//   forward      Executor::run over the batches, no hooks (the FP forward alone);
//   no-op hooks  the same forward with an empty hook on every activation point (what keeping the
//                points as tensors and calling the hook costs, before any observer work);
//   calibrate    observe_activations(): the same forward with every activation point of the
//                tensorrt placement observed (hook) and finalized (KL search included). With
//                observers whose in-order merge is exact (kl, minmax, percentile, mse, ema) it runs
//                the batches in contiguous runs on the threads, one executor each, kernels serial;
//   by batches   the FP forward on that schedule, so that the gain of the schedule and the
//                observers' own cost can be told apart ("observers over the same schedule").
// Weights are fake-quantized first on both sides (as the pipeline does), so the forwards are the same
// work. Median of 9 repetitions after one warm-up; the overhead is the median of the 9 back-to-back
// pairs (a drift of a shared machine cancels); the instruction-set flags of the build are printed.
//
// With `torch` (a zoo model: its file stem names the architecture in examples/zoo/train_zoo.py), the
// issue 15 comparison in the same run: the engine's whole calibration (plan, weight observers, weights
// quantized, the activation observers over every batch and their finalize, activation params) against
// torch.ao's prepare_fx + calibration forward (+ the observers' calculate_qparams) on the same batches
// (written to a temporary file), same thread count (calibration_torch.py: HistogramObserver, the
// closest torch.ao has to KL). Wall and process CPU time of both; the ratio is engine / torch.
#include <omp.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <memory>
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

double cpu_seconds() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

// The value of "key": NUMBER in a one-line JSON object (the torch side's output), or -1.
double json_number(const std::string& line, const std::string& key) {
  const size_t k = line.find("\"" + key + "\":");
  return k == std::string::npos ? -1.0 : std::atof(line.c_str() + k + key.size() + 3);
}

// The engine's calibration as the pipeline runs it; returns {wall ms, cpu s}.
std::pair<double, double> engine_calibration(const Graph& g, const SampleStore& store, const std::string& observer) {
  const double c0 = cpu_seconds();
  const double ms = time_ms([&] {
    const QuantPlan plan = plan_quantization(g, resolve_backend(find_backend("tensorrt"), {}).profile, {});
    QuantState state;
    state.weights = observe_weights(g, plan, ObserverChoice{"minmax", {}});
    const Graph quantized = with_quantized_weights(g, state);
    state.activations = observe_activations(quantized, plan, store, ObserverChoice{observer, {}});
    choose_activation_params(state.activations);
  });
  return {ms, cpu_seconds() - c0};
}

// torch.ao on the same batches (calibration_torch.py); prints both sides and the ratio.
int compare_with_torch(const std::string& root, const std::string& model, const Graph& g, const SampleStore& store,
                       const std::vector<TensorF32>& batches, const std::string& observer, int threads) {
  const std::string stem = model.substr(model.find_last_of('/') + 1, model.rfind(".pt") - model.find_last_of('/') - 1);
  char path[] = "/tmp/mqcalib_bench_calibration_XXXXXX";
  const int fd = mkstemp(path);
  if (fd < 0) throw Error("bench_calibration: cannot create a temporary file in /tmp");
  close(fd);
  {
    std::ofstream f(path, std::ios::binary);
    for (const TensorF32& b : batches)
      f.write(reinterpret_cast<const char*>(b.view().data), static_cast<std::streamsize>(b.view().size() * 4));
  }
  std::vector<double> wall, cpu;
  for (int r = 0; r <= 3; ++r) {
    const auto [ms, c] = engine_calibration(g, store, observer);
    if (r == 0) continue;
    wall.push_back(ms / 1e3);
    cpu.push_back(c);
  }
  const std::string cmd = "/usr/bin/python3 " + root + "/bench/quantize/calibration_torch.py --model " + stem +
                          " --weights " + model + " --data " + path + " --count " + std::to_string(store.size()) +
                          " --threads " + std::to_string(threads);
  std::string line;
  if (FILE* p = popen(cmd.c_str(), "r")) {
    char buf[4096];
    while (std::fgets(buf, sizeof buf, p)) line = buf;
    pclose(p);
  }
  std::remove(path);
  const double tp = json_number(line, "prepare_s"), tc = json_number(line, "calibrate_s"),
               tq = json_number(line, "qparams_s"), tcpu = json_number(line, "cpu_s");
  if (tp < 0 || tc < 0) throw Error("bench_calibration: the torch side printed no result (" + cmd + ")");
  const double ew = median(wall), ec = median(cpu);
  std::printf("issue 15: calibration of %lld samples, engine (%s on every activation) vs torch.ao (%s), %d threads\n",
              static_cast<long long>(store.size()), observer.c_str(), "HistogramObserver", threads);
  std::printf("  engine  plan+weights+observe+finalize   %8.3f s wall  %8.3f s cpu  (median of 3)\n", ew, ec);
  std::printf("  torch   prepare_fx %.3f + calibrate %.3f = %8.3f s wall; + calculate_qparams %.3f s; %.3f s cpu\n", tp,
              tc, tp + tc, tq, tcpu);
  std::printf(
      "  ratio engine / torch (prepare + calibration): %.3f wall (target <= 1), %.3f wall incl. qparams, "
      "%.3f cpu\n",
      ew / (tp + tc), ew / (tp + tc + tq), ec / tcpu);
  return 0;
}

// The FP forward as the calibration pass runs it when its observers allow (pipeline/observe.cpp):
// the batches in `threads` contiguous runs, one executor and one thread each, kernels serial inside.
void forward_batches_on_threads(const Graph& g, const std::vector<TensorF32>& batches, int threads) {
  const int64_t nb = static_cast<int64_t>(batches.size());
#pragma omp parallel for schedule(static, 1) num_threads(threads)
  for (int t = 0; t < threads; ++t) {
    const Executor ex(g);
    for (int64_t b = nb * t / threads; b < nb * (t + 1) / threads; ++b) ex.run({batches[static_cast<size_t>(b)]});
  }
}

// The overhead lines: kReps back-to-back sets after one warm-up, medians.
void measure_overhead(const Graph& quantized, const QuantPlan& plan, const SampleStore& store,
                      const std::vector<TensorF32>& batches, const std::string& observer, int threads) {
  constexpr int kReps = 9;
  const Executor ex(quantized);
  std::vector<double> fwd, cal, ratio, fin, hooked, by_batch, own;
  const RunOptions noop = point_hook_run(plan, [](ValueId, TensorF32&) {});
  for (int r = 0; r <= kReps; ++r) {
    const double f = time_ms([&] {
      for (const TensorF32& x : batches) ex.run({x});
    });
    const double h = time_ms([&] {
      for (const TensorF32& x : batches) ex.run({x}, noop);
    });
    const double fb = time_ms([&] { forward_batches_on_threads(quantized, batches, threads); });
    // The progress call after the last batch marks where the observers' finalize begins.
    std::chrono::steady_clock::time_point last_batch{};
    const ProgressFn mark = [&](const std::string&, int64_t, int64_t) { last_batch = std::chrono::steady_clock::now(); };
    const double k = time_ms([&] { observe_activations(quantized, plan, store, ObserverChoice{observer, {}}, mark); });
    const double finalize = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - last_batch).count();
    if (r == 0) continue;  // warm-up
    fwd.push_back(f);
    cal.push_back(k);
    fin.push_back(finalize);
    hooked.push_back(h / f);
    by_batch.push_back(fb / f);
    own.push_back(k / fb);
    ratio.push_back(k / f);  // the pair measured back to back: a slow drift of the machine cancels
  }
  std::printf(
      "  FP forward alone      %9.1f ms\n  forward + no-op hooks %8.1f %%  (the points exist as tensors: what the hooks "
      "cost before any observer work)\n  forward, batches on threads %+6.1f %%  (the calibration pass's schedule "
      "without observers: %d contiguous runs of batches, one thread each)\n  forward + observers   %9.1f ms\n"
      "    of which finalize   %9.1f ms  (after the last batch: the observers' finalize, KL search included)\n"
      "  observers over the same schedule %+5.1f %%  (calibration against the batches-on-threads forward)\n"
      "  observer overhead     %8.1f %%"
      "  (median of the %d back-to-back sets; target <= 20 %% issue 15, <= 30 %% issue 4)\n",
      median(fwd), 100.0 * (median(hooked) - 1.0), 100.0 * (median(by_batch) - 1.0), threads, median(cal), median(fin),
      100.0 * (median(own) - 1.0), 100.0 * (median(ratio) - 1.0), kReps);
}

}  // namespace

int main(int argc, char** argv) {
  const char* root_env = std::getenv("MQCALIB_SOURCE_ROOT");
  const std::string root = root_env ? root_env : ".";
  const std::string model = argc > 1 ? argv[1] : root + "/examples/zoo/resnet20.pt";
  const std::string observer = argc > 2 ? argv[2] : "kl";
  const int64_t samples = argc > 3 ? std::atoll(argv[3]) : 1024;
  const int threads = argc > 4 ? std::atoi(argv[4]) : 2;
  constexpr int kBatch = 64;
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
    if (argc > 5 && std::string(argv[5]) == "torch")
      return compare_with_torch(root, model, g, store, batches, observer, threads);
    std::printf(
        "bench_calibration: %s, %lld samples (batch %d), observer %s on %zu activation points, %d threads, "
        "march=%s\n",
        model.c_str(), static_cast<long long>(samples), kBatch, observer.c_str(), plan.activations.size(), threads,
        MQCALIB_MARCH);
    measure_overhead(quantized, plan, store, batches, observer, threads);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_calibration: %s\n", e.what());
    return 1;
  }
}
