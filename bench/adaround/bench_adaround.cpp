// mqcalib/bench/adaround/bench_adaround.cpp: time of one AdaRound iteration (forward with W~(V),
// backward to V by the hand-written kernels, Adam step; batch 32, regularizer active) per layer
// shape, for the engine and for the same iteration in PyTorch autograd (adaround_torch.py, run with
// /usr/bin/python3), both on the same number of threads. Prints ms per iteration per side, the ratio
// torch / engine, the peak RSS of each side, and whether issue 5's target (engine total <= 0.5x
// torch) is met. Times are medians of single iterations.
//
// Usage: bench_adaround [layers.txt] [threads=2] [min_seconds=0.5]   (layers.txt: format in the file;
// the default lists every conv / linear layer of both zoo models, written by make_layers.py)
// On a loaded shared machine, OpenMP spin-waiting distorts multi-threaded timings on both sides: compare
// at 1 thread or with OMP_WAIT_POLICY=passive (docs/reconstruction.md).
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "bench/torch_side.h"
#include "core/parallel.h"
#include "reconstruction/adaround_step.h"
#include "reconstruction/round_regularizer.h"

using namespace mqcalib;

namespace {

constexpr int64_t kBatch = 32;
constexpr int kWarmupIters = 3;
constexpr int kMinTimedIters = 5;
constexpr double kTargetEngineOverTorch = 0.5;  // issue 5: total engine time <= 0.5x PyTorch autograd

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

struct EngineResult {
  double ms = 0.0;
  double loss = 0.0, grad_norm = 0.0;  // objective and |dL/dV| at V_init, regularizer on (cross-check)
};

void write_floats(std::ofstream& out, const TensorF32& t) {
  out.write(reinterpret_cast<const char*>(t.data()), static_cast<std::streamsize>(sizeof(float) * t.vec().size()));
}

// One layer: per-channel symmetric 4-bit, as adaround_torch.py. Writes the layer's data (x, w, b,
// target as raw float32, in that order) to `data_path` so the torch side uses the same numbers.
EngineResult bench_engine(const Layer& l, double min_seconds, const std::string& data_path) {
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
  {
    std::ofstream out(data_path, std::ios::binary);
    write_floats(out, x);
    write_floats(out, w);
    write_floats(out, b);
    write_floats(out, t);
    if (!out) throw Error("bench_adaround: cannot write '" + data_path + "'");
  }
  EngineResult r;
  std::vector<float> gv(layer.v().size());
  r.loss = layer.loss_and_grad(
      x, t, round_regularizer_beta(t_reg, opt.iters, opt.warmup, opt.beta_start, opt.beta_end, opt.beta_schedule),
      gv.data());
  for (float g : gv) r.grad_norm += static_cast<double>(g) * g;
  r.grad_norm = std::sqrt(r.grad_norm);
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
  r.ms = ms[ms.size() / 2];
  return r;
}

// Runs the torch script; fills name -> ms and the script's peak RSS. False if python/torch is missing.
struct TorchResult {
  double ms = 0.0, loss = 0.0, grad_norm = 0.0;
};

bool bench_torch(const std::string& layers, int threads, double min_seconds, const std::string& data_dir,
                 std::map<std::string, TorchResult>& res, double& rss_mib) {
  const std::string cmd = "/usr/bin/python3 '" MQCALIB_ADAROUND_TORCH_SCRIPT "' '" + layers + "' " +
                          std::to_string(threads) + " " + std::to_string(min_seconds) + " '" + data_dir + "'";
  return bench::run_torch_side(cmd, rss_mib, [&](const std::string& name, double ms, std::istream& rest) {
    TorchResult t;
    t.ms = ms;
    if (rest >> t.loss >> t.grad_norm) res[name] = t;
  });
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
    char tmpl[] = "/tmp/mqcalib_bench_adaround_XXXXXX";
    if (!mkdtemp(tmpl)) throw Error("bench_adaround: cannot create a temporary directory");
    const std::string data_dir = tmpl;
    std::vector<EngineResult> engine;
    for (const Layer& l : ls) engine.push_back(bench_engine(l, min_seconds, data_dir + "/" + l.fields[1] + ".bin"));
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    const double engine_rss = static_cast<double>(ru.ru_maxrss) / 1024.0;
    std::map<std::string, TorchResult> tr;
    double torch_rss = 0.0;
    const bool have_torch = bench_torch(layers, threads, min_seconds, data_dir, tr, torch_rss);
    for (const Layer& l : ls) std::remove((data_dir + "/" + l.fields[1] + ".bin").c_str());
    rmdir(data_dir.c_str());
    // loss / |grad| columns: relative difference engine vs torch of the objective and of |dL/dV| at V_init
    // on the same data (both sides compute the same iteration).
    std::printf("%-34s %10s %10s %7s %10s %10s\n", "layer", "engine ms", "torch ms", "ratio", "d loss", "d |grad|");
    double se = 0.0, st = 0.0;
    for (size_t i = 0; i < ls.size(); ++i) {
      const std::string& name = ls[i].fields[1];
      const EngineResult& e = engine[i];
      se += e.ms;
      if (have_torch && tr.count(name)) {
        const TorchResult& t = tr[name];
        st += t.ms;
        std::printf("%-34s %10.3f %10.3f %7.2f %10.1e %10.1e\n", name.c_str(), e.ms, t.ms, t.ms / e.ms,
                    std::fabs(e.loss - t.loss) / std::max(1e-30, std::fabs(t.loss)),
                    std::fabs(e.grad_norm - t.grad_norm) / std::max(1e-30, t.grad_norm));
      } else {
        std::printf("%-34s %10.3f %10s %7s\n", name.c_str(), e.ms, "-", "-");
      }
    }
    if (have_torch) {
      std::printf("%-34s %10.3f %10.3f %7.2f\n", "total", se, st, st / se);
      std::printf("engine / torch = %.2f (issue 5 target <= %.1f): target %s\n", se / st, kTargetEngineOverTorch,
                  se <= kTargetEngineOverTorch * st ? "met" : "NOT met");
    } else {
      std::printf("%-34s %10.3f\n", "total", se);
    }
    std::printf("peak RSS: engine %.1f MiB", engine_rss);
    if (have_torch) std::printf(", torch %.1f MiB", torch_rss);
    std::printf("\n");
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_adaround: %s\n", e.what());
    return 1;
  }
}
