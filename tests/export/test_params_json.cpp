// params.json: write -> strict read round trip (every field, scales bit for bit), and the strict
// reader's errors (missing key, wrong type, wrong version, ...): each an mqcalib::Error naming the
// file and the JSON path of the bad key (params_json.h).
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "export/format_util.h"
#include "export/params_json.h"
#include "export_records.h"
#include "export_test_util.h"

using namespace mqcalib;
using namespace mqcalib::export_test;

namespace {

std::vector<uint32_t> bits_of(const std::vector<float>& v) {
  std::vector<uint32_t> b;
  for (float x : v) b.push_back(float_bits(x));
  return b;
}

void check_tensor_equal(const TensorQuant& a, const TensorQuant& b) {
  INFO("tensor " << a.tensor);
  CHECK(a.tensor == b.tensor);
  CHECK(a.layer == b.layer);
  CHECK(a.role == b.role);
  CHECK(a.observer == b.observer);
  CHECK(a.scheme.bits == b.scheme.bits);
  CHECK(a.scheme.signedness == b.scheme.signedness);
  CHECK(a.scheme.symmetry == b.scheme.symmetry);
  CHECK(a.scheme.narrow_range == b.scheme.narrow_range);
  CHECK(a.scheme.reduce_range == b.scheme.reduce_range);
  CHECK(a.scheme.granularity == b.scheme.granularity);
  CHECK(a.scheme.axis == b.scheme.axis);
  CHECK(a.scheme.scale_kind == b.scheme.scale_kind);
  CHECK(a.scheme.rounding == b.scheme.rounding);
  CHECK(a.scheme.symmetric_scale == b.scheme.symmetric_scale);
  CHECK(bits_of(a.params.scale) == bits_of(b.params.scale));  // bit for bit, not approximately
  CHECK(a.params.zero_point == b.params.zero_point);
  CHECK(a.params.qmin == b.params.qmin);
  CHECK(a.params.qmax == b.params.qmax);
  CHECK(a.params.axis == b.params.axis);
  CHECK(a.params.rounding == b.params.rounding);
  CHECK(bits_of(a.observed.min) == bits_of(b.observed.min));
  CHECK(bits_of(a.observed.max) == bits_of(b.observed.max));
}

void check_record_equal(const QuantRecord& a, const QuantRecord& b) {
  const Provenance& p = a.provenance;
  const Provenance& q = b.provenance;
  CHECK(p.tool_version == q.tool_version);
  CHECK(p.model_path == q.model_path);
  CHECK(p.model_sha256 == q.model_sha256);
  CHECK(p.backend == q.backend);
  CHECK(p.preprocessing == q.preprocessing);
  CHECK(p.layout == q.layout);
  CHECK(p.seed == q.seed);
  CHECK(p.calib_samples == q.calib_samples);
  CHECK(p.calib_sha256 == q.calib_sha256);
  CHECK(p.skipped_layers == q.skipped_layers);
  CHECK(p.layer_bits == q.layer_bits);
  CHECK(p.command_line == q.command_line);
  CHECK(a.layer_inputs == b.layer_inputs);
  REQUIRE(a.tensors.size() == b.tensors.size());
  for (size_t i = 0; i < a.tensors.size(); ++i) check_tensor_equal(a.tensors[i], b.tensors[i]);
}

// A record with every kind of entry: the three golden records' tensors under distinct names, plus
// scales that need all nine significant digits and a power-of-two 4-bit scheme.
QuantRecord full_record() {
  QuantRecord r = ncnn_record();
  for (const QuantRecord& other : {tensorrt_record(), snpe_record()})
    for (TensorQuant t : other.tensors) {
      t.tensor = other.provenance.backend + "/" + t.tensor;
      r.tensors.push_back(t);
    }
  QScheme s4 = int8_symmetric(false, Granularity::PerTensor);
  s4.bits = 4;
  s4.scale_kind = ScaleKind::PowerOfTwo;
  s4.rounding = Rounding::HalfAwayFromZero;
  s4.symmetric_scale = SymmetricScale::TwoAmaxOverRange;
  r.tensors.push_back(
      make_tensor("fc4.weight", "fc4", TensorRole::Weight, s4, {0.25f}, {0}, Range{{-1.75f}, {2.0f}}, "minmax"));
  // Nine-digit scales: 1/3 and the float just above 1 (1 + 2^-23).
  r.tensors.push_back(make_tensor("odd", "odd", TensorRole::Activation, uint8_asymmetric(), {1.0f / 3.0f}, {7},
                                  Range{{-2.3333333f}, {1.00000012f}}, "mse"));
  r.tensors.back().params.scale = {0.333333343f};
  r.tensors.push_back(make_tensor("odd2", "odd", TensorRole::Activation, uint8_asymmetric(), {1.00000012f}, {255},
                                  Range{{-255.0f}, {0.0f}}, "mse"));
  r.provenance.command_line = "mqcalib quantize --note \"quotes\", tab\t, unicode \xc2\xb5";
  return r;
}

// The params.json of full_record() as an editable JSON tree (doubles: every float32 value written as
// its shortest float decimal parses to a double that converts back to the same float).
nlohmann::ordered_json params_tree() { return nlohmann::ordered_json::parse(params_json_text(full_record())); }

// Writes `j` to <dir>/bad.params.json, reads it with the strict reader and returns the error text.
std::string read_error(const TempDir& dir, const nlohmann::ordered_json& j) {
  const std::string path = dir.file("bad.params.json");
  write_text(path, j.dump(2));
  const std::string msg = error_message([&] { read_params_json(path); });
  CHECK_MESSAGE(!msg.empty(), "the strict reader accepted a bad file");
  CHECK_MESSAGE(msg.find(path) != std::string::npos, "error does not name the file: " << msg);
  return msg;
}

bool names(const std::string& msg, const std::string& what) {
  INFO("message: " << msg << " / expected to contain: " << what);
  return msg.find(what) != std::string::npos;
}

}  // namespace

