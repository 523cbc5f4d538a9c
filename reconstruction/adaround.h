// mqcalib/reconstruction/adaround.h: layer-wise AdaRound (Nagel et al. 2020), the entry point the
// pipeline calls once per conv / linear layer. ../shared/REFERENCE.md section 4 gives the method
// and every default below.
//
// Objective, minimised over V (one entry per weight) with Adam:
//   L(V) = rec(V) + [t >= warmup * iters] * lambda * sum(1 - |2 h(V) - 1|^beta(t))
//   rec  = sum over the channel dim, mean over the other dims, of (f(conv_or_linear(x, W~(V)) + b) - target)^2
//          (BRECQ's lp_loss(p = 2) / AIMET's recon loss: squared error summed over channels,
//          averaged over samples and positions), f the fused activation (identity if none),
//          x a batch of cached inputs of the *quantized* model and target the FP output after f.
//   W~(V) and the hard rounding: reconstruction/soft_weight.h. beta(t): reconstruction/round_regularizer.h.
// Batches: `batch` sample indices drawn with replacement from [0, N) by std::mt19937_64(seed) as
// rng() % N (deterministic on every platform). Same seed, same result at any thread count.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/qscheme.h"
#include "core/tensor.h"
#include "reconstruction/layer_spec.h"
#include "reconstruction/round_regularizer.h"

namespace mqcalib {

// Defaults: ../shared/REFERENCE.md section 4.
struct AdaRoundOptions {
  int iters = 20000;  // BRECQ/QDrop (AIMET 10k at 8 bit, 15k below)
  int batch = 32;
  float lambda = 0.01f;  // 0.1 for MobileNetV2 in BRECQ/QDrop
  float lr = 1e-3f;      // Adam on V
  float warmup = 0.2f;   // fraction of iters without the regularizer
  float beta_start = 20.0f;
  float beta_end = 2.0f;
  BetaSchedule beta_schedule = BetaSchedule::Linear;  // BRECQ/MQBench; Cosine as AIMET/PPQ
  uint64_t seed = 0;
  int progress_every = 1000;  // ProgressFn period in iterations (and once at the end)
};

struct AdaRoundResult {
  std::vector<int32_t> codes;  // hard-rounded integer weight codes, weight's shape
  TensorF32 weight;            // dequantized: s * (codes - zp)
  float loss_nearest = 0.0f;   // rec over all N inputs with round-to-nearest weights (fake_quantize_f32)
  float loss_adaround = 0.0f;  // rec over all N inputs with the hard-rounded AdaRound weights
  float soft_fraction = 0.0f;  // fraction of h(V) strictly inside (0, 1) at the end
  int iterations = 0;
};

// (iteration, batch loss incl. regularizer, soft fraction).
using AdaRoundProgressFn = std::function<void(int, float, float)>;

// inputs [N, C, H, W] (conv) or [N, I] (linear); targets the FP layer output after the fused
// activation, [N, O, OH, OW] or [N, O]. Throws mqcalib::Error naming the layer on bad shapes/params.
AdaRoundResult adaround_layer(const LayerSpec& layer, ViewF32 inputs, ViewF32 targets, const QParams& weight_qparams,
                              const AdaRoundOptions& options, const AdaRoundProgressFn& progress = {});

}  // namespace mqcalib
