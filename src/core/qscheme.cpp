// mqcalib/src/core/qscheme.cpp: scheme invariants, grid bounds and choose_qparams.
//
// Arithmetic: ../shared/REFERENCE.md section 1 (gemmlowp doc/quantization.md, MQBench section 3.1);
// docs/quantization.md derives it.
#include "core/qscheme.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>

#include "core/error.h"

namespace mqcalib {

// Smallest scale choose_qparams returns (absolute, float32). A range narrower than
// kMinScale * (qmax - qmin) (for example a constant tensor of 1e-30) gets this scale instead of a
// denormal or zero one, so that x / scale never overflows to inf and 1 / scale stays finite.
// 1e-8 is below any scale seen in practice for 2..16-bit grids over float32 weights/activations
// (PyTorch uses float32 epsilon ~1.2e-7 for the same purpose; we keep 1e-8 to not clip 16-bit
// grids of small ranges).
constexpr double kMinScale = 1e-8;

std::string_view to_string(Rounding r) {
  switch (r) {
    case Rounding::HalfToEven:
      return "half-even";
    case Rounding::HalfAwayFromZero:
      return "half-away";
  }
  return "?";
}
std::string_view to_string(ScaleKind k) {
  switch (k) {
    case ScaleKind::Float32:
      return "fp32-scale";
    case ScaleKind::PowerOfTwo:
      return "pow2-scale";
  }
  return "?";
}
std::string_view to_string(Granularity g) {
  switch (g) {
    case Granularity::PerTensor:
      return "per-tensor";
    case Granularity::PerChannel:
      return "per-channel";
  }
  return "?";
}
std::string_view to_string(Symmetry s) {
  switch (s) {
    case Symmetry::Symmetric:
      return "sym";
    case Symmetry::Asymmetric:
      return "asym";
  }
  return "?";
}
std::string_view to_string(Signedness s) {
  switch (s) {
    case Signedness::Signed:
      return "signed";
    case Signedness::Unsigned:
      return "unsigned";
  }
  return "?";
}
std::string_view to_string(SymmetricScale s) {
  switch (s) {
    case SymmetricScale::AmaxOverQmax:
      return "amax/qmax";
    case SymmetricScale::TwoAmaxOverRange:
      return "2amax/(qmax-qmin)";
  }
  return "?";
}

// Grid bounds. The effective grid width is `bits`, minus one when reduce_range is set (FBGEMM's
// 7-bit activations [0,127], MQBench's OpenVINO [-64,63]: REFERENCE.md section 2):
//   unsigned: [0, 2^b - 1]
//   signed:   [-2^(b-1), 2^(b-1) - 1], narrow_range drops the lowest value: [-2^(b-1) + 1, 2^(b-1) - 1]
// Computed in int64: the 32-bit bias grid's -2^31 has no int32 negation (UBSan, issue 14). The grid
// width is clamped to 1..32 so that an invalid scheme (one validate() rejects, and whose message
// describe() prints) still has defined bounds.
namespace {
int grid_width(const QScheme& s) { return std::clamp(s.reduce_range ? s.bits - 1 : s.bits, 1, 32); }
}  // namespace

int32_t QScheme::qmin() const {
  const int b = grid_width(*this);
  if (signedness == Signedness::Unsigned) return 0;
  const int64_t lo = -(int64_t{1} << (b - 1));
  return static_cast<int32_t>(narrow_range ? lo + 1 : lo);
}

int32_t QScheme::qmax() const {
  const int b = grid_width(*this);
  const int64_t hi = signedness == Signedness::Unsigned ? (int64_t{1} << b) - 1 : (int64_t{1} << (b - 1)) - 1;
  return static_cast<int32_t>(std::min<int64_t>(hi, INT32_MAX));
}

void QScheme::validate() const {
  auto fail = [&](const std::string& why) { throw Error("invalid quantization scheme: " + why); };
  if (bits < 2 || bits > 16) fail("bits = " + std::to_string(bits) + " is outside 2..16");
  if (narrow_range && signedness == Signedness::Unsigned)
    fail("narrow_range requires a signed grid (it drops -2^(bits-1)); got unsigned " + std::to_string(bits) + "-bit");
  if (reduce_range && bits < 3)
    fail("reduce_range needs bits >= 3 (it drops one bit of the grid); got bits = " + std::to_string(bits));
  if (granularity == Granularity::PerChannel && axis < 0)
    fail("per-channel granularity needs a channel axis >= 0; got axis = " + std::to_string(axis));
  if (qmin() >= qmax()) fail("empty grid [" + std::to_string(qmin()) + ", " + std::to_string(qmax()) + "]");
}

std::string QScheme::describe() const {
  std::ostringstream os;
  os << (signedness == Signedness::Signed ? "int" : "uint") << bits << ' ' << to_string(symmetry);
  if (narrow_range) os << " narrow";
  if (reduce_range) os << " reduce-range";
  os << " [" << qmin() << ',' << qmax() << "] " << to_string(granularity);
  if (granularity == Granularity::PerChannel) os << "(axis " << axis << ')';
  os << ' ' << to_string(scale_kind) << ' ' << to_string(rounding);
  if (symmetry == Symmetry::Symmetric && signedness == Signedness::Signed &&
      symmetric_scale == SymmetricScale::TwoAmaxOverRange)
    os << " scale=2amax/(qmax-qmin)";
  return os.str();
}

void QParams::validate(std::string_view tensor_name) const {
  const std::string who = "quantization params of tensor '" + std::string(tensor_name) + "': ";
  if (scale.empty()) throw Error(who + "no scale");
  if (scale.size() != zero_point.size())
    throw Error(who + std::to_string(scale.size()) + " scales but " + std::to_string(zero_point.size()) +
                " zero points");
  if (axis < -1) throw Error(who + "axis " + std::to_string(axis) + " (must be -1 for per-tensor or >= 0)");
  if (axis == -1 && scale.size() != 1)
    throw Error(who + "per-tensor params (axis -1) with " + std::to_string(scale.size()) + " scales");
  if (qmin >= qmax) throw Error(who + "empty grid [" + std::to_string(qmin) + ", " + std::to_string(qmax) + "]");
  for (size_t c = 0; c < scale.size(); ++c) {
    const std::string at = scale.size() > 1 ? " (channel " + std::to_string(c) + ")" : "";
    if (!std::isfinite(scale[c]) || !(scale[c] > 0.0f))
      throw Error(who + "scale " + std::to_string(scale[c]) + at + " is not finite and > 0");
    if (zero_point[c] < qmin || zero_point[c] > qmax)
      throw Error(who + "zero point " + std::to_string(zero_point[c]) + at + " outside [" + std::to_string(qmin) +
                  ", " + std::to_string(qmax) + "]");
  }
}

namespace {

// Smallest power of two >= s (s > 0, finite): 2^ceil(log2 s), computed exactly with frexp.
double pow2_ceil(double s) {
  int e = 0;
  const double m = std::frexp(s, &e);  // s = m * 2^e, m in [0.5, 1)
  return m == 0.5 ? std::ldexp(1.0, e - 1) : std::ldexp(1.0, e);
}

double round_with(Rounding r, double v) { return r == Rounding::HalfToEven ? std::nearbyint(v) : std::round(v); }

}  // namespace

// Steps (qscheme.h): reject non-finite, widen to include 0, scale by symmetry, power-of-two round-up,
// minimum scale, zero point by nudging. Arithmetic in double, the scale is then rounded to float32
// and the zero point is computed from that float32 scale (the one the kernels divide by).
//   symmetric signed:   zp = 0, scale = amax / qmax  (AmaxOverQmax)  or 2 amax / (qmax - qmin)
//                       (TwoAmaxOverRange, PPQ), amax = max(-min, max)
//   symmetric unsigned: zp = 0, scale = max / qmax   (OpenVINO after ReLU; negatives clip to 0)
//   asymmetric:         scale = (max - min) / (qmax - qmin), zp = clamp(round(qmin - min / scale))
//                       with round() the scheme's tie rule
//   all-zero range:     scale 1 (then the same zero point rule: 0 for symmetric, qmin for asymmetric)
QParams choose_qparams(const QScheme& scheme, const Range& range, std::string_view tensor_name) {
  const std::string who = "choose_qparams for tensor '" + std::string(tensor_name) + "': ";
  try {
    scheme.validate();
  } catch (const Error& e) {
    throw Error(who + e.what());
  }
  if (range.min.size() != range.max.size())
    throw Error(who + "range has " + std::to_string(range.min.size()) + " minima but " +
                std::to_string(range.max.size()) + " maxima");
  if (range.size() == 0) throw Error(who + "empty range (nothing was observed)");
  if (scheme.granularity == Granularity::PerTensor && range.size() != 1)
    throw Error(who + "per-tensor scheme but the range has " + std::to_string(range.size()) + " entries");

  const int32_t qmin = scheme.qmin(), qmax = scheme.qmax();
  QParams p;
  p.qmin = qmin;
  p.qmax = qmax;
  p.axis = scheme.granularity == Granularity::PerChannel ? scheme.axis : -1;
  p.rounding = scheme.rounding;
  p.scale.resize(range.size());
  p.zero_point.resize(range.size());

  for (size_t c = 0; c < range.size(); ++c) {
    const std::string at =
        range.size() > 1 || scheme.granularity == Granularity::PerChannel ? " (channel " + std::to_string(c) + ")" : "";
    const float fmin = range.min[c], fmax = range.max[c];
    if (!std::isfinite(fmin) || !std::isfinite(fmax))
      throw Error(who + "non-finite observed range [" + std::to_string(fmin) + ", " + std::to_string(fmax) + "]" + at +
                  ": the tensor contains NaN or Inf");
    if (fmin > fmax) throw Error(who + "observed min " + std::to_string(fmin) + " > max " + std::to_string(fmax) + at);
    const double mn = std::min(0.0, static_cast<double>(fmin));
    const double mx = std::max(0.0, static_cast<double>(fmax));

    double s = 0.0;
    const bool symmetric = scheme.symmetry == Symmetry::Symmetric;
    if (symmetric && scheme.signedness == Signedness::Signed) {
      const double amax = std::max(-mn, mx);
      s = scheme.symmetric_scale == SymmetricScale::AmaxOverQmax ? amax / qmax : 2.0 * amax / (qmax - qmin);
    } else if (symmetric) {  // unsigned symmetric: qmin == 0, zp == 0
      s = mx / qmax;
    } else {
      s = (mx - mn) / (static_cast<double>(qmax) - qmin);
    }
    if (s == 0.0) s = 1.0;       // all-zero range: any scale is exact; 1 is the defined answer
    s = std::max(s, kMinScale);  // tiny ranges: no denormal or underflowing scale
    if (scheme.scale_kind == ScaleKind::PowerOfTwo) s = pow2_ceil(s);  // round up: nothing min-max keeps clips
    const float sf = static_cast<float>(s);
    if (!std::isfinite(sf))
      throw Error(who + "range [" + std::to_string(fmin) + ", " + std::to_string(fmax) + "]" + at +
                  " gives a scale that overflows float32");

    int32_t zp = 0;
    if (!symmetric) {
      const double z = round_with(scheme.rounding, static_cast<double>(qmin) - mn / static_cast<double>(sf));
      zp = static_cast<int32_t>(std::clamp(z, static_cast<double>(qmin), static_cast<double>(qmax)));
    }
    p.scale[c] = sf;
    p.zero_point[c] = zp;
  }
  p.validate(tensor_name);
  return p;
}

}  // namespace mqcalib
