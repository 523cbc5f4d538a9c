// bench/forward/bench_conv_layers.cpp: the convolutions of torchvision resnet18 adapted to 1x28x28
// (bench_forward's resnet18_28x28 model: 3x3 stride-1 stem, maps 28 -> 14 -> 7 -> 4 -> 2) one by
// one at batch 32, the engine's conv2d_nchw_f32 (bias and relu fused, as the forward runs them)
// against LibTorch's conv2d + relu_ (conv_layers_torch.py, Debian's python3-torch) in the same run:
// the best of REPS runs per layer at 1 thread and at THREADS threads, each side; the total weights
// every layer by how often the model runs it. Issue 15: where the 2-thread time of the forward goes.
//
// Usage: bench_conv_layers [THREADS] [REPS]   (defaults 2 and 30; LibTorch skipped if torch is missing)
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "../torch_side.h"
#include "core/parallel.h"
#include "exec/kernels.h"

using namespace mqcalib;

namespace {

constexpr int64_t kBatch = 32;

struct Layer {
  const char* name;
  int64_t C, H, O, K, stride, pad;
  int count;  // convs of this shape in the model
};

const std::vector<Layer> kLayers = {
    {"conv1", 1, 28, 64, 3, 1, 1, 1},
    {"layer1", 64, 14, 64, 3, 1, 1, 4},
    {"layer2.0.conv1", 64, 14, 128, 3, 2, 1, 1},
    {"layer2.ds", 64, 14, 128, 1, 2, 0, 1},
    {"layer2", 128, 7, 128, 3, 1, 1, 3},
    {"layer3.0.conv1", 128, 7, 256, 3, 2, 1, 1},
    {"layer3.ds", 128, 7, 256, 1, 2, 0, 1},
    {"layer3", 256, 4, 256, 3, 1, 1, 3},
    {"layer4.0.conv1", 256, 4, 512, 3, 2, 1, 1},
    {"layer4.ds", 256, 4, 512, 1, 2, 0, 1},
    {"layer4", 512, 2, 512, 3, 1, 1, 3},
};

// The best of `reps` runs of the engine's conv (bias + relu epilogue) at `threads` threads, in ms.
double engine_ms(const Layer& l, int threads, int reps) {
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  const Shape xs{kBatch, l.C, l.H, l.H}, ws{l.O, l.C, l.K, l.K};
  Conv2dParams p;
  p.stride_h = p.stride_w = l.stride;
  p.pad_h = p.pad_w = l.pad;
  const Shape ys = conv2d_output_shape(xs, ws, p);
  std::vector<float> x(static_cast<size_t>(kBatch * l.C * l.H * l.H)), w(static_cast<size_t>(l.O * l.C * l.K * l.K)),
      b(static_cast<size_t>(l.O)), y(static_cast<size_t>(ys[0] * ys[1] * ys[2] * ys[3]));
  for (std::vector<float>* v : {&x, &w, &b})
    for (float& e : *v) e = u(rng);
  const Activation relu = Activation::Relu;
  ConvEpilogue ep;
  ep.bias = b.data();
  ep.act = &relu;
  set_num_threads(threads);
  double best = 1e30;
  for (int r = 0; r < reps + 3; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    conv2d_nchw_f32(ViewF32{x.data(), xs}, ViewF32{w.data(), ws}, ep, p, MutViewF32{y.data(), ys});
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    if (r >= 3) best = std::min(best, ms);
  }
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  const int threads = argc > 1 ? std::atoi(argv[1]) : 2, reps = argc > 2 ? std::atoi(argv[2]) : 30;
  if (threads < 1 || reps < 1) {
    std::fprintf(stderr, "usage: bench_conv_layers [THREADS >= 1] [REPS >= 1]\n");
    return 2;
  }
  std::string cmd = "/usr/bin/python3 " MQCALIB_CONV_LAYERS_TORCH " " + std::to_string(threads) + " " +
                    std::to_string(reps) + " " + std::to_string(kBatch);
  for (const Layer& l : kLayers)
    cmd += " " + std::string(l.name) + ":" + std::to_string(l.C) + ":" + std::to_string(l.H) + ":" +
           std::to_string(l.O) + ":" + std::to_string(l.K) + ":" + std::to_string(l.stride) + ":" +
           std::to_string(l.pad);
  std::map<std::string, std::pair<double, double>> torch_ms;
  double rss = 0;
  const bool have_torch = bench::run_torch_side(cmd, rss, [&](const std::string& name, double ms1, std::istream& rest) {
    double msn = 0;
    rest >> msn;
    torch_ms[name] = {ms1, msn};
  });
  std::printf("bench_conv_layers: resnet18 1x28x28 convs, batch %lld, best of %d, bias + relu; march=%s\n",
              static_cast<long long>(kBatch), reps, MQCALIB_MARCH);
  std::printf("%-16s %5s  %9s %9s  %9s %9s  %s\n", "layer", "count", "engine 1t", "torch 1t", "engine Nt", "torch Nt",
              "engine/torch Nt");
  double tot[4] = {0, 0, 0, 0};
  for (const Layer& l : kLayers) {
    const double e1 = engine_ms(l, 1, reps), en = engine_ms(l, threads, reps);
    const auto t = have_torch ? torch_ms[l.name] : std::pair<double, double>{0, 0};
    std::printf("%-16s %5d  %9.3f %9.3f  %9.3f %9.3f  %.2f\n", l.name, l.count, e1, t.first, en, t.second,
                t.second > 0 ? en / t.second : 0.0);
    const double v[4] = {e1, t.first, en, t.second};
    for (int i = 0; i < 4; ++i) tot[i] += l.count * v[i];
  }
  std::printf("%-16s %5s  %9.2f %9.2f  %9.2f %9.2f  %.2f   (ms; N = %d threads)\n", "total x count", "", tot[0], tot[1],
              tot[2], tot[3], tot[3] > 0 ? tot[2] / tot[3] : 0.0, threads);
  return 0;
}
