// mqcalib/src/core/qscheme.h: how a tensor is quantized (QScheme), the parameters that result
// (QParams), and the one function that chooses the parameters from an observed range.
//
// Arithmetic (docs/quantization.md derives it; ../shared/REFERENCE.md section 1):
//   real = scale * (q - zero_point)
//   q    = clamp(round(real / scale) + zero_point, qmin, qmax)      <- true division, not x * (1/s)
// with round() the scheme's tie rule (half-to-even or half-away-from-zero).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"

namespace mqcalib {

enum class Rounding { HalfToEven, HalfAwayFromZero };
enum class ScaleKind { Float32, PowerOfTwo };
enum class Granularity { PerTensor, PerChannel };
enum class Symmetry { Symmetric, Asymmetric };
enum class Signedness { Signed, Unsigned };
// Symmetric scale convention (REFERENCE.md section 1): amax / qmax (TensorRT, MQBench, default) or
// 2 * amax / (qmax - qmin) (PPQ). Both are legal; the scheme says which.
enum class SymmetricScale { AmaxOverQmax, TwoAmaxOverRange };

std::string_view to_string(Rounding);
std::string_view to_string(ScaleKind);
std::string_view to_string(Granularity);
std::string_view to_string(Symmetry);
std::string_view to_string(Signedness);
std::string_view to_string(SymmetricScale);

// A quantization scheme. Invariants (checked by validate()):
//  - 2 <= bits <= 16;
//  - narrow_range only with Signed (drops -2^(bits-1) so the grid is symmetric about 0);
//  - reduce_range drops one bit of the grid (FBGEMM's 7-bit activations, OpenVINO's [-64,63]),
//    storage width stays `bits`;
//  - axis >= 0 when granularity is PerChannel (the channel dimension of the tensor).
struct QScheme {
  int bits = 8;
  Signedness signedness = Signedness::Signed;
  Symmetry symmetry = Symmetry::Symmetric;
  bool narrow_range = false;
  bool reduce_range = false;
  Granularity granularity = Granularity::PerTensor;
  int axis = 0;  // used only when granularity == PerChannel
  ScaleKind scale_kind = ScaleKind::Float32;
  Rounding rounding = Rounding::HalfToEven;
  SymmetricScale symmetric_scale = SymmetricScale::AmaxOverQmax;

  int32_t qmin() const;
  int32_t qmax() const;
  void validate() const;         // throws mqcalib::Error describing the violated invariant
  std::string describe() const;  // e.g. "int8 sym narrow per-channel(axis 0) fp32-scale half-even"
};

// An observed range: one (min, max) per tensor, or one per channel. min <= max for each entry.
struct Range {
  std::vector<float> min;
  std::vector<float> max;
  size_t size() const { return min.size(); }
};

// Quantization parameters of one tensor. Invariants (checked by validate()):
//  - scale.size() == zero_point.size() >= 1; size 1 means per-tensor (axis == -1);
//  - every scale is finite and > 0 (a power of two when the scheme asked for one);
//  - every zero_point is an integer in [qmin, qmax], so real 0 is exactly representable;
//  - qmin < qmax.
struct QParams {
  std::vector<float> scale;
  std::vector<int32_t> zero_point;
  int32_t qmin = -128;
  int32_t qmax = 127;
  int axis = -1;  // channel axis for per-channel params, -1 for per-tensor
  Rounding rounding = Rounding::HalfToEven;

  bool per_channel() const { return axis >= 0; }
  size_t channels() const { return scale.size(); }
  void validate(std::string_view tensor_name) const;
};

// The one function that chooses parameters (gemmlowp's ChooseQuantizationParams, generalised):
//  1. reject NaN/Inf in `range` with an Error naming `tensor_name`;
//  2. widen each [min, max] to include 0;
//  3. symmetric: zp = 0 (unsigned-symmetric: zp = qmin = 0), scale from amax per scheme.symmetric_scale;
//     asymmetric: scale = (max - min) / (qmax - qmin), zp = round(qmin - min / scale) clamped ("nudge");
//  4. power-of-two schemes round the scale *up* to 2^ceil(log2 s), so nothing that min-max keeps clips;
//  5. degenerate ranges (all zero) get scale 1 and the scheme's zero point for 0; tiny ranges are
//     clamped to a minimum scale (documented in qscheme.cpp) so that no division underflows.
// The range must have one entry (per-tensor scheme) or one per channel (per-channel scheme).
QParams choose_qparams(const QScheme& scheme, const Range& range, std::string_view tensor_name);

}  // namespace mqcalib
