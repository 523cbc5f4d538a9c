// bench/forward/bench_forward.cpp: FP32 forward throughput, the engine vs LibTorch in the same run.
//
// For every model: the engine imports the TorchScript file and folds its BatchNorms (what a deployed
// forward runs), LibTorch loads the same file frozen (torch::jit::freeze: conv+BN folded, weights
// prepacked) and runs under InferenceMode. Both sides use --threads threads (omp_set_num_threads,
// at::set_num_threads), the same batch of kBatch random inputs; each side is warmed up, then timed
// kRuns times, the two sides alternating run by run (both see the same load); the median ms per batch
// of each side and the ratios (engine / LibTorch, sim / FP: medians of the run-by-run ratios) are printed,
// with the -march of the build (meson option `march`) and the max relative difference of the outputs.
// Then the W8A8 simulation of the same graph (simulated.h: tensorrt's plan, min-max parameters from
// the bench batch) run with OutputQuant (fused into the kernels) and with the pipeline's hook, each
// against the engine's FP forward, and whether the two give the same bits.
//
// Usage: bench_forward [--profile] [--threads N] [--cpu-time] MODEL.pt@CxHxW [MODEL.pt@CxHxW ...]
//   --profile   the engine's time per op and its slowest nodes, from hook timestamps
//   --threads N threads on each side (default 2, the figure)
//   --cpu-time  process CPU time instead of wall time (development on a loaded machine, with 1 thread)
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
#include <cstdlib>
#include <ctime>
#include <functional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "core/error.h"
#include "exec/executor.h"
#include "graph/bn_fold.h"
#include "import/libtorch_reference.h"
#include "import/torchscript_import.h"
#include "simulated.h"

using namespace mqcalib;

namespace {
using Clock = std::chrono::steady_clock;
int g_threads = 2;        // --threads N
bool g_cpu_time = false;  // --cpu-time: process CPU time instead of wall time (for a loaded machine, 1 thread)
constexpr int64_t kBatch = 32;
constexpr int kWarmup = 2;
constexpr int kRuns = 20;  // median of

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

double now_ms() {
  if (!g_cpu_time) return std::chrono::duration<double, std::milli>(Clock::now().time_since_epoch()).count();
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) * 1e-6;
}

double median(std::vector<double> ms) {
  std::sort(ms.begin(), ms.end());
  const size_t n = ms.size();
  return n % 2 ? ms[n / 2] : 0.5 * (ms[n / 2 - 1] + ms[n / 2]);
}

// The ms of every run of each function, their runs interleaved (one run of each in turn, ...) so that
// all of them see the same machine load.
std::vector<std::vector<double>> runs_interleaved(const std::vector<std::function<void()>>& fs) {
  for (int i = 0; i < kWarmup; ++i)
    for (const auto& f : fs) f();
  std::vector<std::vector<double>> ms(fs.size());
  for (int i = 0; i < kRuns; ++i)
    for (size_t k = 0; k < fs.size(); ++k) {
      const double t0 = now_ms();
      fs[k]();
      ms[k].push_back(now_ms() - t0);
    }
  return ms;
}

