// mqcalib/bench/adaround/bench_adaround.cpp: time of one AdaRound iteration (forward with W~(V),
// backward to V by the hand-written kernels, Adam step; batch 32, regularizer active) per layer
// shape, for the engine and for the same iteration in PyTorch autograd (adaround_torch.py, run with
// /usr/bin/python3), both on the same number of threads. Prints ms per iteration per side, the ratio
// torch / engine, and the peak RSS of each side. Times are medians of single iterations.
//
// Usage: bench_adaround [layers.txt] [threads=2] [min_seconds=0.5]   (layers.txt: format in the file)
// On a loaded shared machine, OpenMP spin-waiting distorts multi-threaded timings on both sides: compare
// at 1 thread or with OMP_WAIT_POLICY=passive (docs/reconstruction.md).
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "core/parallel.h"
#include "reconstruction/adaround_step.h"

using namespace mqcalib;

namespace {

constexpr int64_t kBatch = 32;
constexpr int kWarmupIters = 3;
constexpr int kMinTimedIters = 5;

struct Layer {
  std::vector<std::string> fields;  // the line of layers.txt
};

std::vector<Layer> read_layers(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw Error("bench_adaround: cannot open layer file '" + path + "'");
  std::vector<Layer> out;
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream ss(line);
    Layer l;
    for (std::string f; ss >> f;) l.fields.push_back(f);
    if (l.fields.empty() || l.fields[0][0] == '#') continue;
    const size_t want = l.fields[0] == "conv" ? 11 : 5;
    if ((l.fields[0] != "conv" && l.fields[0] != "linear") || l.fields.size() != want)
      throw Error("bench_adaround: bad line in '" + path + "': " + line);
    out.push_back(l);
  }
  return out;
}

std::optional<Activation> act_of(const std::string& a) {
  if (a == "relu") return Activation::Relu;
  if (a == "relu6") return Activation::Relu6;
  if (a == "none") return std::nullopt;
  throw Error("bench_adaround: unknown activation '" + a + "'");
}

TensorF32 uniform(const Shape& s, std::mt19937& rng, float lo, float hi) {
  std::uniform_real_distribution<float> u(lo, hi);
  TensorF32 t(s);
  for (int64_t i = 0; i < t.size(); ++i) t[i] = u(rng);
  return t;
}

