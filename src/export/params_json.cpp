// mqcalib/src/export/params_json.cpp: writer and strict reader of params.json (layout: params_json.h).
#include "export/params_json.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "core/error.h"
#include "core/input_file.h"
#include "export/atomic_file.h"
#include "export/format_util.h"
#include "export/params_json_transforms.h"
#include "export/strict_json_reader.h"

namespace mqcalib {

namespace {

constexpr const char* kFormatName = "mqcalib-params";

FloatJson float_array(const std::vector<float>& v, const TensorQuant& t, const char* what) {
  FloatJson a = FloatJson::array();
  for (size_t i = 0; i < v.size(); ++i) {
    if (!std::isfinite(v[i]))
      throw Error("params.json: " + describe_tensor(t) + " has a non-finite " + what + " at index " +
                  std::to_string(i) + " (JSON cannot hold NaN/Inf)");
    a.push_back(v[i]);
  }
  return a;
}

FloatJson tensor_json(const TensorQuant& t) {
  const QScheme& s = t.scheme;
  const QParams& p = t.params;
  if (p.scale.size() != p.zero_point.size())
    throw Error("params.json: " + describe_tensor(t) + " has " + std::to_string(p.scale.size()) + " scales but " +
                std::to_string(p.zero_point.size()) + " zero points");
  if (t.observed.min.size() != t.observed.max.size())
    throw Error("params.json: " + describe_tensor(t) + " has an observed range with " +
                std::to_string(t.observed.min.size()) + " minima but " + std::to_string(t.observed.max.size()) +
                " maxima");
  FloatJson j;
  j["tensor"] = t.tensor;
  j["layer"] = t.layer;
  j["role"] = std::string(to_string(t.role));
  j["observer"] = t.observer;
  FloatJson sj;
  sj["bits"] = s.bits;
  sj["signed"] = s.signedness == Signedness::Signed;
  sj["symmetric"] = s.symmetry == Symmetry::Symmetric;
  sj["narrow_range"] = s.narrow_range;
  sj["reduce_range"] = s.reduce_range;
  sj["granularity"] = std::string(to_string(s.granularity));
  sj["axis"] = s.axis;
  sj["qmin"] = p.qmin;
  sj["qmax"] = p.qmax;
  sj["rounding"] = std::string(to_string(s.rounding));
  sj["scale_kind"] = std::string(to_string(s.scale_kind));
  sj["symmetric_scale"] = std::string(to_string(s.symmetric_scale));
  j["scheme"] = sj;
  FloatJson pj;
  pj["axis"] = p.axis;
  pj["rounding"] = std::string(to_string(p.rounding));
  pj["scale"] = float_array(p.scale, t, "scale");
  FloatJson bits = FloatJson::array();
  for (float x : p.scale) bits.push_back(float_bits_hex(x));
  pj["scale_bits"] = bits;
  pj["zero_point"] = p.zero_point;
  j["params"] = pj;
  FloatJson oj;
  oj["min"] = float_array(t.observed.min, t, "observed min");
  oj["max"] = float_array(t.observed.max, t, "observed max");
  j["observed"] = oj;
  return j;
}

// ---- strict reading ----

using Reader = StrictJsonReader;

PreprocessRecord read_preprocess(const Reader& r, const FloatJson& j) {
  const std::string p = "provenance.preprocess";
  r.expect_keys(j, p, {"mean", "std", "color", "resize", "center_crop", "layout"});
  PreprocessRecord pr;
  pr.mean = r.floats(j["mean"], p + ".mean");
  pr.std = r.floats(j["std"], p + ".std");
  pr.color = r.str(j["color"], p + ".color");
  pr.resize = static_cast<int>(r.integer(j["resize"], p + ".resize", 0, 1 << 16));
  pr.center_crop = static_cast<int>(r.integer(j["center_crop"], p + ".center_crop", 0, 1 << 16));
  pr.layout = r.str(j["layout"], p + ".layout");
  return pr;
}

constexpr TensorRole kRoles[] = {TensorRole::Weight, TensorRole::Bias, TensorRole::Activation};
constexpr Granularity kGranularities[] = {Granularity::PerTensor, Granularity::PerChannel};
constexpr Rounding kRoundings[] = {Rounding::HalfToEven, Rounding::HalfAwayFromZero};
constexpr ScaleKind kScaleKinds[] = {ScaleKind::Float32, ScaleKind::PowerOfTwo};
constexpr SymmetricScale kSymmetricScales[] = {SymmetricScale::AmaxOverQmax, SymmetricScale::TwoAmaxOverRange};

// Bits accepted in a record: QScheme's 2..16 for weights/activations, 32 for int32 biases.
constexpr int64_t kMaxRecordBits = 32;

TensorQuant read_tensor(const Reader& r, const FloatJson& j, const std::string& path) {
  r.expect_keys(j, path, {"tensor", "layer", "role", "observer", "scheme", "params", "observed"});
  TensorQuant t;
  t.tensor = r.str(j["tensor"], path + ".tensor");
  t.layer = r.str(j["layer"], path + ".layer");
  t.role = r.enumeration(j["role"], path + ".role", kRoles);
  t.observer = r.str(j["observer"], path + ".observer");

  const std::string sp = path + ".scheme";
  const FloatJson& sj = j["scheme"];
  r.expect_keys(sj, sp,
                {"bits", "signed", "symmetric", "narrow_range", "reduce_range", "granularity", "axis", "qmin", "qmax",
                 "rounding", "scale_kind", "symmetric_scale"});
  QScheme& s = t.scheme;
  s.bits = static_cast<int>(r.integer(sj["bits"], sp + ".bits", 2, kMaxRecordBits));
  s.signedness = r.boolean(sj["signed"], sp + ".signed") ? Signedness::Signed : Signedness::Unsigned;
  s.symmetry = r.boolean(sj["symmetric"], sp + ".symmetric") ? Symmetry::Symmetric : Symmetry::Asymmetric;
  s.narrow_range = r.boolean(sj["narrow_range"], sp + ".narrow_range");
  s.reduce_range = r.boolean(sj["reduce_range"], sp + ".reduce_range");
  s.granularity = r.enumeration(sj["granularity"], sp + ".granularity", kGranularities);
  s.axis = static_cast<int>(r.integer(sj["axis"], sp + ".axis", -1, 64));
  s.rounding = r.enumeration(sj["rounding"], sp + ".rounding", kRoundings);
  s.scale_kind = r.enumeration(sj["scale_kind"], sp + ".scale_kind", kScaleKinds);
  s.symmetric_scale = r.enumeration(sj["symmetric_scale"], sp + ".symmetric_scale", kSymmetricScales);
  QParams& p = t.params;
  p.qmin = static_cast<int32_t>(r.integer(sj["qmin"], sp + ".qmin", INT32_MIN, INT32_MAX));
  p.qmax = static_cast<int32_t>(r.integer(sj["qmax"], sp + ".qmax", INT32_MIN, INT32_MAX));
  if (s.bits <= 16) {
    try {
      s.validate();
    } catch (const Error& e) {
      r.fail(sp, e.what());
    }
    if (p.qmin != s.qmin() || p.qmax != s.qmax())
      r.fail(sp + ".qmin", "grid [" + std::to_string(p.qmin) + ", " + std::to_string(p.qmax) +
                               "] does not match the scheme " + s.describe());
  }

  const std::string pp = path + ".params";
  const FloatJson& pj = j["params"];
  r.expect_keys(pj, pp, {"axis", "rounding", "scale", "scale_bits", "zero_point"});
  p.axis = static_cast<int>(r.integer(pj["axis"], pp + ".axis", -1, 64));
  p.rounding = r.enumeration(pj["rounding"], pp + ".rounding", kRoundings);
  p.scale = r.floats(pj["scale"], pp + ".scale");
  const std::vector<std::string> bits = r.strings(pj["scale_bits"], pp + ".scale_bits");
  if (bits.size() != p.scale.size())
    r.fail(pp + ".scale_bits",
           std::to_string(bits.size()) + " entries for " + std::to_string(p.scale.size()) + " scales");
  for (size_t i = 0; i < bits.size(); ++i) {
    if (bits[i] != float_bits_hex(p.scale[i]))
      r.fail(Reader::index(pp + ".scale_bits", i), "\"" + bits[i] + "\" disagrees with scale " + pj["scale"][i].dump() +
                                                       " (float32 bits " + float_bits_hex(p.scale[i]) +
                                                       "); edit both or neither");
  }
  const FloatJson& zj = pj["zero_point"];
  if (!zj.is_array()) r.fail(pp + ".zero_point", "expected an array of integers");
  for (size_t i = 0; i < zj.size(); ++i)
    p.zero_point.push_back(
        static_cast<int32_t>(r.integer(zj[i], Reader::index(pp + ".zero_point", i), INT32_MIN, INT32_MAX)));
  try {
    p.validate(t.tensor);
  } catch (const Error& e) {
    r.fail(pp, e.what());
  }

  const std::string op = path + ".observed";
  const FloatJson& oj = j["observed"];
  r.expect_keys(oj, op, {"min", "max"});
  t.observed.min = r.floats(oj["min"], op + ".min");
  t.observed.max = r.floats(oj["max"], op + ".max");
  if (t.observed.min.size() != t.observed.max.size())
    r.fail(op + ".max",
           std::to_string(t.observed.max.size()) + " maxima for " + std::to_string(t.observed.min.size()) + " minima");
  return t;
}

}  // namespace

std::string params_json_text(const QuantRecord& rec) {
  const Provenance& pv = rec.provenance;
  FloatJson root;
  root["format"] = kFormatName;
  root["format_version"] = kParamsFormatVersion;
  FloatJson p;
  p["tool_version"] = pv.tool_version;
  p["model_path"] = pv.model_path;
  p["model_sha256"] = pv.model_sha256;
  p["backend"] = pv.backend;
  p["preprocessing"] = pv.preprocessing;
  p["preprocess"] = {{"mean", pv.preprocess.mean},
                     {"std", pv.preprocess.std},
                     {"color", pv.preprocess.color},
                     {"resize", pv.preprocess.resize},
                     {"center_crop", pv.preprocess.center_crop},
                     {"layout", pv.preprocess.layout}};
  p["layout"] = pv.layout;
  p["seed"] = pv.seed;
  p["calib_samples"] = pv.calib_samples;
  p["calib_sha256"] = pv.calib_sha256;
  p["skipped_layers"] = pv.skipped_layers;
  FloatJson lb = FloatJson::object();
  for (const auto& kv : pv.layer_bits) lb[kv.first] = kv.second;
  p["layer_bits"] = lb;
  if (!pv.layer_a_bits.empty()) {
    FloatJson lab = FloatJson::object();
    for (const auto& kv : pv.layer_a_bits) lab[kv.first] = kv.second;
    p["layer_a_bits"] = lab;
  }
  p["command_line"] = pv.command_line;
  p["weight_rounding"] = pv.weight_rounding;
  FloatJson transforms;
  detail::write_transforms(rec, p, transforms);
  root["provenance"] = p;
  FloatJson li = FloatJson::object();
  for (const auto& kv : rec.layer_inputs) li[kv.first] = kv.second;
  root["layer_inputs"] = li;
  FloatJson wc = FloatJson::object();
  for (const auto& kv : rec.weight_codes) wc[kv.first] = kv.second.file;
  root["weight_codes"] = wc;
  for (auto it = transforms.begin(); it != transforms.end(); ++it) root[it.key()] = it.value();
  FloatJson tensors = FloatJson::array();
  for (const TensorQuant& t : rec.tensors) tensors.push_back(tensor_json(t));
  root["tensors"] = tensors;
  return root.dump(2) + "\n";
}

void write_params_json(const QuantRecord& record, const std::string& path) {
  write_file_atomic(path, params_json_text(record));
}

namespace {

// Format and version first: a file of another version is reported as such, not by the first key that
// version added or dropped.
void check_format(const Reader& r, const FloatJson& root) {
  if (!root.is_object()) r.fail("<root>", "expected an object, got " + std::string(root.type_name()));
  if (!root.contains("format")) r.fail("format", "missing");
  if (r.str(root["format"], "format") != kFormatName)
    r.fail("format", "\"" + root["format"].get<std::string>() + "\" is not \"" + kFormatName + "\"");
  if (!root.contains("format_version")) r.fail("format_version", "missing");
  const int64_t version = r.integer(root["format_version"], "format_version", 0, INT32_MAX);
  if (version != kParamsFormatVersion)
    r.fail("format_version", std::to_string(version) + " is not supported (this build reads version " +
                                 std::to_string(kParamsFormatVersion) + ")");
}

// A reconstruction method's name, as the method table spells them ([a-z0-9_-], 1 to 32 characters).
bool is_method_name(const std::string& s) {
  return !s.empty() && s.size() <= 32 && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
  });
}

