// mqcalib/reconstruction/recon_loss.h: the losses a unit is reconstructed with, and their gradients.
//
// Output loss of a unit output y against its FP target t (BRECQ / QDrop lp_loss with reduction 'none':
// summed over the channel dim 1, averaged over the other dims), with optional per-element weights w:
//   L = (1 / M) sum_i w_i |y_i - t_i|^p,     M = numel / C  (C = dim 1; M = numel for rank < 2)
//   dL/dy_i = w_i p |y_i - t_i|^(p - 1) sign(y_i - t_i) / M
// w null means 1: the Lp loss (p = 2: the squared error of reconstruction/layer_mse.h, the scale
// AdaRound's lambda was tuned for; BRECQ's stage 2 uses p = 2.4). BRECQ's Fisher-diagonal loss is
// p = 2 with w = g^2 (reconstruction/fisher.h). |d|^p is d * d at p = 2, else exp(p log |d|) (vector
// exp / log of reconstruction/simd_f32.h in the fast kernel, std::pow in the _ref twin: relative
// difference below 1e-6). Sums: float lanes within fixed chunks, chunk sums in double merged in
// chunk order: the same bits at any thread count.
//
// Task loss of the Fisher weighting: KL(P_fp || P_q) of the row softmaxes of two [B, K] logit tensors,
// averaged over the B rows (F.kl_div(log_softmax(q), softmax(fp), reduction='batchmean')):
//   KL = (1/B) sum_b sum_k p_fp (log p_fp - log p_q),    dKL/dq = (p_q - p_fp) / B
#pragma once

#include "core/tensor.h"

namespace mqcalib {

// grad (y's size, or null) receives dL/dy. Throws naming the shapes when y and t differ or p <= 0.
double lp_loss_f32(ViewF32 y, ViewF32 t, float p, const float* w, float* grad);
double lp_loss_f32_ref(ViewF32 y, ViewF32 t, float p, const float* w, float* grad);

// Returns KL; grad_q (q's size, or null) receives dKL/dq. Rows are the last dim.
double kl_softmax_f32(ViewF32 fp_logits, ViewF32 q_logits, float* grad_q);

}  // namespace mqcalib
