// mqcalib/bench/synthesis/bench_synthesis.cpp: time of one data-free synthesis iteration (ZeroQ: forward
// through the whole unfolded network, BN-statistics loss at every BN input, backward to the images, Adam
// step; batch 32) per zoo model, for the engine (reconstruction/synthesis.h on the differentiable unit
// runner; the input gradient only) and for the same iteration in PyTorch autograd (synthesis_torch.py,
// /usr/bin/python3: "torch" as ZeroQ's distill_data.py runs it, whose backward also computes every
// weight gradient, and "torch-x" with the parameters frozen, the input gradient only), both on
// the same number of threads and from the same initial images, in one run. Prints ms per iteration per
// side, the ratio, the relative difference of the loss at the initial images, peak RSS, and whether
// issue 11's target (engine <= 0.5x torch) is met. Times are medians of single iterations, the lower of
// two rounds (engine, torch, engine, torch).
//
// Usage: bench_synthesis [threads=2] [min_seconds=1] [model=all] [engine-only]
//   model: resnet20 or mobilenetv2 (default both); "engine-only" skips the torch side (for profiling).
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "bench/torch_side.h"
#include "core/error.h"
#include "core/parallel.h"
#include "import/torchscript_import.h"
#include "reconstruction/synthesis.h"

using namespace mqcalib;