Provenance read_provenance(const Reader& r, const FloatJson& pj) {
  const auto at = [](const char* key) { return std::string("provenance.") + key; };
  r.expect_keys(
      pj, "provenance",
      {"tool_version", "model_path", "model_sha256", "backend", "preprocessing", "preprocess", "layout", "seed",
       "calib_samples", "calib_sha256", "skipped_layers", "layer_bits", "command_line", "weight_rounding"},
      detail::kTransformProvenanceKeys);
  Provenance pv;
  pv.tool_version = r.str(pj["tool_version"], at("tool_version"));
  pv.model_path = r.str(pj["model_path"], at("model_path"));
  pv.model_sha256 = r.str(pj["model_sha256"], at("model_sha256"));
  pv.backend = r.str(pj["backend"], at("backend"));
  pv.preprocessing = r.str(pj["preprocessing"], at("preprocessing"));
  pv.preprocess = read_preprocess(r, pj["preprocess"]);
  pv.layout = r.str(pj["layout"], at("layout"));
  pv.seed = r.unsigned_integer(pj["seed"], at("seed"));
  pv.calib_samples = r.integer(pj["calib_samples"], at("calib_samples"), 0, INT64_MAX);
  pv.calib_sha256 = r.str(pj["calib_sha256"], at("calib_sha256"));
  pv.skipped_layers = r.strings(pj["skipped_layers"], at("skipped_layers"));
  pv.layer_bits = r.int_map(pj["layer_bits"], at("layer_bits"), 2, 16);
  if (pj.contains("layer_a_bits")) pv.layer_a_bits = r.int_map(pj["layer_a_bits"], at("layer_a_bits"), 2, 16);
  pv.command_line = r.str(pj["command_line"], at("command_line"));
  pv.weight_rounding = r.str(pj["weight_rounding"], at("weight_rounding"));
  if (!is_method_name(pv.weight_rounding))
    r.fail(at("weight_rounding"), "\"" + pv.weight_rounding + "\" is not a method name ([a-z0-9_-], 1 to 32)");
  return pv;
}

