// mqcalib/src/exec/activation.cpp: pointwise nonlinearities (formulas in kernels.h, as PyTorch's).
#include <string>

#include "core/parallel.h"
#include "exec/activation_scalar.h"
#include "exec/kernels.h"

namespace mqcalib {

namespace {

constexpr int64_t kPointwiseChunk = 1 << 15;  // elements per parallel chunk

template <Activation A>
void run_chunk(const float* x, float* y, int64_t b, int64_t e, const ActivationParams& p) {
  for (int64_t i = b; i < e; ++i) y[i] = detail::activation_scalar_f32(A, x[i], p);
}

void check_act(const ViewF32& x, const MutViewF32& y) {
  if (x.shape != y.shape)
    throw Error("activation: output " + shape_to_string(y.shape) + " differs from input " + shape_to_string(x.shape));
}

}  // namespace

// Parallel over fixed chunks, one specialised loop per activation (the switch hoisted out of the
// loop so the clamps vectorize). Same scalar formula as the reference: bit-identical results.
void activation_f32(Activation a, ViewF32 x, MutViewF32 y, const ActivationParams& p) {
  check_act(x, y);
  parallel_for_chunks(x.size(), kPointwiseChunk,
                      [&](int64_t b, int64_t e, int64_t) { activation_span_f32(a, x.data + b, y.data + b, e - b, p); });
}

void activation_span_f32(Activation a, const float* x, float* y, int64_t n, const ActivationParams& p) {
  switch (a) {
#define MQCALIB_ACT(k)                       \
  case Activation::k:                        \
    run_chunk<Activation::k>(x, y, 0, n, p); \
    break;
    MQCALIB_ACT(Relu)
    MQCALIB_ACT(Relu6)
    MQCALIB_ACT(Hardtanh)
    MQCALIB_ACT(Silu)
    MQCALIB_ACT(Sigmoid)
    MQCALIB_ACT(Tanh)
    MQCALIB_ACT(Hardswish)
    MQCALIB_ACT(Hardsigmoid)
    MQCALIB_ACT(GeluErf)
    MQCALIB_ACT(GeluTanh)
#undef MQCALIB_ACT
  }
}

void activation_f32_ref(Activation a, ViewF32 x, MutViewF32 y, const ActivationParams& p) {
  check_act(x, y);
  for (int64_t i = 0; i < x.size(); ++i) y.data[i] = detail::activation_scalar_f32(a, x.data[i], p);
}

}  // namespace mqcalib