// ms per engine iteration for one layer (same setup as adaround_torch.py: per-channel symmetric 4-bit).
double bench_engine(const Layer& l, double min_seconds) {
  const auto& f = l.fields;
  std::mt19937 rng(0);
  LayerSpec spec;
  spec.name = f[1];
  Shape xs, ws;
  if (f[0] == "conv") {
    const int64_t c = std::stoll(f[2]), h = std::stoll(f[3]), w = std::stoll(f[4]), o = std::stoll(f[5]);
    const int64_t k = std::stoll(f[6]), groups = std::stoll(f[9]);
    spec.conv.stride_h = spec.conv.stride_w = std::stoll(f[7]);
    spec.conv.pad_h = spec.conv.pad_w = std::stoll(f[8]);
    spec.conv.groups = groups;
    xs = {kBatch, c, h, w};
    ws = {o, c / groups, k, k};
  } else {
    spec.kind = LayerKind::Linear;
    xs = {kBatch, std::stoll(f[2])};
    ws = {std::stoll(f[3]), std::stoll(f[2])};
  }
  spec.activation = act_of(f.back());
  const TensorF32 x = uniform(xs, rng, 0.0f, 1.0f), w = uniform(ws, rng, -0.5f, 0.5f);
  const TensorF32 b = uniform({ws[0]}, rng, -0.5f, 0.5f);
  spec.weight = w;
  spec.bias = b.data();
  QParams qp;
  qp.qmin = -8;
  qp.qmax = 7;
  qp.axis = 0;
  const int64_t per = w.size() / ws[0];
  for (int64_t o = 0; o < ws[0]; ++o) {
    float m = 0.0f;
    for (int64_t i = 0; i < per; ++i) m = std::max(m, std::fabs(w[o * per + i]));
    qp.scale.push_back(m / 7.0f);
    qp.zero_point.push_back(0);
  }
  AdaRoundOptions opt;
  opt.iters = 1000;
  AdaRoundLayer layer(spec, qp, opt);
  TensorF32 t(layer.output_shape(xs));
  layer.reconstruction_loss(x, uniform(t.shape(), rng, 0.0f, 1.0f), w.data());  // shape check
  if (f[0] == "conv")
    conv2d_nchw_f32(x, w, b.data(), spec.conv, t.mut_view());
  else
    linear_f32(x, w, b.data(), t.mut_view());
  if (spec.activation) activation_f32(*spec.activation, t, t.mut_view());
  const int t_reg = opt.iters / 2;  // past the warm-up: the regularizer is part of the iteration
  for (int i = 0; i < kWarmupIters; ++i) layer.step(x, t, t_reg);
  // Median of single-iteration times: robust to the other jobs on a shared machine.
  std::vector<double> ms;
  double total = 0.0;
  while (total < min_seconds || static_cast<int>(ms.size()) < kMinTimedIters) {
    const auto t0 = std::chrono::steady_clock::now();
    layer.step(x, t, t_reg);
    ms.push_back(1e3 * std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    total += ms.back() * 1e-3;
  }
  std::nth_element(ms.begin(), ms.begin() + static_cast<std::ptrdiff_t>(ms.size() / 2), ms.end());
  return ms[ms.size() / 2];
}

// Runs the torch script; fills name -> ms and the script's peak RSS. False if python/torch is missing.
bool bench_torch(const std::string& layers, int threads, double min_seconds, std::map<std::string, double>& ms,
                 double& rss_mib) {
  const std::string cmd = "/usr/bin/python3 '" MQCALIB_ADAROUND_TORCH_SCRIPT "' '" + layers + "' " +
                          std::to_string(threads) + " " + std::to_string(min_seconds) + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return false;
  char buf[512];
  std::string out;
  while (std::fgets(buf, sizeof buf, p)) {
    std::istringstream ss(buf);
    std::string name;
    double v = 0.0;
    if (ss >> name >> v) (name == "peak_rss_mib" ? rss_mib : ms[name]) = v;
    out += buf;
  }
  const int rc = pclose(p);
  if (rc != 0) {
    std::printf("python torch side unavailable (exit %d): %s", rc, out.c_str());
    return false;
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const std::string layers = argc > 1 ? argv[1] : MQCALIB_ADAROUND_LAYERS;
    const int threads = argc > 2 ? std::stoi(argv[2]) : 2;
    const double min_seconds = argc > 3 ? std::stod(argv[3]) : 0.5;
    set_num_threads(threads);
    std::printf("bench_adaround: one AdaRound iteration (fwd + bwd + Adam, batch %lld), %d threads, -march=%s\n",
                static_cast<long long>(kBatch), threads, MQCALIB_MARCH);
    const std::vector<Layer> ls = read_layers(layers);
    std::vector<double> engine;
    for (const Layer& l : ls) engine.push_back(bench_engine(l, min_seconds));
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    const double engine_rss = static_cast<double>(ru.ru_maxrss) / 1024.0;
    std::map<std::string, double> torch_ms;
    double torch_rss = 0.0;
    const bool have_torch = bench_torch(layers, threads, min_seconds, torch_ms, torch_rss);
    std::printf("%-18s %12s %12s %8s\n", "layer", "engine ms", "torch ms", "ratio");
    double se = 0.0, st = 0.0;
    for (size_t i = 0; i < ls.size(); ++i) {
      const std::string& name = ls[i].fields[1];
      se += engine[i];
      if (have_torch && torch_ms.count(name)) {
        st += torch_ms[name];
        std::printf("%-18s %12.3f %12.3f %8.2f\n", name.c_str(), engine[i], torch_ms[name], torch_ms[name] / engine[i]);
      } else {
        std::printf("%-18s %12.3f %12s %8s\n", name.c_str(), engine[i], "-", "-");
      }
    }
    if (have_torch)
      std::printf("%-18s %12.3f %12.3f %8.2f\n", "total", se, st, st / se);
    else
      std::printf("%-18s %12.3f\n", "total", se);
    std::printf("peak RSS: engine %.1f MiB", engine_rss);
    if (have_torch) std::printf(", torch %.1f MiB", torch_rss);
    std::printf("\n");
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_adaround: %s\n", e.what());
    return 1;
  }
}
