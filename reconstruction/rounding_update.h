// mqcalib/reconstruction/rounding_update.h: the pass over AdaRound's rounding variables V that follows
// a loss-and-gradient evaluation, shared by layer-wise AdaRound (reconstruction/adaround_step.h) and
// the unit methods (reconstruction/unit_train.h). Given h(V), h'(V) (SoftWeight::soft) and dL/dW~:
//   dL/dV_i = dL/dW~_i dW~_i/dV_i + [beta] lambda dR/dh_i h'(V_i)      (SoftWeight::grad8, round_regularizer_term8)
//   R(V)    = sum_i (1 - |2 h_i - 1|^beta)                              (reconstruction/round_regularizer.h)
// and, when `adam` is given, Adam's step on V with that gradient, fused into the same parallel pass
// (8 entries at a time per channel run). Fixed chunks of kRoundingChunk entries; the regularizer's
// chunk sums are merged in chunk order: the same bits at any thread count.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "reconstruction/adam.h"
#include "reconstruction/soft_weight.h"

namespace mqcalib {

constexpr int64_t kRoundingChunk = int64_t{1} << 12;  // entries of V per parallel chunk

// gv (size sw.size()) receives dL/dV; v is updated by adam when adam is non-null. Returns R(V) when beta
// is given (0 otherwise). reg_part is scratch for the chunk sums.
double rounding_update_f32(const SoftWeight& sw, const float* h, const float* dh, const float* g_wsoft,
                           std::optional<float> beta, float lambda, float* gv, AdamF32* adam, float* v,
                           std::vector<double>& reg_part);

}  // namespace mqcalib