TEST_CASE("params.json: write -> read_params_json is the identity") {
  TempDir dir;
  for (const QuantRecord& rec : {tensorrt_record(), snpe_record(), ncnn_record(), full_record()}) {
    INFO("backend " << rec.provenance.backend);
    const std::string path = dir.file("params.json");
    write_params_json(rec, path);
    const QuantRecord back = read_params_json(path);
    check_record_equal(rec, back);
    // Writing what was read gives the same bytes (a fixed point).
    CHECK(params_json_text(back) == read_text(path));
  }
}

TEST_CASE("params.json: layout spelled as documented in params_json.h") {
  const nlohmann::ordered_json j = params_tree();
  CHECK(j["format"] == "mqcalib-params");
  CHECK(j["format_version"] == 1);
  CHECK(j["provenance"]["seed"].get<uint64_t>() == 18446744073709551557ull);
  const auto& w = j["tensors"][1];  // ncnn conv1.weight, per-channel scales 2^-7, 2^-8, 0.01f
  CHECK(w["tensor"] == "conv1.weight");
  CHECK(w["role"] == "weight");
  CHECK(w["scheme"]["signed"] == true);
  CHECK(w["scheme"]["qmin"] == -127);
  CHECK(w["params"]["axis"] == 0);
  // 0.01f = 0x3c23d70a: 0.01 = 1.28 * 2^-7, exponent 120 = 0x78; mantissa 0.28 * 2^23 = 2348810.24 -> 0x23d70a.
  CHECK(w["params"]["scale_bits"] == nlohmann::ordered_json::array({"3c000000", "3b800000", "3c23d70a"}));
  // The scale is the shortest decimal that reads back to the float32 ("0.01"), not the double
  // 0.00999999977648258...: a reader rounds it to float32 (strtof, or double then float).
  CHECK(w["params"]["scale"][2].dump() == "0.01");
  CHECK(static_cast<float>(w["params"]["scale"][2].get<double>()) == 0.01f);
}

TEST_CASE("params.json strict reader: missing key") {
  TempDir dir;
  auto j = params_tree();
  j["tensors"][1]["scheme"].erase("bits");
  std::string msg = read_error(dir, j);
  CHECK(names(msg, "tensors[1].scheme.bits"));
  CHECK(names(msg, "missing"));

  j = params_tree();
  j["provenance"].erase("calib_sha256");
  msg = read_error(dir, j);
  CHECK(names(msg, "provenance.calib_sha256"));

  j = params_tree();
  j.erase("tensors");
  CHECK(names(read_error(dir, j), "'tensors'"));
}

TEST_CASE("params.json strict reader: wrong type") {
  TempDir dir;
  auto j = params_tree();
  j["tensors"][2]["params"]["zero_point"][0] = "0";
  std::string msg = read_error(dir, j);
  CHECK(names(msg, "tensors[2].params.zero_point[0]"));

  j = params_tree();
  j["tensors"][0]["scheme"]["signed"] = 1;
  CHECK(names(read_error(dir, j), "tensors[0].scheme.signed"));

  j = params_tree();
  j["tensors"][0]["params"]["scale"] = 0.5;  // a number, not an array
  CHECK(names(read_error(dir, j), "tensors[0].params.scale"));

  j = params_tree();
  j["provenance"]["seed"] = -1;
  CHECK(names(read_error(dir, j), "provenance.seed"));

  j = params_tree();
  j["tensors"][0]["role"] = "activations";  // not an enum spelling
  CHECK(names(read_error(dir, j), "tensors[0].role"));
}

