// mqcalib/src/backends/backend.h: backend profiles (the deployment rules of each runtime) as data.
//
// One table (backend.cpp, kProfiles) gives, for each runtime, the weight and activation QScheme and
// the graph placement rules, exactly as ../shared/REFERENCE.md section 2 "Defaults mqcalib uses"
// lists them. No code anywhere branches on a backend name (docs/STYLE.md): callers read these fields.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/qscheme.h"

namespace mqcalib {

// Which scheme the `reduce_range` override acts on: activations (FBGEMM's 7-bit [0,127]) or weights
// (MQBench's OpenVINO [-64,63] for AVX2 VNNI-less overflow). REFERENCE.md section 2.
enum class ReduceRangeTarget { Activations, Weights };

std::string_view to_string(ReduceRangeTarget);

// How the runtime's integer kernels requantize an int32 accumulator (or rescale an int8 tensor) to
// the output grid (docs/deployment.md; REFERENCE.md sections 1 and 9):
//  - FloatMultiplier: q = clamp(zp + round(float(acc) * M)), M = (s_in * s_w) / s_out in float32,
//    round with the activation scheme's tie rule (ONNX Runtime's MLAS kernels, TensorRT, FBGEMM,
//    OpenVINO, ncnn: half-even or half-away as the scheme says);
//  - FixedPointQ31: M = M0 * 2^-shift with M0 in Q31, SRDHM then a rounding right shift (gemmlowp /
//    TFLite, ARM Compute Library's output stage, the Hexagon DSP, TVM's QNN requantize).
enum class IntegerRequant { FloatMultiplier, FixedPointQ31 };

std::string_view to_string(IntegerRequant);

struct BackendProfile {
  std::string name;                  // "tensorrt", "snpe", ...
  std::vector<std::string> aliases;  // other names find_backend accepts ("onnxruntime" for ort)
  std::string description;           // one line
  QScheme weight;                    // per-channel weights use axis 0 (output channels of Conv/Linear)
  QScheme activation;                // always per-tensor (no backend runs per-channel activations)
  // Non-negative tensors (after ReLU) use an unsigned symmetric grid [0, 2^bits - 1], zp 0 (OpenVINO).
  bool unsigned_after_relu = false;
  // Concat inputs share one scale (the runtime does not requantize inside concat).
  bool concat_inputs_share_scale = false;
  // An add read only by a ReLU-family activation is fused with it: one quantizer, after the activation.
  // (A conv / linear and the activation after it are fused on every backend: conv outputs carry no
  // quantizer of their own unless an add or cat reads them; quant_plan.h.)
  bool fuse_add_relu = false;
  // Only conv/linear inputs and weights are quantized (academic papers' placement).
  bool quantize_only_conv_linear = false;
  // Bit widths the runtime executes natively; other widths are simulation only.
  std::vector<int> native_bits = {8};
  bool per_channel_weights_allowed = true;
  ReduceRangeTarget reduce_range_target = ReduceRangeTarget::Activations;
  // The integer executor's requantization for this runtime (mqcalib verify, the deploy suite).
  IntegerRequant integer_requant = IntegerRequant::FloatMultiplier;
};

// All profiles, in table order.
const std::vector<BackendProfile>& backend_profiles();
// The profile called `name` (or one of its aliases); throws mqcalib::Error listing the known names
// when there is none.
const BackendProfile& find_backend(std::string_view name);
std::vector<std::string> backend_names();

// Activation scheme for a tensor on this backend: the profile's activation scheme, or, when the
// backend quantizes non-negative tensors unsigned (unsigned_after_relu) and `non_negative` is true,
// the unsigned symmetric grid [0, 2^bits - 1] with zp 0 (REFERENCE.md section 2, OpenVINO row).
QScheme activation_scheme_for(const BackendProfile& profile, bool non_negative);

// Per-option overrides of a profile (CLI --w-bits, --a-bits, --w-granularity, ...).
struct BackendOverrides {
  std::optional<int> w_bits, a_bits;
  std::optional<Granularity> w_granularity, a_granularity;
  std::optional<bool> reduce_range;
};

struct ResolvedBackend {
  BackendProfile profile;          // overrides applied
  std::vector<std::string> notes;  // what the overrides mean on this backend (simulation only, ...)
};

// Applies overrides. Illegal ones throw mqcalib::Error naming the backend and the option:
// bits outside 2..16, per-channel activations (no backend runs them), per-channel weights on a
// per-tensor-only backend, a resulting scheme that fails QScheme::validate(). Bit widths the runtime
// does not execute natively are legal but get the note "simulation only: <backend> runs int8 only".
ResolvedBackend resolve_backend(const BackendProfile& profile, const BackendOverrides& overrides);

}  // namespace mqcalib
