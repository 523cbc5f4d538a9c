// mqcalib/reconstruction/adam.h: the Adam optimizer (Kingma & Ba 2015) in torch.optim.Adam's form, so
// a run matches a PyTorch AdaRound script step for step (up to float rounding):
//   t += 1
//   m = beta1 m + (1 - beta1) g                 v = beta2 v + (1 - beta2) g^2
//   p -= (lr / (1 - beta1^t)) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
// Defaults: beta1 0.9, beta2 0.999, eps 1e-8; lr 1e-3 for AdaRound's V (../shared/REFERENCE.md
// section 4). Elementwise over fixed parallel chunks: bit-identical at any thread count.
#pragma once

#include <cmath>
#include <cstdint>
#include <vector>

namespace mqcalib {

struct AdamParams {
  float lr = 1e-3f;  // ../shared/REFERENCE.md section 4 (AdaRound V)
  float beta1 = 0.9f;
  float beta2 = 0.999f;
  float eps = 1e-8f;
};

class AdamF32 {
 public:
  AdamF32(int64_t n, const AdamParams& p);
  // One step on n parameters with gradient g.
  void step(float* param, const float* g);

  // The same step taken one entry at a time, for loops that fuse it with the gradient's computation:
  // begin_step() once (t += 1, bias corrections), then update() for every entry i in [0, n).
  struct Step {
    float step_size, bc2_sqrt;
  };
  Step begin_step();
  void update(int64_t i, float* param, float g, const Step& s) {
    float& m = m_[static_cast<size_t>(i)];
    float& v = v_[static_cast<size_t>(i)];
    m = p_.beta1 * m + (1.0f - p_.beta1) * g;
    v = p_.beta2 * v + (1.0f - p_.beta2) * g * g;
    param[i] -= s.step_size * m / (std::sqrt(v) / s.bc2_sqrt + p_.eps);
  }
  int64_t steps() const { return t_; }
  // The learning rate of the following steps (a schedule, e.g. cosine annealing, sets it per step).
  void set_lr(float lr) { p_.lr = lr; }

 private:
  AdamParams p_;
  int64_t t_ = 0;
  std::vector<float> m_, v_;
};

}  // namespace mqcalib