// Median of the run-by-run ratios a[i] / b[i] (runs of one round are seconds apart, so a drift of a
// shared machine cancels in the ratio better than in the ratio of the two medians).
double median_ratio(const std::vector<double>& a, const std::vector<double>& b) {
  std::vector<double> r;
  for (size_t i = 0; i < a.size(); ++i) r.push_back(a[i] / b[i]);
  return median(r);
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

// --profile: the engine's time per node, from the hook's timestamps (each node's time is the gap
// since the previous value was produced), summed over kRuns runs; totals per op and the slowest nodes.
void profile_engine(const Graph& g, const Executor& ex, const TensorF32& x) {
  std::vector<double> ms(g.values().size(), 0.0);
  for (int r = 0; r < kRuns; ++r) {
    double last = now_ms();
    ex.run({x}, [&](ValueId v, TensorF32&) {
      const double now = now_ms();
      ms[static_cast<size_t>(v)] += (now - last) / kRuns;
      last = now;
    });
  }
  std::vector<std::pair<double, std::string>> per_node, per_kind(kNumOpKinds);
  for (size_t k = 0; k < kNumOpKinds; ++k) per_kind[k].second = std::string(op_name(static_cast<OpKind>(k)));
  for (const Node& n : g.nodes()) {
    double t = 0.0;
    for (ValueId o : n.outputs) t += ms[static_cast<size_t>(o)];
    std::string what = n.name + " (" + std::string(op_name(n.kind));
    if (n.kind == OpKind::Conv2d)
      what += " " + shape_to_string(n.params.weight.shape()) + " s" + std::to_string(n.attrs.stride[0]);
    per_node.emplace_back(t, what + ") out " + shape_to_string(g.value(n.outputs[0]).shape));
    per_kind[static_cast<size_t>(n.kind)].first += t;
  }
  std::sort(per_kind.rbegin(), per_kind.rend());
  std::sort(per_node.rbegin(), per_node.rend());
  for (const auto& [t, k] : per_kind)
    if (t > 0) std::printf("    %-22s %8.2f ms\n", k.c_str(), t);
  for (size_t i = 0; i < std::min<size_t>(12, per_node.size()); ++i)
    std::printf("    %8.2f ms  %s\n", per_node[i].first, per_node[i].second.c_str());
}

bool g_profile = false;

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

  omp_set_num_threads(g_threads);
  set_libtorch_threads(g_threads);
  const SimulatedModel sim = simulate_w8a8(g, x, "tensorrt");
  const Executor sim_ex(sim.graph);
  RunOptions fused;
  fused.quant = &sim.quant;
  const ValueHook hook = sim.hook_quant.hook();

  TensorF32 out_engine, out_torch, out_fused, out_hooked;
  const std::vector<std::vector<double>> runs =
      runs_interleaved({[&] { out_engine = std::move(ex.run({x})[0]); }, [&] { out_torch = ref.forward(x); },
                           [&] { out_fused = std::move(sim_ex.run({x}, fused)[0]); },
                           [&] { out_hooked = std::move(sim_ex.run({x}, hook)[0]); }});
  std::vector<double> ms;
  for (const auto& r : runs) ms.push_back(median(r));
  std::printf(
      "%-30s %-12s %3zu BN folded  engine %8.2f ms  libtorch %8.2f ms  engine/libtorch %5.2f  "
      "max rel diff %.1e\n",
      m.path.substr(m.path.rfind('/') + 1).c_str(), shape_to_string(m.chw).c_str(), folds.folded.size(), ms[0], ms[1],
      median_ratio(runs[0], runs[1]), max_rel_diff(out_engine, out_torch));
  std::printf(
      "%-30s %-12s W8A8 tensorrt, %zu act points: OutputQuant %8.2f ms  sim/fp %5.2f   (hook %8.2f ms  %5.2f; "
      "same bits: %s)\n",
      "", "", sim.points, ms[2], median_ratio(runs[2], runs[0]), ms[3], median_ratio(runs[3], runs[0]),
      out_fused.vec() == out_hooked.vec() ? "yes" : "NO");
  if (g_profile) profile_engine(g, ex, x);
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
    for (int i = 1; i < argc; ++i) {
      const std::string a = argv[i];
      if (a == "--profile")
        g_profile = true;
      else if (a == "--cpu-time")
        g_cpu_time = true;
      else if (a == "--threads" && i + 1 < argc)
        g_threads = std::atoi(argv[++i]);
      else
        models.push_back(parse_arg(argv[i]));
    }
    std::printf(
        "bench_forward: FP32 forward, batch %lld, %d threads each side, median %s of %d alternating runs after %d "
        "warm-up; "
        "-march=%s; LibTorch frozen (torch::jit::freeze) under InferenceMode, engine with BN folded\n",
        static_cast<long long>(kBatch), g_threads, g_cpu_time ? "CPU time" : "wall time", kRuns, kWarmup,
        std::string(MQCALIB_MARCH).empty() ? "(compiler default)" : MQCALIB_MARCH);
    for (const ModelArg& m : models) bench_one(m);
  } catch (const Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
