// Backend profiles against ../shared/REFERENCE.md section 2 "Defaults mqcalib uses" (expected rows
// written here by hand from that table), and override resolution.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "backends/backend.h"

using namespace mqcalib;

namespace {

struct Expect {
  const char* name;
  // weights
  int w_qmin, w_qmax;
  Symmetry w_sym;
  Granularity w_gran;
  // activations
  int a_qmin, a_qmax;
  Symmetry a_sym;
  // both
  ScaleKind scale;
  Rounding rounding;
  bool concat_share, fuse_add_relu, only_conv_linear, unsigned_after_relu;
};

constexpr Symmetry SYM = Symmetry::Symmetric, ASYM = Symmetry::Asymmetric;
constexpr Granularity PC = Granularity::PerChannel, PT = Granularity::PerTensor;
constexpr ScaleKind F32 = ScaleKind::Float32, POW2 = ScaleKind::PowerOfTwo;
constexpr Rounding EVEN = Rounding::HalfToEven, AWAY = Rounding::HalfAwayFromZero;

// REFERENCE.md section 2, "Defaults mqcalib uses".
const Expect kExpected[] = {
    // name        w range      w sym  w gran  a range     a sym  scale  round  concat add+r only  u-relu
    {"tensorrt", -127, 127, SYM, PC, -128, 127, SYM, F32, EVEN, true, true, false, false},
    {"snpe", 0, 255, ASYM, PT, 0, 255, ASYM, F32, EVEN, true, true, false, false},
    {"qnn", 0, 255, ASYM, PT, 0, 255, ASYM, F32, EVEN, true, true, false, false},
    {"fbgemm", -128, 127, SYM, PC, 0, 127, ASYM, F32, EVEN, false, true, false, false},
    {"tvm", -127, 127, SYM, PT, -127, 127, SYM, POW2, AWAY, true, false, false, false},
    {"acl", -128, 127, SYM, PC, 0, 255, ASYM, F32, AWAY, true, false, false, false},
    {"ppl", -128, 127, SYM, PC, -128, 127, SYM, F32, EVEN, true, true, false, false},
    {"vitis", -128, 127, SYM, PT, -128, 127, SYM, POW2, EVEN, true, false, false, false},
    {"ort", -127, 127, SYM, PC, 0, 255, ASYM, F32, EVEN, false, false, false, false},
    {"openvino", -127, 127, SYM, PC, -128, 127, SYM, F32, EVEN, true, false, false, true},
    {"ncnn", -127, 127, SYM, PC, -127, 127, SYM, F32, AWAY, true, false, false, false},
    {"mnn", -127, 127, SYM, PC, -127, 127, SYM, F32, AWAY, true, false, false, false},
    {"tengine", 0, 255, ASYM, PT, 0, 255, ASYM, F32, EVEN, true, false, false, false},
    {"academic", 0, 255, ASYM, PC, 0, 255, ASYM, F32, EVEN, false, false, true, false},
};

}  // namespace

TEST_CASE("backends: every profile matches its REFERENCE.md section 2 row") {
  REQUIRE(backend_profiles().size() == sizeof(kExpected) / sizeof(kExpected[0]));
  for (const Expect& e : kExpected) {
    CAPTURE(e.name);
    const BackendProfile& p = find_backend(e.name);
    CHECK(p.name == e.name);
    CHECK(p.weight.bits == 8);
    CHECK(p.weight.qmin() == e.w_qmin);
    CHECK(p.weight.qmax() == e.w_qmax);
    CHECK(p.weight.symmetry == e.w_sym);
    CHECK(p.weight.granularity == e.w_gran);
    if (e.w_gran == PC) CHECK(p.weight.axis == 0);
    CHECK(p.weight.scale_kind == e.scale);
    CHECK(p.weight.rounding == e.rounding);
    CHECK(p.activation.bits == 8);
    CHECK(p.activation.qmin() == e.a_qmin);
    CHECK(p.activation.qmax() == e.a_qmax);
    CHECK(p.activation.symmetry == e.a_sym);
    CHECK(p.activation.granularity == PT);
    CHECK(p.activation.scale_kind == e.scale);
    CHECK(p.activation.rounding == e.rounding);
    CHECK(p.activation.symmetric_scale == SymmetricScale::AmaxOverQmax);  // tensorrt: amax/127
    CHECK(p.concat_inputs_share_scale == e.concat_share);
    CHECK(p.fuse_add_relu == e.fuse_add_relu);
    CHECK(p.quantize_only_conv_linear == e.only_conv_linear);
    CHECK(p.unsigned_after_relu == e.unsigned_after_relu);
    CHECK_NOTHROW(p.weight.validate());
    CHECK_NOTHROW(p.activation.validate());
    CHECK(!p.description.empty());
  }
  // only fbgemm reduces the range by default
  for (const auto& p : backend_profiles()) {
    CAPTURE(p.name);
    CHECK(p.activation.reduce_range == (p.name == "fbgemm"));
    CHECK(p.weight.reduce_range == false);
  }
}

