// mqcalib/reconstruction/synthesis.h: synthetic calibration images from BN statistics (ZeroQ, Cai et al.
// 2020; docs/data_free.md "ZeroQ"), for --data-free --synthesize N, on the differentiable unit runner.
//
// Batches of `batch` images, initialised from N(0, 1) (a stream per batch from the seed), are optimised
// with Adam (lr 0.5; torch's ReduceLROnPlateau: x0.1 after `plateau_patience` iterations without a 1e-4
// relative improvement of the total loss, down to min_lr) for `iterations` iterations on
//   sum over BN layers of ZeroQ's BN-statistics loss at the BN's input (reconstruction/synthesis_loss.h)
//   + the same loss on the images against mean 0 / std 1 per image and channel (ZeroQ's input prior)
//   + smoothness * total variation (optional)  + target_weight * cross-entropy to class i mod K (optional).
// The gradient with respect to the images comes from one UnitRunner over the whole UNFOLDED graph (its
// BN nodes run with their running statistics; seeds at every BN input and at the logits). BN layers
// whose input has fewer than 2 elements per channel and image (a BatchNorm1d after a linear) are not in
// the loss (no spatial variance). Deterministic for a seed at any thread count (the runner, the losses
// and Adam are; the initial images come from a serial generator per batch).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "core/tensor.h"
#include "graph/ir.h"

namespace mqcalib {

// Defaults: ZeroQ's distill_data.py (docs/data_free.md).
struct SynthesisOptions {
  int64_t samples = 0;  // --synthesize N (0: off)
  int iterations = 500;
  int64_t batch = 32;
  float lr = 0.5f;
  int plateau_patience = 100;
  float min_lr = 1e-4f;
  float smoothness = 0.0f;      // total-variation weight (0: off)
  bool target_classes = false;  // image i of the whole set pushed to class i mod K
  float target_weight = 1.0f;
  uint64_t seed = 0;
};

// Throws Error naming the option (--synthesize, --synth-iters, ...) when the options cannot run.
void validate(const SynthesisOptions& options);

// The BN layers of the loss: the input value of every batch_norm on a [B, C, S...] input with S >= 2,
// with its running mean and sqrt(running_var + 1e-6) (ZeroQ's eps).
struct BnStatsTarget {
  ValueId input = kNoValue;
  std::string bn;                // the BN node's name
  std::vector<float> mean, std;  // per channel
};
std::vector<BnStatsTarget> bn_stats_targets(const Graph& unfolded);

// The losses of one batch at its images, before a step.
struct SynthesisLoss {
  double bn = 0;     // sum over BN layers
  double prior = 0;  // the images' own mean 0 / std 1 term
  double total = 0;  // bn + prior + smoothness * tv + target_weight * ce
};

// One batch being optimised: the runner over the whole graph, Adam and the plateau schedule.
class SynthesisBatch {
 public:
  // `images` [n, C, H, W] (moved in), the first of them image `first_index` of the whole set. Keeps a
  // reference to `unfolded`. Throws Error when the graph has no BN layer of the loss.
  SynthesisBatch(const Graph& unfolded, TensorF32 images, int64_t first_index, const SynthesisOptions& options);
  ~SynthesisBatch();
  // The loss at the images and dL/d images (forward, losses, backward to the input), without a step.
  SynthesisLoss loss_and_grad(std::vector<float>& grad);
  // One iteration: loss_and_grad, an Adam step at the schedule's lr, the schedule's step. Returns the
  // losses at the images before the step.
  SynthesisLoss step();
  const TensorF32& images() const;
  float lr() const;  // the schedule's current lr

 private:
  struct State;
  std::unique_ptr<State> s_;
};

// (batch index, batch count, iteration (1-based), losses of the batch before that iteration's step).
using SynthesisProgress = std::function<void(int64_t, int64_t, int, const SynthesisLoss&)>;

struct SynthesisResult {
  TensorF32 images;                  // [samples, C, H, W], in the network's input domain (preprocessed)
  std::vector<double> initial_loss;  // per batch: BN-statistics loss at the first iteration
  std::vector<double> final_loss;    // per batch: at the last iteration
  int64_t bn_layers = 0;
};

// `sample_shape` [C, H, W]. Throws Error naming the option or the graph (no BN layer on a spatial input).
SynthesisResult synthesize_inputs(const Graph& unfolded, const Shape& sample_shape, const SynthesisOptions& options,
                                  const SynthesisProgress& progress = {});

// The initial images of batch b: N(0, 1) from a std::mt19937_64 seeded with (seed, b), Box-Muller.
TensorF32 synthesis_initial_images(const Shape& batch_shape, uint64_t seed, int64_t b);

}  // namespace mqcalib
