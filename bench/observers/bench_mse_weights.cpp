// bench/observers/bench_mse_weights.cpp: the mse weight observer on a whole model (issue 15 target:
// torchvision resnet18 at 2 bits per channel, p = 2.4, <= 5 s), next to the exhaustive _ref search.
//
//   bench_mse_weights MODEL.pt CxHxW [ref] [THREADS]
//
// fast: observe_weights (the pipeline's stage) with observer mse, every conv/linear weight of the
//       BN-folded model planned by the tensorrt profile with its bits set to 2 (int2 symmetric,
//       per-channel on axis 0), lp_norm 2.4; median of 3 runs.
// ref:  (with `ref`) the same data as the observer holds (exact values when a layer has at most
//       exact_limit values, else the 16384-bin per-channel histograms) searched channel by channel
//       with lp_search_shrink_ref, serially, as the observer did before the fast path; one run. Then
//       per channel: whether both chose the same range, and the worst relative excess of the fast
//       choice's exact loss over the _ref choice's (tolerance kLpSearchLossTol).
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <string>
#include <vector>

#include "backends/backend.h"
#include "calibrators/value_store.h"
#include "calibrators/lp_search.h"
#include "graph/bn_fold.h"
#include "import/torchscript_import.h"
#include "pipeline/observe.h"
#include "pipeline/quant_plan.h"

using namespace mqcalib;

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

Shape parse_shape(const std::string& s) {
  Shape out{1};
  size_t b = 0;
  while (b <= s.size()) {
    const size_t e = std::min(s.find('x', b), s.size());
    out.push_back(std::atoll(s.substr(b, e - b).c_str()));
    b = e + 1;
  }
  return out;
}

double cpu_seconds() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

struct RefResult {
  double seconds = 0, cpu = 0, worst_excess = 0;
  int64_t channels = 0, same = 0;
};

// The _ref search on each channel of each weight, compared with the fast ranges in `fast`.
RefResult run_ref(const Graph& g, const QuantPlan& plan, const std::vector<WeightQuant>& fast, double p) {
  RefResult r;
  const int64_t limit = ObserverOptions{}.exact_limit;
  const auto t0 = std::chrono::steady_clock::now();
  const double c0 = cpu_seconds();
  std::vector<std::vector<double>> ref_a(plan.weights.size());
  std::vector<std::vector<calib::LpChannel>> data(plan.weights.size());
  std::vector<std::vector<calib::Pow2Histogram>> hists(plan.weights.size());
  std::vector<std::vector<std::vector<float>>> centers(plan.weights.size());
  for (size_t i = 0; i < plan.weights.size(); ++i) {
    const ViewF32 w = g.nodes().at(plan.weights[i].node).params.weight.view();
    const int64_t C = w.shape[0], per = w.size() / C;
    const QScheme s = calib::per_tensor(plan.weights[i].scheme);
    for (int64_t c = 0; c < C; ++c) {
      const float* x = w.data + c * per;
      calib::LpChannel ch;
      const ScanResult sc = scan_f32(x, per);
      ch.min = sc.min, ch.max = sc.max;
      if (w.size() <= limit) {
        ch.x = x, ch.n = per;
      } else {
        hists[i].emplace_back(calib::HistKind::Signed, 1 << 14);
        hists[i].back().add(x, per);
        centers[i].push_back(hists[i].back().centers());
        ch.x = centers[i].back().data(), ch.weights = hists[i].back().counts().data(), ch.n = 1 << 14;
      }
      data[i].push_back(ch);
      ref_a[i].push_back(calib::lp_search_shrink_ref(ch.x, ch.weights, ch.n, s, ch.min, ch.max, p, 100));
    }
  }
  r.seconds = seconds_since(t0);
  r.cpu = cpu_seconds() - c0;
  for (size_t i = 0; i < plan.weights.size(); ++i) {
    const QScheme s = calib::per_tensor(plan.weights[i].scheme);
    for (size_t c = 0; c < data[i].size(); ++c) {
      const calib::LpChannel& ch = data[i][c];
      const float rmin = static_cast<float>(ref_a[i][c] * ch.min), rmax = static_cast<float>(ref_a[i][c] * ch.max);
      const float fmin = fast[i].range.min[c], fmax = fast[i].range.max[c];
      ++r.channels;
      if (rmin == fmin && rmax == fmax) {
        ++r.same;
        continue;
      }
      const double lr = calib::lp_error_ref(ch.x, ch.weights, ch.n, s, rmin, rmax, p);
      const double lf = calib::lp_error_ref(ch.x, ch.weights, ch.n, s, fmin, fmax, p);
      r.worst_excess = std::max(r.worst_excess, lf / lr - 1);
    }
  }
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: bench_mse_weights MODEL.pt CxHxW [ref] [THREADS]\n");
    return 2;
  }
  const bool ref = argc > 3 && std::string(argv[3]) == "ref";
  const int threads = argc > 4 ? std::atoi(argv[4]) : 2;
  constexpr double kP = 2.4;
  constexpr double kTargetSeconds = 5.0;
  omp_set_num_threads(threads);
  try {
    ImportOptions io;
    io.input_shape = parse_shape(argv[2]);
    Graph g = import_torchscript(argv[1], io);
    fold_batchnorm(g);
    QuantPlan plan = plan_quantization(g, resolve_backend(find_backend("tensorrt"), {}).profile, {});
    int64_t values = 0;
    for (WeightQuantPoint& w : plan.weights) {
      w.scheme.bits = 2;
      w.scheme.narrow_range = false;
      values += g.nodes().at(w.node).params.weight.view().size();
    }
    ObserverChoice mse{"mse", {}};
    mse.options.lp_norm = kP;
    std::vector<double> t, cpu;
    std::vector<WeightQuant> fast;
    for (int r = 0; r < 3; ++r) {
      const auto t0 = std::chrono::steady_clock::now();
      const double c0 = cpu_seconds();
      fast = observe_weights(g, plan, mse);
      t.push_back(seconds_since(t0));
      cpu.push_back(cpu_seconds() - c0);
    }
    std::sort(t.begin(), t.end());
    std::sort(cpu.begin(), cpu.end());
    std::printf("bench_mse_weights: %s, %zu weights (%lld values), int2 per-channel, p %.1f, %d threads, march=%s\n",
                argv[1], plan.weights.size(), static_cast<long long>(values), kP, threads, MQCALIB_MARCH);
    std::printf("  fast  observe_weights(mse)  %8.2f s wall %8.2f s cpu  (medians of 3; target <= %.0f s wall: %s)\n",
                t[1], cpu[1], kTargetSeconds, t[1] <= kTargetSeconds ? "met" : "MISSED");
    if (ref) {
      const RefResult r = run_ref(g, plan, fast, kP);
      std::printf(
          "  ref   exhaustive, serial    %8.2f s wall %8.2f s cpu  (%.1fx the fast path's wall, %.1fx its cpu)\n",
          r.seconds, r.cpu, r.seconds / t[1], r.cpu / cpu[1]);
      std::printf("  same range on %lld of %lld channels; worst loss excess of the fast choice %.3g (tol %.0e: %s)\n",
                  static_cast<long long>(r.same), static_cast<long long>(r.channels), r.worst_excess,
                  calib::kLpSearchLossTol, r.worst_excess <= calib::kLpSearchLossTol ? "ok" : "EXCEEDED");
    }
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_mse_weights: %s\n", e.what());
    return 1;
  }
}
