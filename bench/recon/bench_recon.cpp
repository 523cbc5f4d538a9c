// mqcalib/bench/recon/bench_recon.cpp: one block-reconstruction iteration per block of both zoo
// models, engine vs the same block written with PyTorch autograd (recon_torch.py, /usr/bin/python3),
// on the same data and the same number of threads (issue 10: total engine / torch <= 0.5).
//
// The iteration (QDrop's, the heaviest of the methods): the unit's inputs mixed with their FP values
// (drop 0.5), forward with every conv / linear weight AdaRound-soft-rounded (4-bit per-channel) and an
// LSQ fake quantizer with QDrop's drop on every value of the unit that a conv / linear reads (4-bit,
// the academic placement), Lp (p = 2) loss against the FP output, the rounding regularizer (beta 13.25,
// iteration 500 of 1000), backward, Adam on V (lr 1e-3) and on the steps (lr 4e-5). Batch 32. Data:
// 32 random images in the preprocessed range through the FP model. Times are medians of single
// iterations, the lower of two rounds (engine, torch, engine, torch). Also printed: the relative difference of the
// objective at V_init (no drop) between the two sides, a check that both compute the same block.
//
// Usage: bench_recon [threads=2] [min_seconds=1] [block filter: engine side only, for profiling]. On a loaded machine
// OpenMP's spin-waiting distorts multi-threaded timings on both sides: run with OMP_WAIT_POLICY=passive, or on a quiet
// machine.
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "bench/torch_side.h"
#include "core/parallel.h"
#include "exec/executor.h"
#include "graph/bn_fold.h"
#include "import/torchscript_import.h"
#include "recon_block_spec.h"
#include "reconstruction/recon_loss.h"
#include "reconstruction/unit_train.h"

using namespace mqcalib;