TEST_CASE("backends: names and unknown-name error") {
  const std::vector<std::string> n = backend_names();
  CHECK(n.size() == 14);
  CHECK(n.front() == "tensorrt");
  CHECK_THROWS_WITH_AS(find_backend("tensorRT7"), doctest::Contains("tensorRT7"), Error);
  CHECK_THROWS_WITH_AS(find_backend("foo"), doctest::Contains("openvino"), Error);  // lists the names
  // the README's names for two runtimes are aliases of the table's
  CHECK(find_backend("onnxruntime").name == "ort");
  CHECK(find_backend("openppl").name == "ppl");
}

TEST_CASE("backends: openvino unsigned after ReLU") {
  const BackendProfile& ov = find_backend("openvino");
  const QScheme u = activation_scheme_for(ov, true);
  CHECK(u.signedness == Signedness::Unsigned);
  CHECK(u.qmin() == 0);
  CHECK(u.qmax() == 255);
  CHECK(u.symmetry == Symmetry::Symmetric);
  const QScheme s = activation_scheme_for(ov, false);
  CHECK(s.qmin() == -128);
  // a signed backend without the rule keeps the signed grid for non-negative tensors
  CHECK(activation_scheme_for(find_backend("tensorrt"), true).qmin() == -128);
}

TEST_CASE("backends: overrides") {
  const BackendProfile& trt = find_backend("tensorrt");
  BackendOverrides o;
  o.w_bits = 4;
  ResolvedBackend r = resolve_backend(trt, o);
  CHECK(r.profile.weight.bits == 4);
  CHECK(r.profile.weight.qmin() == -7);  // narrow 4-bit
  CHECK(r.profile.weight.qmax() == 7);
  CHECK(r.profile.activation.bits == 8);
  REQUIRE(r.notes.size() == 1);
  CHECK(r.notes[0].find("simulation only: tensorrt runs int8 only") != std::string::npos);

  // academic: any bits, no note
  o = {};
  o.w_bits = 2;
  o.a_bits = 4;
  r = resolve_backend(find_backend("academic"), o);
  CHECK(r.notes.empty());
  CHECK(r.profile.weight.qmax() == 3);
  CHECK(r.profile.activation.qmax() == 15);

  // bits outside 2..16
  o = {};
  o.a_bits = 1;
  CHECK_THROWS_WITH_AS(resolve_backend(trt, o), doctest::Contains("a_bits"), Error);
  o.a_bits = 17;
  CHECK_THROWS_WITH_AS(resolve_backend(trt, o), doctest::Contains("tensorrt"), Error);

  // per-channel activations: illegal on every backend
  o = {};
  o.a_granularity = Granularity::PerChannel;
  for (const auto& p : backend_profiles())
    CHECK_THROWS_WITH_AS(resolve_backend(p, o), doctest::Contains("per-channel activations"), Error);

  // per-channel weights: illegal on per-tensor-only backends, legal elsewhere
  o = {};
  o.w_granularity = Granularity::PerChannel;
  for (const char* name : {"snpe", "tvm", "vitis", "tengine"})
    CHECK_THROWS_WITH_AS(resolve_backend(find_backend(name), o), doctest::Contains(name), Error);
  r = resolve_backend(find_backend("qnn"), o);
  CHECK(r.profile.weight.granularity == Granularity::PerChannel);
  CHECK(r.profile.weight.axis == 0);
  CHECK(r.notes.size() == 1);
  // per-tensor weights on a per-channel backend: legal, noted
  o.w_granularity = Granularity::PerTensor;
  r = resolve_backend(trt, o);
  CHECK(r.profile.weight.granularity == Granularity::PerTensor);
  CHECK(r.notes.size() == 1);

  // reduce_range: fbgemm off -> [0,255]; tensorrt on -> activations [-64,63]; openvino on -> weights [-64,63]
  o = {};
  o.reduce_range = false;
  r = resolve_backend(find_backend("fbgemm"), o);
  CHECK(r.profile.activation.qmax() == 255);
  o.reduce_range = true;
  r = resolve_backend(trt, o);
  CHECK(r.profile.activation.qmin() == -64);
  CHECK(r.profile.activation.qmax() == 63);
  r = resolve_backend(find_backend("openvino"), o);
  CHECK(r.profile.weight.qmin() == -64);
  CHECK(r.profile.weight.qmax() == 63);
  CHECK(r.profile.activation.qmin() == -128);
  // reduce_range with 2-bit activations is an invalid scheme, reported with the backend name
  o.a_bits = 2;
  CHECK_THROWS_WITH_AS(resolve_backend(find_backend("fbgemm"), o), doctest::Contains("fbgemm"), Error);
}
