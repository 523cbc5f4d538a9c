// mqcalib/src/api/sensitivity_api.cpp: mqcalib::sensitivity() (include/mqcalib/sensitivity.h) and the
// mapping of issue 16's quantize options and results (api/options.h).
#include <sys/resource.h>

#include "api/options.h"
#include "api/thread_scope.h"
#include "core/error.h"
#include "core/parallel.h"
#include "export/atomic_file.h"
#include "export/report_html.h"
#include "export/report_json.h"
#include "mqcalib/sensitivity.h"

namespace mqcalib {

void apply_diagnose_options(const QuantizeOptions& o, PipelineConfig& c) {
  c.mixed.budget = o.bits_budget;
  c.mixed.w_bits_set = o.bits_set;
  c.mixed.a_bits_set = o.a_bits_set;
  c.mixed.a_bits_average = o.a_bits_budget;
  c.mixed.metric = parse_sensitivity_metric(o.sensitivity_metric);
  c.mixed.samples = o.sensitivity_samples;
  c.sensitivity.enabled = o.sensitivity;
  c.sensitivity.metric = c.mixed.metric;
  c.sensitivity.samples = o.sensitivity_samples;
  c.fix_outliers = o.fix_outliers;
}

void add_diagnose_results(const RunReport& r, QuantizeResult& q) {
  if (r.bit_allocation) {
    for (const LayerBits& l : r.bit_allocation->layers)
      q.bit_allocation.push_back({l.layer, l.w_bits, l.a_bits, l.fixed, l.sensitivity});
    q.average_w_bits = r.bit_allocation->average_w_bits;
  }
  if (r.outlier_fix) {
    OutlierFixSummary f;
    for (const OutlierAction& a : r.outlier_fix->actions) f.actions.emplace_back(a.layer, a.action);
    f.evaluated = r.outlier_fix->evaluated;
    f.top1_before = r.outlier_fix->top1_before;
    f.top1_after = r.outlier_fix->top1_after;
    f.logits_sqnr_before_db = r.outlier_fix->logits_sqnr_before_db;
    f.logits_sqnr_after_db = r.outlier_fix->logits_sqnr_after_db;
    q.outlier_fix = f;
  }
}

namespace {

std::vector<BitOption> bit_options(const SensitivityOptions& o, int backend_a_bits) {
  std::vector<BitOption> out;
  if (o.w_bits.empty() && o.a_bits.empty()) return out;  // the plan's
  if (o.w_bits.empty()) throw Error("sensitivity: --a-bits-set needs --w-bits-set");
  const std::vector<int> as = o.a_bits.empty() ? std::vector<int>{backend_a_bits} : o.a_bits;
  for (int w : o.w_bits)
    for (int a : as) {
      if (w < 2 || w > 16 || a < 2 || a > 16)
        throw Error("sensitivity: bits W" + std::to_string(w) + "A" + std::to_string(a) + " outside 2..16");
      out.push_back({w, a});
    }
  return out;
}

SensitivitySummary summary_of(const SensitivityReport& s) {
  SensitivitySummary out;
  out.metric = s.metric;
  out.samples = s.samples;
  out.fp_top1 = s.fp_top1;
  out.eval_samples = s.eval_samples;
  out.spearman = s.spearman;
  for (const SensitivityRow& r : s.rows)
    out.rows.push_back({r.unit, r.layers, r.w_bits, r.a_bits, r.nsr, r.sqnr_db, r.kl, r.top1});
  return out;
}

}  // namespace

SensitivitySummary sensitivity(const SensitivityOptions& o) {
  const ThreadScope threads(o.run.threads);
  if (!o.run.out_dir.empty()) throw Error("sensitivity writes --json / --html files, not an output folder");
  PipelineConfig c = to_config(o.run);
  c.sensitivity.enabled = true;
  c.sensitivity.unit = parse_sensitivity_unit(o.unit);
  c.sensitivity.metric = parse_sensitivity_metric(o.metric);
  c.sensitivity.samples = o.samples;
  c.sensitivity.options = bit_options(o, c.backend.activation.bits);
  c.sensitivity.evaluate = c.eval.has_value();
  c.mixed.budget.clear();
  c.fix_outliers = false;
  QuantizationPipeline p(std::move(c));
  p.load();
  p.read_samples();
  p.plan();
  p.sensitivity();
  RunReport r = p.report();
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  r.peak_memory_bytes = static_cast<int64_t>(ru.ru_maxrss) * 1024;
  SensitivitySummary out = summary_of(*r.sensitivity);
  if (!o.json_path.empty()) {
    nlohmann::json j = {{"tool_version", r.tool_version},
                        {"model", r.model},
                        {"backend", r.backend},
                        {"w_observer", r.w_observer},
                        {"a_observer", r.a_observer},
                        {"calib_samples", r.calib_samples},
                        {"seed", r.seed}};
    write_file_atomic(o.json_path, report_json_text(report_sections_json(r, j)));
    out.files.push_back(o.json_path);
  }
  if (!o.html_path.empty()) {
    write_file_atomic(o.html_path, report_html(r));
    out.files.push_back(o.html_path);
  }
  return out;
}

}  // namespace mqcalib
