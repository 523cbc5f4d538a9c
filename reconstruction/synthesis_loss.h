// mqcalib/reconstruction/synthesis_loss.h: the losses of synthetic calibration images (ZeroQ, Cai et al.
// 2020; REFERENCE.md section 9; docs/data_free.md) with their gradients, for the data-free synthesis.
//
// BN statistics (ZeroQ's loss at one BN layer, on the BN's input x [B, C, S...], S >= 2 elements):
//   mean_bc = (1/S) sum_j x_bcj        std_bc = sqrt(sum_j (x_bcj - mean_bc)^2 / (S - 1) + eps)
//   L = sum_bc (mean_bc - m_c)^2 / B + sum_bc (std_bc - s_c)^2 / B
//   dL/dx_bcj = 2 (mean_bc - m_c) / (B S) + 2 (std_bc - s_c) / B * (x_bcj - mean_bc) / ((S - 1) std_bc)
// (torch.var's unbiased variance and eps = 1e-6 as ZeroQ's distill_data.py; m_c = the running mean,
// s_c = sqrt(running_var_c + eps)). The same loss with m = 0, s = 1 is ZeroQ's prior on the images.
// Total variation (an optional smoothness prior, the L2 form of DeepInversion):
//   L = sum_b sum_c [sum (x[h+1, w] - x[h, w])^2 + sum (x[h, w+1] - x[h, w])^2] / B
// Cross-entropy to a target class per image (an optional prior that spreads the classes):
//   L = -(1/B) sum_b log softmax(z_b)[t_b],  dL/dz_b = (softmax(z_b) - onehot(t_b)) / B
// Every function returns L (double) and adds weight * dL/dx into `grad` (same shape as x; null: loss
// only). Work is split over fixed chunks of (b, c) rows, sums merged in chunk order: deterministic at
// any thread count. Each has a plain `_ref` twin used by the tests. bn_stats_loss_f32 sums each row's
// mean and squared deviations in 8 double partial sums (vectorizable; the _ref sums serially): the two
// differ by double rounding only (tests: kBnTwinRelTol).
#pragma once

#include <cstdint>

#include "core/tensor.h"

namespace mqcalib {

constexpr double kZeroQEps = 1e-6;  // ZeroQ distill_data.py: inside both square roots

double bn_stats_loss_f32(ViewF32 x, const float* mean, const float* std, double eps, float weight, float* grad);
double bn_stats_loss_f32_ref(ViewF32 x, const float* mean, const float* std, double eps, float weight, float* grad);

double total_variation_f32(ViewF32 x, float weight, float* grad);
double total_variation_f32_ref(ViewF32 x, float weight, float* grad);

double cross_entropy_f32(ViewF32 logits, const int64_t* targets, float weight, float* grad);
double cross_entropy_f32_ref(ViewF32 logits, const int64_t* targets, float weight, float* grad);

}  // namespace mqcalib