TEST_CASE("params.json strict reader: wrong version or format") {
  TempDir dir;
  auto j = params_tree();
  j["format_version"] = 2;
  std::string msg = read_error(dir, j);
  CHECK(names(msg, "format_version"));
  CHECK(names(msg, "2"));

  // A newer version with keys this build does not know: the version is what is reported.
  j["checksum"] = "abc";
  msg = read_error(dir, j);
  CHECK(names(msg, "'format_version'"));

  j = params_tree();
  j["format_version"] = "1";
  CHECK(names(read_error(dir, j), "format_version"));

  j = params_tree();
  j["format"] = "mqbench-params";
  CHECK(names(read_error(dir, j), "'format'"));
}

TEST_CASE("params.json strict reader: unknown keys, inconsistent values, not JSON, no file") {
  TempDir dir;
  auto j = params_tree();
  j["tensors"][0]["params"]["scale_offset"] = 0;
  CHECK(names(read_error(dir, j), "tensors[0].params.scale_offset"));

  j = params_tree();
  j["tensors"][1]["params"]["scale_bits"][2] = "3c23d70b";  // one ulp above the scale
  CHECK(names(read_error(dir, j), "tensors[1].params.scale_bits[2]"));

  j = params_tree();
  j["tensors"][0]["params"]["zero_point"][0] = 300;  // outside [qmin, qmax]
  CHECK(names(read_error(dir, j), "tensors[0].params"));

  const std::string path = dir.file("truncated.params.json");
  write_text(path, params_json_text(full_record()).substr(0, 100));
  std::string msg = error_message([&] { read_params_json(path); });
  CHECK(names(msg, path));
  CHECK(names(msg, "not valid JSON"));

  msg = error_message([&] { read_params_json(dir.file("absent.params.json")); });
  CHECK(names(msg, dir.file("absent.params.json")));
}

TEST_CASE("params.json: the data-free and weight-change keys round-trip; absent they read as a plain run") {
  TempDir dir;
  QuantRecord rec = full_record();
  Provenance& p = rec.provenance;
  p.activation_ranges = "bn_stats";
  p.range_sigmas = 6.0;
  p.synthetic_samples = 1024;
  p.synthesis_seed = 7;
  p.synthesis_iterations = 500;
  p.equalization = {{"conv1", "conv2", "relu6", {0.5f, 2.0f, 0.333333343f}}};
  p.relu6_policy = "relu";
  p.high_bias_sigmas = 3.0;
  p.bias_correction = "analytic";
  rec.float_weights["conv1.weight"].file = "folded/conv1.weight.npy";
  rec.op_changes["relu1"] = "relu";
  const std::string path = dir.file("params.json");
  write_params_json(rec, path);
  const QuantRecord back = read_params_json(path);
  check_record_equal(rec, back);
  const Provenance& q = back.provenance;
  CHECK(q.activation_ranges == "bn_stats");
  CHECK(q.range_sigmas == 6.0);
  CHECK(q.synthetic_samples == 1024);
  CHECK(q.synthesis_seed == 7);
  CHECK(q.synthesis_iterations == 500);
  REQUIRE(q.equalization.size() == 1);
  CHECK(q.equalization[0].first == "conv1");
  CHECK(q.equalization[0].join == "relu6");
  CHECK(bits_of(q.equalization[0].scales) == bits_of(p.equalization[0].scales));
  CHECK(q.relu6_policy == "relu");
  CHECK(q.high_bias_sigmas == 3.0);
  CHECK(q.bias_correction == "analytic");
  CHECK(back.float_weights.at("conv1.weight").file == "folded/conv1.weight.npy");
  CHECK(back.op_changes == rec.op_changes);
  CHECK(params_json_text(back) == read_text(path));  // a fixed point

  // A file written before these keys existed: a run on real data, nothing changed.
  auto j = nlohmann::ordered_json::parse(read_text(path));
  for (const char* k : {"data_free", "equalization", "high_bias_sigmas", "bias_correction"}) j["provenance"].erase(k);
  j.erase("float_weights");
  j.erase("op_changes");
  write_text(path, j.dump(2));
  const QuantRecord old = read_params_json(path);
  CHECK(old.provenance.activation_ranges == "observer");
  CHECK(old.provenance.bias_correction == "none");
  CHECK(old.provenance.equalization.empty());
  CHECK(old.float_weights.empty());

  // Their values are checked like the rest, naming the key.
  j = nlohmann::ordered_json::parse(params_json_text(rec));
  j["provenance"]["bias_correction"] = "magic";
  CHECK(names(read_error(dir, j), "provenance.bias_correction"));
  j = nlohmann::ordered_json::parse(params_json_text(rec));
  j["provenance"]["equalization"]["pairs"][0]["scales"][1] = -1.0;
  CHECK(names(read_error(dir, j), "provenance.equalization.pairs[0].scales[1]"));
  j = nlohmann::ordered_json::parse(params_json_text(rec));
  j["provenance"]["data_free"]["activation_ranges"] = 3;
  CHECK(names(read_error(dir, j), "provenance.data_free.activation_ranges"));
}