namespace {

constexpr double kTargetEngineOverTorch = 0.5;  // issue 10
constexpr int kMinTimedIters = 5;
constexpr int kRounds = 2;           // engine-then-torch rounds, the lower median of each kept
constexpr double kLossFloor = 1e-9;  // objectives below it (a last layer at V_init: ~1e-13) compare absolutely

struct EngineResult {
  std::string name;
  double ms = 0.0, loss0 = 0.0;
};

EngineResult bench_engine(const bench::BlockSpec& b, double min_seconds) {
  UnitRunner r(b.graph, b.unit, b.soft, b.acts);
  const UnitTrainOptions o = bench::train_options();
  // the objective at V_init, no drop
  UnitRunOptions ro;
  ro.act_quant = true;
  r.forward(std::vector<ViewF32>(b.inputs.begin(), b.inputs.end()), ro);
  EngineResult e;
  e.name = b.name;
  for (size_t k = 0; k < b.targets.size(); ++k)
    e.loss0 += lp_loss_f32(r.output(k), b.targets[k], 2.0f, nullptr, nullptr);
  UnitTrainer trainer(r, o);
  std::vector<TensorF32> in;
  auto iteration = [&] {
    in = b.inputs;  // the drop mix writes into the batch
    trainer.step(in, b.inputs, b.targets, {}, bench::kBenchIteration);
  };
  for (int i = 0; i < 3; ++i) iteration();
  std::vector<double> ms;
  double total = 0.0;
  while (total < min_seconds || static_cast<int>(ms.size()) < kMinTimedIters) {
    const auto t0 = std::chrono::steady_clock::now();
    iteration();
    ms.push_back(1e3 * std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    total += ms.back() * 1e-3;
  }
  std::nth_element(ms.begin(), ms.begin() + static_cast<std::ptrdiff_t>(ms.size() / 2), ms.end());
  e.ms = ms[ms.size() / 2];
  return e;
}

struct TorchResult {
  double ms = 0.0, loss0 = 0.0;
};

bool bench_torch(const std::string& dir, int threads, double min_seconds, std::map<std::string, TorchResult>& res,
                 double& rss_mib) {
  const std::string cmd = "/usr/bin/python3 '" MQCALIB_RECON_TORCH_SCRIPT "' '" + dir + "' " + std::to_string(threads) +
                          " " + std::to_string(min_seconds);
  return bench::run_torch_side(cmd, rss_mib, [&](const std::string& name, double ms, std::istream& rest) {
    TorchResult t;
    t.ms = ms;
    if (rest >> t.loss0) res[name] = t;
  });
}

// The blocks of both zoo models (those whose name contains `only`, if given); without a filter each is
// also written under `dir` for the torch side, its base path appended to `files`.
std::vector<bench::BlockSpec> collect_blocks(const std::string& only, const std::string& dir,
                                             std::vector<std::string>& files) {
  std::vector<bench::BlockSpec> blocks;
  for (const char* model : {"resnet20", "mobilenetv2"}) {
    std::vector<bench::BlockSpec> mb = bench::zoo_blocks(model);
    for (size_t k = 0; k < mb.size(); ++k) {
      if (!only.empty()) {
        if (mb[k].name.find(only) != std::string::npos) blocks.push_back(std::move(mb[k]));
        continue;
      }
      const std::string base = dir + "/" + std::string(model) + "_" + std::to_string(k);
      bench::write_block(mb[k], base);
      files.push_back(base);
      blocks.push_back(std::move(mb[k]));
    }
  }
  return blocks;
}

// The per-block table, the total ratio against the target, and whether torch ran at all.
void print_results(const std::vector<EngineResult>& engine, const std::map<std::string, TorchResult>& tr,
                   bool have_torch) {
  std::printf("%-28s %10s %10s %7s %10s\n", "block", "engine ms", "torch ms", "ratio", "d loss0");
  double se = 0.0, st = 0.0;
  for (const EngineResult& e : engine) {
    se += e.ms;
    const auto it = tr.find(e.name);
    if (it == tr.end()) {
      std::printf("%-28s %10.3f %10s\n", e.name.c_str(), e.ms, "-");
      continue;
    }
    st += it->second.ms;
    std::printf("%-28s %10.3f %10.3f %7.2f %10.1e\n", e.name.c_str(), e.ms, it->second.ms, it->second.ms / e.ms,
                std::fabs(e.loss0 - it->second.loss0) / std::max(kLossFloor, std::fabs(it->second.loss0)));
  }
  if (have_torch) {
    std::printf("%-28s %10.3f %10.3f %7.2f\n", "total", se, st, st / se);
    std::printf("engine / torch = %.2f (issue 10 target <= %.1f): target %s\n", se / st, kTargetEngineOverTorch,
                se <= kTargetEngineOverTorch * st ? "met" : "NOT met");
  }
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const int threads = argc > 1 ? std::stoi(argv[1]) : 2;
    const double min_seconds = argc > 2 ? std::stod(argv[2]) : 1.0;
    const std::string only = argc > 3 ? argv[3] : "";  // engine side only, blocks whose name contains it
    set_num_threads(threads);
    std::printf(
        "bench_recon: one QDrop block iteration (fwd + bwd + Adam on V and steps, batch %lld), %d threads, "
        "-march=%s\n",
        static_cast<long long>(bench::kBatch), threads, MQCALIB_MARCH);
    char tmpl[] = "/tmp/mqcalib_bench_recon_XXXXXX";
    if (!mkdtemp(tmpl)) throw Error("bench_recon: cannot create a temporary directory");
    const std::string dir = tmpl;
    std::vector<std::string> files;
    const std::vector<bench::BlockSpec> blocks = collect_blocks(only, dir, files);
    // Rounds of engine-then-torch; per block and side the lowest median of the rounds (load only adds time,
    // and on a shared machine it changes between the two sides' phases).
    std::vector<EngineResult> engine;
    std::map<std::string, TorchResult> tr;
    double torch_rss = 0.0;
    bool have_torch = false;
    for (int round = 0; round < kRounds; ++round) {
      for (size_t k = 0; k < blocks.size(); ++k) {
        const EngineResult e = bench_engine(blocks[k], min_seconds);
        if (round == 0)
          engine.push_back(e);
        else
          engine[k].ms = std::min(engine[k].ms, e.ms);
      }
      std::map<std::string, TorchResult> t;
      if (only.empty() && bench_torch(dir, threads, min_seconds, t, torch_rss)) {
        have_torch = true;
        for (const auto& [name, r] : t) {
          const auto it = tr.find(name);
          if (it == tr.end())
            tr[name] = r;
          else
            it->second.ms = std::min(it->second.ms, r.ms);
        }
      }
    }
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    const double engine_rss = static_cast<double>(ru.ru_maxrss) / 1024.0;
    for (const std::string& f : files) {
      std::remove((f + ".json").c_str());
      std::remove((f + ".bin").c_str());
    }
    rmdir(dir.c_str());
    print_results(engine, tr, have_torch);
    std::printf("peak RSS: engine %.1f MiB", engine_rss);
    if (have_torch) std::printf(", torch %.1f MiB", torch_rss);
    std::printf("\n");
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_recon: %s\n", e.what());
    return 1;
  }
}
