// mqcalib/src/backends/backend.cpp: the backend profile table and override resolution.
//
// Source of every value: ../shared/REFERENCE.md section 2, table "Defaults mqcalib uses where the
// peers disagree or are silent" (MQBench prepare_by_platform.py / scheme.py, PPQ quantizers).
#include "backends/backend.h"

#include <algorithm>

#include "core/error.h"

namespace mqcalib {

std::string_view to_string(IntegerRequant r) {
  switch (r) {
    case IntegerRequant::FloatMultiplier: return "float-multiplier";
    case IntegerRequant::FixedPointQ31: return "fixed-point-q31";
  }
  return "?";
}

std::string_view to_string(ReduceRangeTarget t) {
  switch (t) {
    case ReduceRangeTarget::Activations:
      return "activations";
    case ReduceRangeTarget::Weights:
      return "weights";
  }
  return "?";
}

namespace {

constexpr Signedness kS = Signedness::Signed;
constexpr Signedness kU = Signedness::Unsigned;
constexpr Symmetry kSym = Symmetry::Symmetric;
constexpr Symmetry kAsym = Symmetry::Asymmetric;
constexpr Granularity kPT = Granularity::PerTensor;
constexpr Granularity kPC = Granularity::PerChannel;
constexpr ScaleKind kF32 = ScaleKind::Float32;
constexpr ScaleKind kPow2 = ScaleKind::PowerOfTwo;
constexpr Rounding kEven = Rounding::HalfToEven;
constexpr Rounding kAway = Rounding::HalfAwayFromZero;
constexpr bool kNarrow = true, kFull = false;  // narrow_range
constexpr bool kRR = true, kNoRR = false;      // reduce_range

// 8-bit scheme; per-channel schemes use axis 0 (output channels). Symmetric scale = amax / qmax.
QScheme q8(Signedness sg, Symmetry sy, bool narrow, bool rr, Granularity g, ScaleKind k, Rounding r) {
  QScheme s;
  s.bits = 8;
  s.signedness = sg;
  s.symmetry = sy;
  s.narrow_range = narrow;
  s.reduce_range = rr;
  s.granularity = g;
  s.axis = 0;
  s.scale_kind = k;
  s.rounding = r;
  s.symmetric_scale = SymmetricScale::AmaxOverQmax;
  return s;
}

constexpr ReduceRangeTarget kRRW = ReduceRangeTarget::Weights;

// A profile row with named fields (no positional columns): profile("name", "description", w, a)
// then only the fields that differ from BackendProfile's defaults.
struct Row {
  BackendProfile p;
  Row& alias(const char* a) {
    p.aliases.push_back(a);
    return *this;
  }
  Row& concat_share() {
    p.concat_inputs_share_scale = true;
    return *this;
  }
  Row& fuse_add_relu() {
    p.fuse_add_relu = true;
    return *this;
  }
  Row& unsigned_after_relu() {
    p.unsigned_after_relu = true;
    return *this;
  }
  Row& only_conv_linear() {
    p.quantize_only_conv_linear = true;
    return *this;
  }
  Row& per_tensor_weights_only() {
    p.per_channel_weights_allowed = false;
    return *this;
  }
  Row& reduce_range_on_weights() {
    p.reduce_range_target = kRRW;
    return *this;
  }
  // The runtime's output stage is gemmlowp's Q31 fixed point (ACL, Hexagon SNPE/QNN, TVM's QNN
  // requantize, the Vitis DPU's shifts, Tengine's uint8 kernels); float multiplier elsewhere.
  Row& fixed_point_requant() {
    p.integer_requant = IntegerRequant::FixedPointQ31;
    return *this;
  }
  Row& any_bits() {
    p.native_bits = {2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    return *this;
  }
  operator BackendProfile() const { return p; }
};

Row profile(const char* name, const char* description, const QScheme& w, const QScheme& a) {
  Row r;
  r.p.name = name;
  r.p.description = description;
  r.p.weight = w;
  r.p.activation = a;
  return r;
}

// A function-local static (not a namespace-scope global): safe to use from other static initializers.
const std::vector<BackendProfile>& table() {
  static const std::vector<BackendProfile> kProfiles = {
      profile("tensorrt",
              "NVIDIA TensorRT / explicit Q/DQ ONNX: int8 sym per-channel weights [-127,127], int8 sym activations "
              "amax/127",
              q8(kS, kSym, kNarrow, kNoRR, kPC, kF32, kEven), q8(kS, kSym, kFull, kNoRR, kPT, kF32, kEven))
          .concat_share()
          .fuse_add_relu(),
      profile("snpe", "Qualcomm SNPE (Hexagon DSP): uint8 asym per-tensor weights and activations",
              q8(kU, kAsym, kFull, kNoRR, kPT, kF32, kEven), q8(kU, kAsym, kFull, kNoRR, kPT, kF32, kEven))
          .concat_share()
          .fuse_add_relu()
          .per_tensor_weights_only()
          .fixed_point_requant(),
      profile("qnn", "Qualcomm QNN (Hexagon HTP): uint8 asym per-tensor weights and activations",
              q8(kU, kAsym, kFull, kNoRR, kPT, kF32, kEven), q8(kU, kAsym, kFull, kNoRR, kPT, kF32, kEven))
          .concat_share()
          .fuse_add_relu()
          .fixed_point_requant(),
      profile("fbgemm",
              "PyTorch x86 FBGEMM: int8 sym per-channel weights, uint8 asym 7-bit activations [0,127] (reduce_range)",
              q8(kS, kSym, kFull, kNoRR, kPC, kF32, kEven), q8(kU, kAsym, kFull, kRR, kPT, kF32, kEven))
          .fuse_add_relu(),
      profile("tvm", "TVM (ARM CPU): int8 sym per-tensor [-127,127], power-of-two scales, half-away rounding",
              q8(kS, kSym, kNarrow, kNoRR, kPT, kPow2, kAway), q8(kS, kSym, kNarrow, kNoRR, kPT, kPow2, kAway))
          .concat_share()
          .per_tensor_weights_only()
          .fixed_point_requant(),
      profile("acl", "ARM Compute Library / Ascend: int8 sym per-channel weights, uint8 asym activations, half-away",
              q8(kS, kSym, kFull, kNoRR, kPC, kF32, kAway), q8(kU, kAsym, kFull, kNoRR, kPT, kF32, kAway))
          .concat_share()
          .fixed_point_requant(),
      profile("ppl", "OpenPPL CUDA: int8 sym per-channel weights, int8 sym activations [-128,127]",
              q8(kS, kSym, kFull, kNoRR, kPC, kF32, kEven), q8(kS, kSym, kFull, kNoRR, kPT, kF32, kEven))
          .alias("openppl")
          .concat_share()
          .fuse_add_relu(),
      profile("vitis", "Xilinx Vitis AI DPU: int8 sym per-tensor [-128,127], power-of-two scales",
              q8(kS, kSym, kFull, kNoRR, kPT, kPow2, kEven), q8(kS, kSym, kFull, kNoRR, kPT, kPow2, kEven))
          .concat_share()
          .per_tensor_weights_only()
          .fixed_point_requant(),
      profile("ort", "ONNX Runtime QDQ: int8 sym per-channel weights [-127,127], uint8 asym activations",
              q8(kS, kSym, kNarrow, kNoRR, kPC, kF32, kEven), q8(kU, kAsym, kFull, kNoRR, kPT, kF32, kEven))
          .alias("onnxruntime"),
      profile("openvino",
              "Intel OpenVINO: int8 sym per-channel weights [-127,127], int8 sym activations, uint8 [0,255] after ReLU",
              q8(kS, kSym, kNarrow, kNoRR, kPC, kF32, kEven), q8(kS, kSym, kFull, kNoRR, kPT, kF32, kEven))
          .unsigned_after_relu()
          .concat_share()
          .reduce_range_on_weights(),
      profile("ncnn", "Tencent ncnn: int8 sym per-channel weights and activations [-127,127], half-away",
              q8(kS, kSym, kNarrow, kNoRR, kPC, kF32, kAway), q8(kS, kSym, kNarrow, kNoRR, kPT, kF32, kAway))
          .concat_share(),
      profile("mnn", "Alibaba MNN: int8 sym per-channel weights and activations [-127,127], half-away",
              q8(kS, kSym, kNarrow, kNoRR, kPC, kF32, kAway), q8(kS, kSym, kNarrow, kNoRR, kPT, kF32, kAway))
          .concat_share(),
      profile("tengine", "OPEN AI LAB Tengine (uint8 tool): uint8 asym per-tensor weights and activations",
              q8(kU, kAsym, kFull, kNoRR, kPT, kF32, kEven), q8(kU, kAsym, kFull, kNoRR, kPT, kF32, kEven))
          .concat_share()
          .per_tensor_weights_only()
          .fixed_point_requant(),
      // academic: free profile (BRECQ/QDrop setting: asymmetric [0, 2^b-1] per-channel weights,
      // asymmetric per-tensor activations); any bit width is legal, only conv/linear quantized.
      profile("academic",
              "academic free profile (BRECQ/QDrop): uint asym per-channel weights, uint asym activations, any bits",
              q8(kU, kAsym, kFull, kNoRR, kPC, kF32, kEven), q8(kU, kAsym, kFull, kNoRR, kPT, kF32, kEven))
          .only_conv_linear()
          .any_bits(),
  };
  return kProfiles;
}

std::string join_names() {
  std::string s;
  for (const auto& p : table()) s += (s.empty() ? "" : ", ") + p.name;
  return s;
}

std::string native_bits_text(const BackendProfile& p) {
  std::string s;
  for (int b : p.native_bits) s += (s.empty() ? "int" : "/int") + std::to_string(b);
  return s;
}

bool is_native(const BackendProfile& p, int bits) {
  return std::find(p.native_bits.begin(), p.native_bits.end(), bits) != p.native_bits.end();
}

}  // namespace

const std::vector<BackendProfile>& backend_profiles() { return table(); }

std::vector<std::string> backend_names() {
  std::vector<std::string> n;
  for (const auto& p : table()) n.push_back(p.name);
  return n;
}

const BackendProfile& find_backend(std::string_view name) {
  for (const auto& p : table()) {
    if (p.name == name) return p;
    for (const std::string& a : p.aliases)
      if (a == name) return p;
  }
  throw Error("unknown backend '" + std::string(name) + "' (known: " + join_names() + ")");
}

// Unsigned symmetric after ReLU: [0, 2^bits - 1], zp 0, scale = max / qmax (choose_qparams).
QScheme activation_scheme_for(const BackendProfile& profile, bool non_negative) {
  QScheme s = profile.activation;
  if (profile.unsigned_after_relu && non_negative) {
    s.signedness = Signedness::Unsigned;
    s.symmetry = Symmetry::Symmetric;
    s.narrow_range = false;
  }
  return s;
}

ResolvedBackend resolve_backend(const BackendProfile& profile, const BackendOverrides& o) {
  ResolvedBackend r{profile, {}};
  BackendProfile& p = r.profile;
  const std::string who = "backend '" + profile.name + "': ";

  auto set_bits = [&](const char* option, int bits, QScheme& s) {
    if (bits < 2 || bits > 16) throw Error(who + option + " = " + std::to_string(bits) + " is outside 2..16");
    s.bits = bits;
    if (!is_native(profile, bits))
      r.notes.push_back(std::string("simulation only: ") + profile.name + " runs " + native_bits_text(profile) +
                        " only (" + option + " = " + std::to_string(bits) + ")");
  };
  if (o.w_bits) set_bits("w_bits", *o.w_bits, p.weight);
  if (o.a_bits) set_bits("a_bits", *o.a_bits, p.activation);

  if (o.a_granularity && *o.a_granularity == Granularity::PerChannel)
    throw Error(who + "per-channel activations are not supported (activations are per-tensor on every backend)");
  if (o.w_granularity) {
    if (*o.w_granularity == Granularity::PerChannel && !profile.per_channel_weights_allowed)
      throw Error(who + "per-channel weights are not supported (this backend runs per-tensor weights only)");
    if (*o.w_granularity != p.weight.granularity) {
      p.weight.granularity = *o.w_granularity;
      p.weight.axis = 0;
      r.notes.push_back(std::string(to_string(*o.w_granularity)) + " weights on " + profile.name +
                        " (profile default: " + std::string(to_string(profile.weight.granularity)) + ")");
    }
  }
  if (o.reduce_range) {
    QScheme& s = profile.reduce_range_target == ReduceRangeTarget::Weights ? p.weight : p.activation;
    if (s.reduce_range != *o.reduce_range) {
      s.reduce_range = *o.reduce_range;
      // MQBench's OpenVINO weights with reduce_range are [-64,63]: the full 7-bit grid, not narrow.
      if (*o.reduce_range && profile.reduce_range_target == ReduceRangeTarget::Weights) s.narrow_range = false;
      r.notes.push_back(std::string("reduce_range ") + (*o.reduce_range ? "on" : "off") + " for " +
                        std::string(to_string(profile.reduce_range_target)) + ": grid [" + std::to_string(s.qmin()) +
                        ", " + std::to_string(s.qmax()) + "]");
    }
  }
  try {
    p.weight.validate();
  } catch (const Error& e) {
    throw Error(who + "weights: " + e.what());
  }
  try {
    p.activation.validate();
  } catch (const Error& e) {
    throw Error(who + "activations: " + e.what());
  }
  return r;
}

}  // namespace mqcalib
