// mqcalib/tests/export/export_records.h: the hand-built QuantRecords behind the export golden files
// (tests/export/golden/, written by hand from ../shared/REFERENCE.md section 7) and the independent
// Python parser (parse_exports.py). Every scale is chosen so that the exported numbers can be derived
// by hand; the derivations are in the comments below and in golden/README.md.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/qscheme.h"
#include "export/quant_record.h"

namespace mqcalib::export_test {

inline QScheme int8_symmetric(bool narrow, Granularity g) {
  QScheme s;
  s.bits = 8;
  s.signedness = Signedness::Signed;
  s.symmetry = Symmetry::Symmetric;
  s.narrow_range = narrow;
  s.granularity = g;
  s.axis = 0;
  return s;
}

inline QScheme uint8_asymmetric() {
  QScheme s;
  s.bits = 8;
  s.signedness = Signedness::Unsigned;
  s.symmetry = Symmetry::Asymmetric;
  s.granularity = Granularity::PerTensor;
  return s;
}

// A TensorQuant whose params follow the scheme's grid; per-channel when scales.size() > 1.
inline TensorQuant make_tensor(const std::string& tensor, const std::string& layer, TensorRole role, const QScheme& s,
                               std::vector<float> scales, std::vector<int32_t> zps, Range observed,
                               const std::string& observer) {
  TensorQuant t;
  t.tensor = tensor;
  t.layer = layer;
  t.role = role;
  t.scheme = s;
  t.params.scale = std::move(scales);
  t.params.zero_point = std::move(zps);
  t.params.qmin = s.qmin();
  t.params.qmax = s.qmax();
  t.params.axis = t.params.scale.size() > 1 ? s.axis : -1;
  t.params.rounding = s.rounding;
  t.observed = std::move(observed);
  t.observer = observer;
  return t;
}

inline Provenance make_provenance(const std::string& backend) {
  Provenance p;
  p.tool_version = "0.1.0";
  p.model_path = "models/tiny.pt";
  // SHA-256 of "" and of "abc" (FIPS 180-2 vectors), as stand-ins for real hashes.
  p.model_sha256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
  p.backend = backend;
  p.preprocessing = "scale 1/255, mean [0.286], std [0.353]";
  p.layout = "NCHW [1, 28, 28]";
  p.seed = 18446744073709551557ull;  // 2^64 - 59: needs the full uint64 range
  p.calib_samples = 256;
  p.calib_sha256 = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
  p.command_line = "mqcalib quantize --backend " + backend + " --model \"models/tiny.pt\"";
  return p;
}

// TensorRT (golden/calib.cache, golden/clip_ranges.json). Three int8 symmetric per-tensor activations:
//   input       scale 2^-7 = 0.0078125: sign 0, exponent -7 + 127 = 120 = 0x78, mantissa 0
//               -> bits 0x78 << 23 = 0x3c000000;  amax = 127 * 2^-7 = 0.9921875
//   conv1.relu  scale 2^-1 = 0.5: exponent 126 = 0x7e -> 0x3f000000;  amax = 127 / 2 = 63.5
//   fc.out      scale 0.1f: 0.1 = 1.6 * 2^-4, exponent 123 = 0x7b -> 0x3d800000; mantissa
//               0.6 * 2^23 = 5033164.8 -> rounds to 5033165 = 0x4ccccd -> 0x3dcccccd, i.e.
//               0.1f = 13421773 * 2^-27 = 0.100000001490116119384765625;
//               amax = 127 * 0.1f = 1704565171 * 2^-27 = 12.700000189244747161865234375 (exact in
//               double), shortest double decimal 12.700000189244747 (ulp 2^-49 ~ 1.8e-15; the
//               16-digit candidates 12.70000018924475 / ...474 are more than half an ulp away).
// The weight is per-channel and does not go into the cache (TensorRT computes weight scales itself).
// Observers: "kl" on two activations, so the Auto header is EntropyCalibration2, TensorRT 8.6 -> 8600.
inline QuantRecord tensorrt_record() {
  QuantRecord r;
  r.provenance = make_provenance("tensorrt");
  r.tensors.push_back(make_tensor("input", "conv1", TensorRole::Activation,
                                  int8_symmetric(false, Granularity::PerTensor), {0.0078125f}, {0},
                                  Range{{-0.75f}, {0.9921875f}}, "kl"));
  r.tensors.push_back(make_tensor("conv1.weight", "conv1", TensorRole::Weight,
                                  int8_symmetric(true, Granularity::PerChannel), {0.0078125f, 0.015625f}, {0, 0},
                                  Range{{-0.5f, -2.0f}, {0.9921875f, 1.5f}}, "minmax"));
  r.tensors.push_back(make_tensor("conv1.relu", "fc", TensorRole::Activation,
                                  int8_symmetric(false, Granularity::PerTensor), {0.5f}, {0}, Range{{0.0f}, {60.25f}},
                                  "kl"));
  r.tensors.push_back(make_tensor("fc.out", "fc", TensorRole::Activation, int8_symmetric(false, Granularity::PerTensor),
                                  {0.1f}, {0}, Range{{-12.5f}, {11.0f}}, "minmax"));
  return r;
}

// SNPE / QNN (golden/encodings.json). AIMET grid: real = scale * (q_u + offset), q_u in [0, 255].
//   conv1.weight  int8 symmetric narrow per-channel, zp 0: offset = -128 - 0 = -128 (SNPE accepts
//                 only -128 or 0 for symmetric, aimet #2468);
//                 ch0 scale 2^-7: min = -128 * 2^-7 = -1.0, max = 127 * 2^-7 = 0.9921875
//                 ch1 scale 2^-6: min = -128 * 2^-6 = -2.0, max = 127 * 2^-6 = 1.984375
//   input         uint8 asymmetric, scale 2^-5 = 0.03125, zp 32: offset = -32;
//                 min = -32 * 0.03125 = -1.0, max = (255 - 32) * 0.03125 = 223 / 32 = 6.96875
//   conv1.relu    uint8 asymmetric, scale 2^-4 = 0.0625, zp 0: offset 0; min 0.0, max = 255 / 16 = 15.9375
//   conv1.bias    int32, not written (SNPE quantizes biases itself).
inline QuantRecord snpe_record() {
  QuantRecord r;
  r.provenance = make_provenance("snpe");
  r.tensors.push_back(make_tensor("input", "conv1", TensorRole::Activation, uint8_asymmetric(), {0.03125f}, {32},
                                  Range{{-1.0f}, {6.9f}}, "minmax"));
  r.tensors.push_back(make_tensor("conv1.weight", "conv1", TensorRole::Weight,
                                  int8_symmetric(true, Granularity::PerChannel), {0.0078125f, 0.015625f}, {0, 0},
                                  Range{{-0.9f, -1.75f}, {0.9921875f, 1.984375f}}, "minmax"));
  QScheme bias;
  bias.bits = 32;  // int32 bias at s_in * s_w (outside QScheme::validate's 2..16 on purpose)
  bias.granularity = Granularity::PerChannel;
  TensorQuant b = make_tensor("conv1.bias", "conv1", TensorRole::Bias, bias, {0.000244140625f, 0.00048828125f}, {0, 0},
                              Range{{0.25f, -0.5f}, {0.25f, -0.5f}}, "s_in*s_w");
  b.params.qmin = INT32_MIN;
  b.params.qmax = INT32_MAX;
  r.tensors.push_back(b);
  r.tensors.push_back(make_tensor("conv1.relu", "conv1", TensorRole::Activation, uint8_asymmetric(), {0.0625f}, {0},
                                  Range{{0.0f}, {15.5f}}, "kl"));
  return r;
}

// ncnn (golden/ncnn.table). ncnn multiplies, m = 1 / scale (rounded once to float32, printed %.9g):
//   conv1_param_0: scales 2^-7, 2^-8, 0.01f -> 128, 256, and 1 / 0.01f = 1 / 0.00999999977648258209...
//                  = 100.0000022351742...; float32 ulp at 100 is 2^-17 ~ 7.6e-6, so it rounds to 100.
//   fc_param_0:    scales 0.5, 0.25 -> 2, 4
//   conv1 (input blob "input", found by its record's layer "conv1"): scale 2^-6 -> 64
//   fc    (input blob "pool.out", via layer_inputs; its record's layer is its producer "pool"): 0.125 -> 8
//   classifier: skipped (fp32) -> "#classifier_param_0" and "#classifier".
inline QuantRecord ncnn_record() {
  QuantRecord r;
  r.provenance = make_provenance("ncnn");
  r.provenance.skipped_layers = {"classifier"};
  r.provenance.layer_bits = {{"conv1", 8}, {"fc", 8}};
  const QScheme act = int8_symmetric(true, Granularity::PerTensor);
  const QScheme w = int8_symmetric(true, Granularity::PerChannel);
  r.tensors.push_back(
      make_tensor("input", "conv1", TensorRole::Activation, act, {0.015625f}, {0}, Range{{-1.5f}, {1.984375f}}, "kl"));
  r.tensors.push_back(make_tensor("conv1.weight", "conv1", TensorRole::Weight, w, {0.0078125f, 0.00390625f, 0.01f},
                                  {0, 0, 0}, Range{{-0.9f, -0.49609375f, -1.27f}, {0.99f, 0.25f, 1.0f}}, "minmax"));
  r.tensors.push_back(make_tensor("pool.out", "pool", TensorRole::Activation, act, {0.125f}, {0},
                                  Range{{0.0f}, {15.875f}}, "percentile"));
  r.tensors.push_back(make_tensor("fc.weight", "fc", TensorRole::Weight, w, {0.5f, 0.25f}, {0, 0},
                                  Range{{-63.5f, -31.75f}, {10.0f, 20.0f}}, "minmax"));
  r.layer_inputs["fc"] = "pool.out";
  return r;
}

}  // namespace mqcalib::export_test
