// mqcalib/src/export/report_json_sections.cpp: report.json's keys for issue 16's sections (schema in
// report_json.h): "sensitivity", "bit_allocation", "outlier_fix" when the run has them. The
// histograms and channel ranges are report.html's only (report_html.h).
#include <cmath>

#include "export/report_json.h"

namespace mqcalib {

namespace {

constexpr double kExactSqnrDb = 999.0;  // as report_json.cpp writes an exact (infinite) SQNR

double db(double v) { return std::isinf(v) && v > 0 ? kExactSqnrDb : v; }

nlohmann::json sensitivity_json(const SensitivityReport& s) {
  nlohmann::json rows = nlohmann::json::array();
  for (const SensitivityRow& r : s.rows) {
    nlohmann::json j = {{"unit", r.unit}, {"layers", r.layers},       {"w_bits", r.w_bits}, {"a_bits", r.a_bits},
                        {"nsr", r.nsr},   {"sqnr_db", db(r.sqnr_db)}, {"kl", r.kl}};
    if (r.top1) j["top1"] = *r.top1;
    rows.push_back(j);
  }
  nlohmann::json j = {{"granularity", s.granularity}, {"samples", s.samples}, {"metric", s.metric}, {"rows", rows}};
  if (s.fp_top1) {
    j["fp_top1"] = *s.fp_top1;
    j["eval_samples"] = s.eval_samples;
  }
  if (s.spearman) j["spearman_metric_vs_top1_drop"] = *s.spearman;
  return j;
}

nlohmann::json allocation_json(const BitAllocationReport& a) {
  nlohmann::json layers = nlohmann::json::array();
  for (const LayerBits& l : a.layers)
    layers.push_back({{"layer", l.layer},
                      {"params", l.params},
                      {"w_bits", l.w_bits},
                      {"a_bits", l.a_bits},
                      {"fixed", l.fixed},
                      {"sensitivity", l.sensitivity}});
  return {{"budget", a.budget},
          {"budget_bits", a.budget_bits},
          {"used_bits", a.used_bits},
          {"average_w_bits", a.average_w_bits},
          {"w_bits_set", a.w_bits_set},
          {"a_bits_set", a.a_bits_set},
          {"objective", a.objective},
          {"solver", a.solver},
          {"layers", layers}};
}

nlohmann::json outlier_fix_json(const OutlierFixReport& f) {
  nlohmann::json acts = nlohmann::json::array();
  for (const OutlierAction& a : f.actions)
    acts.push_back({{"layer", a.layer}, {"kinds", a.kinds}, {"action", a.action}});
  nlohmann::json j = {{"actions", acts},
                      {"logits_sqnr_before_db", db(f.logits_sqnr_before_db)},
                      {"logits_sqnr_after_db", db(f.logits_sqnr_after_db)}};
  if (f.evaluated) {
    j["top1_before"] = f.top1_before;
    j["top1_after"] = f.top1_after;
  }
  return j;
}

}  // namespace

nlohmann::json report_sections_json(const RunReport& r, nlohmann::json rep) {
  if (r.sensitivity) rep["sensitivity"] = sensitivity_json(*r.sensitivity);
  if (r.bit_allocation) rep["bit_allocation"] = allocation_json(*r.bit_allocation);
  if (r.outlier_fix) rep["outlier_fix"] = outlier_fix_json(*r.outlier_fix);
  return rep;
}

}  // namespace mqcalib
