// mqcalib/src/export/params_json_transforms.cpp: see params_json_transforms.h.
#include "export/params_json_transforms.h"

namespace mqcalib::detail {

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

void read_transforms(const FloatJson& pj, const FloatJson& root, const StrictJsonReader& k, QuantRecord& rec) {
  Provenance& pv = rec.provenance;
  if (pj.contains("data_free")) {
    const FloatJson& d = pj["data_free"];
    const std::string dp = "provenance.data_free";
    k.expect_keys(d, dp,
                  {"activation_ranges", "range_sigmas", "synthetic_samples", "synthesis_seed", "synthesis_iterations"});
    pv.activation_ranges = k.one_of(d["activation_ranges"], dp + ".activation_ranges", {"observer", "bn_stats"});
    pv.range_sigmas = k.non_negative(d["range_sigmas"], dp + ".range_sigmas");
    pv.synthetic_samples = static_cast<int64_t>(k.unsigned_integer(d["synthetic_samples"], dp + ".synthetic_samples"));
    pv.synthesis_seed = k.unsigned_integer(d["synthesis_seed"], dp + ".synthesis_seed");
    pv.synthesis_iterations =
        static_cast<int>(k.unsigned_integer(d["synthesis_iterations"], dp + ".synthesis_iterations"));
  }
  if (pj.contains("equalization")) {
    const FloatJson& e = pj["equalization"];
    const std::string ep = "provenance.equalization";
    k.expect_keys(e, ep, {"relu6", "pairs"});
    pv.relu6_policy = k.one_of(e["relu6"], ep + ".relu6", {"", "relu", "skip"});
    if (!e["pairs"].is_array()) k.fail(ep + ".pairs", "expected an array");
    for (size_t i = 0; i < e["pairs"].size(); ++i) {
      const std::string pp = ep + ".pairs[" + std::to_string(i) + "]";
      const FloatJson& q = e["pairs"][i];
      k.expect_keys(q, pp, {"first", "second", "join", "scales"});
      pv.equalization.push_back({k.str(q["first"], pp + ".first"), k.str(q["second"], pp + ".second"),
                                 k.one_of(q["join"], pp + ".join", {"none", "relu", "relu6"}),
                                 k.floats(q["scales"], pp + ".scales", /*positive=*/true)});
    }
  }
  if (pj.contains("high_bias_sigmas"))
    pv.high_bias_sigmas = k.non_negative(pj["high_bias_sigmas"], "provenance.high_bias_sigmas");
  if (pj.contains("bias_correction"))
    pv.bias_correction =
        k.one_of(pj["bias_correction"], "provenance.bias_correction", {"none", "analytic", "empirical"});
  if (root.contains("float_weights"))
    for (const auto& [tensor, file] : k.string_map(root["float_weights"], "float_weights"))
      rec.float_weights[tensor].file = file;
  if (root.contains("op_changes")) rec.op_changes = k.string_map(root["op_changes"], "op_changes");
}

}  // namespace mqcalib::detail
