// mqcalib/src/export/params_json_transforms.cpp: see params_json_transforms.h.
#include "export/params_json_transforms.h"

#include <cmath>
#include <set>

#include "core/error.h"

namespace mqcalib::detail {

namespace {

[[noreturn]] void fail(const std::string& source, const std::string& path, const std::string& what) {
  throw Error("params file '" + source + "': key '" + path + "': " + what);
}

struct Keys {
  const std::string& source;
  void expect(const FloatJson& j, const std::string& path, std::initializer_list<const char*> keys) const {
    if (!j.is_object()) fail(source, path, "expected an object, got " + std::string(j.type_name()));
    std::set<std::string> allowed;
    for (const char* k : keys) {
      allowed.insert(k);
      if (!j.contains(k)) fail(source, path + "." + k, "missing");
    }
    for (auto it = j.begin(); it != j.end(); ++it)
      if (!allowed.count(it.key())) fail(source, path + "." + it.key(), "unknown key");
  }
  std::string str(const FloatJson& j, const std::string& path) const {
    if (!j.is_string()) fail(source, path, "expected a string, got " + std::string(j.type_name()));
    return j.get<std::string>();
  }
  std::string one_of(const FloatJson& j, const std::string& path, std::initializer_list<const char*> values) const {
    const std::string s = str(j, path);
    std::string known;
    for (const char* v : values) {
      if (s == v) return s;
      known += (known.empty() ? "\"" : ", \"") + std::string(v) + "\"";
    }
    fail(source, path, "unknown value \"" + s + "\" (expected one of " + known + ")");
  }
  double number(const FloatJson& j, const std::string& path) const {
    if (!j.is_number()) fail(source, path, "expected a number, got " + j.dump());
    const double v = j.get<double>();
    if (!std::isfinite(v) || v < 0.0) fail(source, path, "expected a finite number >= 0, got " + j.dump());
    return v;
  }
  uint64_t count(const FloatJson& j, const std::string& path) const {
    if (!j.is_number_unsigned()) fail(source, path, "expected a non-negative integer, got " + j.dump());
    return j.get<uint64_t>();
  }
  std::vector<float> floats(const FloatJson& j, const std::string& path) const {
    if (!j.is_array()) fail(source, path, "expected an array of numbers");
    std::vector<float> v;
    for (size_t i = 0; i < j.size(); ++i) {
      if (!j[i].is_number()) fail(source, path + "[" + std::to_string(i) + "]", "expected a number");
      v.push_back(j[i].get<float>());
      if (!std::isfinite(v.back()) || !(v.back() > 0.0f))
        fail(source, path + "[" + std::to_string(i) + "]", "expected a positive finite scale");
    }
    return v;
  }
  // {name: string} objects.
  std::map<std::string, std::string> string_map(const FloatJson& j, const std::string& path) const {
    if (!j.is_object()) fail(source, path, "expected an object {name: string}");
    std::map<std::string, std::string> m;
    for (auto it = j.begin(); it != j.end(); ++it) m[it.key()] = str(it.value(), path + "." + it.key());
    return m;
  }
};

}  // namespace

void write_transforms(const QuantRecord& rec, FloatJson& p, FloatJson& root) {
  const Provenance& pv = rec.provenance;
  FloatJson df;
  df["activation_ranges"] = pv.activation_ranges;
  df["range_sigmas"] = pv.range_sigmas;
  df["synthetic_samples"] = pv.synthetic_samples;
  df["synthesis_seed"] = pv.synthesis_seed;
  df["synthesis_iterations"] = pv.synthesis_iterations;
  p["data_free"] = df;
  FloatJson eq;
  eq["relu6"] = pv.relu6_policy;
  FloatJson pairs = FloatJson::array();
  for (const EqualizationRecord& e : pv.equalization) {
    FloatJson pj;
    pj["first"] = e.first;
    pj["second"] = e.second;
    pj["join"] = e.join;
    pj["scales"] = e.scales;
    pairs.push_back(pj);
  }
  eq["pairs"] = pairs;
  p["equalization"] = eq;
  p["high_bias_sigmas"] = pv.high_bias_sigmas;
  p["bias_correction"] = pv.bias_correction;
  FloatJson fw = FloatJson::object();
  for (const auto& [tensor, f] : rec.float_weights) fw[tensor] = f.file;
  root["float_weights"] = fw;
  FloatJson oc = FloatJson::object();
  for (const auto& [node, op] : rec.op_changes) oc[node] = op;
  root["op_changes"] = oc;
}

void read_transforms(const FloatJson& pj, const FloatJson& root, const std::string& source, QuantRecord& rec) {
  const Keys k{source};
  Provenance& pv = rec.provenance;
  if (pj.contains("data_free")) {
    const FloatJson& d = pj["data_free"];
    const std::string dp = "provenance.data_free";
    k.expect(d, dp,
             {"activation_ranges", "range_sigmas", "synthetic_samples", "synthesis_seed", "synthesis_iterations"});
    pv.activation_ranges = k.one_of(d["activation_ranges"], dp + ".activation_ranges", {"observer", "bn_stats"});
    pv.range_sigmas = k.number(d["range_sigmas"], dp + ".range_sigmas");
    pv.synthetic_samples = static_cast<int64_t>(k.count(d["synthetic_samples"], dp + ".synthetic_samples"));
    pv.synthesis_seed = k.count(d["synthesis_seed"], dp + ".synthesis_seed");
    pv.synthesis_iterations = static_cast<int>(k.count(d["synthesis_iterations"], dp + ".synthesis_iterations"));
  }
  if (pj.contains("equalization")) {
    const FloatJson& e = pj["equalization"];
    const std::string ep = "provenance.equalization";
    k.expect(e, ep, {"relu6", "pairs"});
    pv.relu6_policy = k.one_of(e["relu6"], ep + ".relu6", {"", "relu", "skip"});
    if (!e["pairs"].is_array()) fail(source, ep + ".pairs", "expected an array");
    for (size_t i = 0; i < e["pairs"].size(); ++i) {
      const std::string pp = ep + ".pairs[" + std::to_string(i) + "]";
      const FloatJson& q = e["pairs"][i];
      k.expect(q, pp, {"first", "second", "join", "scales"});
      pv.equalization.push_back({k.str(q["first"], pp + ".first"), k.str(q["second"], pp + ".second"),
                                 k.one_of(q["join"], pp + ".join", {"none", "relu", "relu6"}),
                                 k.floats(q["scales"], pp + ".scales")});
    }
  }
  if (pj.contains("high_bias_sigmas"))
    pv.high_bias_sigmas = k.number(pj["high_bias_sigmas"], "provenance.high_bias_sigmas");
  if (pj.contains("bias_correction"))
    pv.bias_correction =
        k.one_of(pj["bias_correction"], "provenance.bias_correction", {"none", "analytic", "empirical"});
  if (root.contains("float_weights"))
    for (const auto& [tensor, file] : k.string_map(root["float_weights"], "float_weights"))
      rec.float_weights[tensor].file = file;
  if (root.contains("op_changes")) rec.op_changes = k.string_map(root["op_changes"], "op_changes");
}

}  // namespace mqcalib::detail
