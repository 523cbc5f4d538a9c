// mqcalib/src/export/report_json.cpp: see report_json.h.
#include "export/report_json.h"

#include <cmath>

#include "core/error.h"

namespace mqcalib {

namespace {

constexpr double kExactSqnrDb = 999.0;  // how report.json writes an exact (infinite) SQNR

// An SQNR measured on no data (data-free without samples) is NaN: null in report.json.
nlohmann::json db(double v) {
  if (std::isnan(v)) return nullptr;
  return std::isinf(v) && v > 0 ? kExactSqnrDb : v;
}

nlohmann::json transforms_json(const TransformSummary& t) {
  nlohmann::json skipped = nlohmann::json::array();
  for (const auto& [layer, reason] : t.bias_correction_skipped)
    skipped.push_back({{"layer", layer}, {"reason", reason}});
  return {{"activation_ranges", t.activation_ranges},
          {"range_sigmas", t.range_sigmas},
          {"equalized_pairs", t.equalized_pairs},
          {"equalization_sweeps", t.equalization_sweeps},
          {"equalization_last_change", t.equalization_last_change},
          {"relu6_replaced", t.relu6_replaced},
          {"relu6_skipped", t.relu6_skipped},
          {"high_bias_absorbed", t.absorbed},
          {"bias_correction", t.bias_correction},
          {"bias_corrected", t.bias_corrected},
          {"bias_correction_skipped", skipped}};
}

void check_finite(const nlohmann::json& j, const std::string& path) {
  if (j.is_number_float() && !std::isfinite(j.get<double>()))
    throw Error("report.json: value at '" + path + "' is not finite (JSON cannot hold NaN/Inf)");
  if (j.is_object())
    for (auto it = j.begin(); it != j.end(); ++it)
      check_finite(it.value(), path.empty() ? it.key() : path + "." + it.key());
  if (j.is_array())
    for (size_t i = 0; i < j.size(); ++i) check_finite(j[i], path + "[" + std::to_string(i) + "]");
}

nlohmann::json reconstruction_json(const RunReport& r) {
  nlohmann::json units = nlohmann::json::array();
  for (const UnitReport& u : r.reconstruction)
    units.push_back({{"unit", u.unit},
                     {"layers", u.layers},
                     {"bits", u.bits},
                     {"loss_before", u.loss_before},
                     {"loss_after", u.loss_after},
                     {"soft_fraction", u.soft_fraction},
                     {"iterations", u.iterations},
                     {"seconds", u.seconds}});
  return units;
}

nlohmann::json analysis_json(const RunReport& r, nlohmann::json rep) {
  nlohmann::json layers = nlohmann::json::array();
  for (const LayerReport& l : r.layers)
    layers.push_back({{"layer", l.layer},
                      {"w_bits", l.w_bits},
                      {"a_bits", l.a_bits},
                      {"weight_sqnr_db", db(l.weight_sqnr_db)},
                      {"input_sqnr_db", db(l.input_sqnr_db)}});
  rep["layers"] = layers;
  nlohmann::json acts = nlohmann::json::array();
  for (const ActivationReport& a : r.activations)
    acts.push_back({{"tensor", a.tensor},
                    {"sqnr_db", db(a.sqnr_db)},
                    {"observed_min", a.observed_min},
                    {"observed_max", a.observed_max},
                    {"clip_min", a.clip_min},
                    {"clip_max", a.clip_max}});
  rep["activations"] = acts;
  nlohmann::json outl = nlohmann::json::array();
  for (const OutlierFinding& f : r.outliers)
    outl.push_back({{"layer", f.layer},
                    {"tensor", f.tensor},
                    {"kind", f.kind},
                    {"value", f.value},
                    {"explanation", f.explanation},
                    {"advice", f.advice}});
  rep["outliers"] = outl;
  return rep;
}

}  // namespace

nlohmann::json verify_json(const VerifyReport& r) {
  nlohmann::json t = nlohmann::json::array();
  for (const TensorAgreement& a : r.tensors)
    t.push_back({{"tensor", a.tensor}, {"origin", a.origin}, {"elements", a.elements}, {"max_lsb", a.max_lsb},
                 {"frac_differ", a.frac_differ}});
  return {{"backend", r.backend},
          {"requant", r.requant},
          {"samples", r.samples},
          {"sim_top1", r.sim_top1},
          {"int_top1", r.int_top1},
          {"top1_agreement", r.top1_agreement},
          {"first_parting", r.first_parting},
          {"first_over_one_lsb", r.first_over_one_lsb},
          {"float_ops", r.float_ops},
          {"float_output_convs", r.float_output_convs},
          {"tensors", t}};
}

nlohmann::json report_json(const RunReport& r) {
  nlohmann::json rep;
  rep["tool_version"] = r.tool_version;
  rep["model"] = r.model;
  rep["backend"] = r.backend;
  rep["backend_notes"] = r.backend_notes;
  rep["w_observer"] = r.w_observer;
  rep["a_observer"] = r.a_observer;
  rep["calib_samples"] = r.calib_samples;
  rep["seed"] = r.seed;
  rep["folded_bn"] = r.folded_bn;
  rep["method"] = r.method;
  if (r.method != "nearest") {
    nlohmann::json settings = nlohmann::json::object();
    for (const auto& [k, v] : r.method_settings) settings[k] = v;
    for (const auto& [k, v] : r.method_choices) settings[k] = v;
    rep[r.method] = settings;
    rep["reconstruction"] = reconstruction_json(r);
  }
  rep["transforms"] = transforms_json(r.transforms);
  nlohmann::json unf = nlohmann::json::array();
  for (const auto& [bn, reason] : r.unfolded_bn) unf.push_back({{"bn", bn}, {"reason", reason}});
  rep["unfolded_bn"] = unf;
  rep["placement_notes"] = r.placement_notes;
  rep["export_notes"] = r.export_notes;
  if (r.verify) rep["verify"] = verify_json(*r.verify);
  if (r.eval)
    rep["eval"] = {{"samples", r.eval->samples},
                   {"fp_top1", r.eval->fp_top1},
                   {"quant_top1", r.eval->quant_top1},
                   {"drop", r.eval->fp_top1 - r.eval->quant_top1},
                   {"agreement", r.eval->agreement}};
  if (r.eval && r.eval->fp_top1_op_changes) rep["eval"]["fp_top1_op_changes"] = *r.eval->fp_top1_op_changes;
  rep = analysis_json(r, std::move(rep));
  rep = report_sections_json(r, std::move(rep));
  rep["seconds"] = r.seconds;
  rep["peak_memory_bytes"] = r.peak_memory_bytes;
  return rep;
}

std::string report_json_text(const nlohmann::json& report) {
  check_finite(report, "");
  return report.dump(2) + "\n";
}

std::string report_json_text(const RunReport& report) { return report_json_text(report_json(report)); }

}  // namespace mqcalib
