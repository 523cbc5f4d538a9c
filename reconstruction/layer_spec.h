// mqcalib/reconstruction/layer_spec.h: the unit a layer-wise reconstruction optimises, a conv2d or
// linear layer with an optional fused activation (non-owning view of its FP weight and bias).
#pragma once

#include <optional>
#include <string>

#include "core/tensor.h"
#include "exec/kernels.h"

namespace mqcalib {

enum class LayerKind { Conv2d, Linear };

// A conv2d or linear layer with an optional fused activation. Non-owning: weight and bias must
// outlive the call.
struct LayerSpec {
  LayerKind kind = LayerKind::Conv2d;
  Conv2dParams conv;                     // Conv2d only
  ViewF32 weight;                        // [O, C/groups, kh, kw] or [O, I]
  const float* bias = nullptr;           // [O] or null
  std::optional<Activation> activation;  // fused activation applied to the layer output, if any
  ActivationParams activation_params;
  std::string name = "layer";  // names the layer in errors
};

}  // namespace mqcalib