namespace {

constexpr int64_t kBatch = 32;
constexpr int kWarmupIters = 2;
constexpr int kMinTimedIters = 5;
constexpr int kRounds = 2;                      // engine / torch / engine / torch
constexpr double kTargetEngineOverTorch = 0.5;  // issue 11

struct Side {
  double ms = 0.0, loss = 0.0, grad_norm = 0.0;
};

Side bench_engine(const Graph& g, const TensorF32& x0, double min_seconds) {
  SynthesisOptions o;
  o.samples = kBatch;
  Side r;
  SynthesisBatch b(g, x0, 0, o);
  {
    std::vector<float> grad;
    r.loss = b.loss_and_grad(grad).total;
    double s = 0.0;
    for (float v : grad) s += static_cast<double>(v) * v;
    r.grad_norm = std::sqrt(s);
  }
  for (int i = 0; i < kWarmupIters; ++i) b.step();
  std::vector<double> ms;
  double total = 0.0;
  while (total < min_seconds || static_cast<int>(ms.size()) < kMinTimedIters) {
    const auto t0 = std::chrono::steady_clock::now();
    b.step();
    ms.push_back(1e3 * std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    total += ms.back() * 1e-3;
  }
  std::nth_element(ms.begin(), ms.begin() + static_cast<std::ptrdiff_t>(ms.size() / 2), ms.end());
  r.ms = ms[ms.size() / 2];
  return r;
}

bool bench_torch(int threads, double min_seconds, const std::string& data_dir, std::map<std::string, Side>& res,
                 double& rss_mib) {
  const std::string cmd = "/usr/bin/python3 '" MQCALIB_SYNTHESIS_TORCH_SCRIPT "' bench '" MQCALIB_ZOO_DIR "' " +
                          std::to_string(threads) + " " + std::to_string(min_seconds) + " '" + data_dir + "'";
  return bench::run_torch_side(cmd, rss_mib, [&](const std::string& name, double ms, std::istream& rest) {
    Side t;
    t.ms = ms;
    if (rest >> t.loss >> t.grad_norm) res[name] = t;
  });
}

// torch: as ZeroQ's distill_data.py runs it (parameters require grad, so autograd also computes the
// weight gradients); torch-x: parameters frozen, the input gradient only (the engine's work).
void print_table(const std::vector<std::string>& models, const std::vector<Side>& engine,
                 std::map<std::string, Side>& tr, bool have_torch) {
  std::printf("%-12s %9s %9s %9s %12s %14s %8s %8s\n", "model", "engine ms", "torch ms", "torch-x", "engine/torch",
              "engine/torch-x", "d loss", "d |grad|");
  double se = 0.0, st = 0.0, sx = 0.0;
  bool all = have_torch;
  for (size_t k = 0; k < models.size(); ++k) {
    se += engine[k].ms;
    if (!have_torch || !tr.count(models[k]) || !tr.count(models[k] + "/x")) {
      all = false;
      std::printf("%-12s %9.2f %9s\n", models[k].c_str(), engine[k].ms, "-");
      continue;
    }
    const Side &t = tr[models[k]], &x = tr[models[k] + "/x"];
    st += t.ms;
    sx += x.ms;
    std::printf("%-12s %9.2f %9.2f %9.2f %12.2f %14.2f %8.1e %8.1e\n", models[k].c_str(), engine[k].ms, t.ms, x.ms,
                engine[k].ms / t.ms, engine[k].ms / x.ms,
                std::fabs(engine[k].loss - t.loss) / std::max(1e-30, std::fabs(t.loss)),
                std::fabs(engine[k].grad_norm - t.grad_norm) / std::max(1e-30, t.grad_norm));
  }
  if (!all) return;
  std::printf("%-12s %9.2f %9.2f %9.2f %12.2f %14.2f\n", "total", se, st, sx, se / st, se / sx);
  std::printf("engine / torch = %.2f, engine / torch-x = %.2f (issue 11 target <= %.1f): %s / %s\n", se / st, se / sx,
              kTargetEngineOverTorch, se <= kTargetEngineOverTorch * st ? "met" : "NOT met",
              se <= kTargetEngineOverTorch * sx ? "met" : "NOT met");
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const int threads = argc > 1 ? std::stoi(argv[1]) : 2;
    const double min_seconds = argc > 2 ? std::stod(argv[2]) : 1.0;
    set_num_threads(threads);
    std::printf(
        "bench_synthesis: one ZeroQ iteration (fwd + BN loss + bwd to the images + Adam, batch %lld), "
        "%d threads, -march=%s\n",
        static_cast<long long>(kBatch), threads, MQCALIB_MARCH);
    char tmpl[] = "/tmp/mqcalib_bench_synthesis_XXXXXX";
    if (!mkdtemp(tmpl)) throw Error("bench_synthesis: cannot create a temporary directory");
    const std::string data_dir = tmpl;
    const std::string only = argc > 3 ? argv[3] : "all";
    const bool engine_only = argc > 4 && std::string(argv[4]) == "engine-only";
    std::vector<std::string> models;
    for (const char* m : {"resnet20", "mobilenetv2"})
      if (only == "all" || only == m) models.push_back(m);
    if (models.empty()) throw Error("bench_synthesis: unknown model '" + only + "' (resnet20, mobilenetv2, all)");
    std::vector<Graph> graphs;
    std::vector<TensorF32> x0s;
    for (const std::string& m : models) {
      const int64_t stream = m == "resnet20" ? 0 : 1;  // the same images whichever models run
      x0s.push_back(synthesis_initial_images({kBatch, 1, 28, 28}, 1234, stream));
      std::ofstream(data_dir + "/" + m + ".bin", std::ios::binary)
          .write(reinterpret_cast<const char*>(x0s.back().data()), static_cast<std::streamsize>(x0s.back().size() * 4));
      graphs.push_back(import_torchscript(std::string(MQCALIB_ZOO_DIR) + "/" + m + ".pt", {{1, 1, 28, 28}}));
    }
    // Rounds engine / torch / engine / torch, the lower median per model and side: a load change
    // between the two sides' runs moves the ratio less.
    std::vector<Side> engine(models.size());
    std::map<std::string, Side> tr;
    double torch_rss = 0.0;
    bool have_torch = !engine_only;
    for (int round = 0; round < kRounds; ++round) {
      for (size_t k = 0; k < models.size(); ++k) {
        const Side e = bench_engine(graphs[k], x0s[k], min_seconds);
        if (round == 0 || e.ms < engine[k].ms) engine[k] = e;
      }
      std::map<std::string, Side> t;
      if (!have_torch || !bench_torch(threads, min_seconds, data_dir, t, torch_rss)) {
        have_torch = false;
        continue;
      }
      for (const auto& [name, side] : t)
        if (!tr.count(name) || side.ms < tr[name].ms) tr[name] = side;
    }
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    const double engine_rss = static_cast<double>(ru.ru_maxrss) / 1024.0;
    for (const std::string& m : models) std::remove((data_dir + "/" + m + ".bin").c_str());
    rmdir(data_dir.c_str());
    print_table(models, engine, tr, have_torch);
    std::printf("peak RSS: engine %.1f MiB", engine_rss);
    if (have_torch) std::printf(", torch %.1f MiB", torch_rss);
    std::printf("\n");
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_synthesis: %s\n", e.what());
    return 1;
  }
}