// "tensors": one TensorQuant each, no (tensor, role) twice.
std::vector<TensorQuant> read_tensors(const Reader& r, const FloatJson& tj) {
  if (!tj.is_array()) r.fail("tensors", "expected an array");
  std::vector<TensorQuant> tensors;
  std::set<std::pair<std::string, TensorRole>> seen;
  for (size_t i = 0; i < tj.size(); ++i) {
    const std::string path = Reader::index("tensors", i);
    tensors.push_back(read_tensor(r, tj[i], path));
    const TensorQuant& t = tensors.back();
    if (!seen.insert({t.tensor, t.role}).second)
      r.fail(path + ".tensor", "tensor '" + t.tensor + "' appears twice as " + std::string(to_string(t.role)));
  }
  return tensors;
}

}  // namespace

QuantRecord parse_params_json(const std::string& text, const std::string& source_name) {
  FloatJson root;
  try {
    root = FloatJson::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw Error("params file '" + source_name + "': not valid JSON: " + e.what());
  }
  Reader r(source_name);
  check_format(r, root);
  r.set_unknown_key_note("format_version " + std::to_string(kParamsFormatVersion));
  r.expect_keys(root, "", {"format", "format_version", "provenance", "layer_inputs", "weight_codes", "tensors"},
                detail::kTransformRootKeys);
  QuantRecord rec;
  rec.provenance = read_provenance(r, root["provenance"]);
  detail::read_transforms(root["provenance"], root, r, rec);
  for (const auto& [tensor, file] : r.string_map(root["weight_codes"], "weight_codes"))
    rec.weight_codes[tensor].file = file;
  rec.layer_inputs = r.string_map(root["layer_inputs"], "layer_inputs");
  rec.tensors = read_tensors(r, root["tensors"]);
  return rec;
}

QuantRecord read_params_json(const std::string& path) {
  // A regular file of at most kMaxParamsJsonBytes (a FIFO or device is refused, never read forever).
  return parse_params_json(read_file_bounded(path, "params file", kMaxParamsJsonBytes), path);
}

}  // namespace mqcalib
