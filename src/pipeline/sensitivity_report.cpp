// mqcalib/src/pipeline/sensitivity_report.cpp: the sensitivity stage's names, ranking and rank
// correlation (sensitivity.h); the measurement is in sensitivity.cpp.
#include <algorithm>
#include <cmath>
#include <numeric>

#include "core/error.h"
#include "pipeline/sensitivity.h"

namespace mqcalib {

SensitivityUnit parse_sensitivity_unit(const std::string& s) {
  if (s == "layer") return SensitivityUnit::Layer;
  if (s == "block") return SensitivityUnit::Block;
  throw Error("--unit '" + s + "': expected layer or block");
}

std::string to_string(SensitivityUnit u) { return u == SensitivityUnit::Layer ? "layer" : "block"; }

SensitivityMetric parse_sensitivity_metric(const std::string& s) {
  if (s == "nsr") return SensitivityMetric::Nsr;
  if (s == "kl") return SensitivityMetric::Kl;
  throw Error("--metric '" + s + "': expected nsr or kl");
}

std::string to_string(SensitivityMetric m) { return m == SensitivityMetric::Nsr ? "nsr" : "kl"; }

double metric_of(const SensitivityRow& r, SensitivityMetric m) { return m == SensitivityMetric::Nsr ? r.nsr : r.kl; }

namespace {

std::vector<double> average_ranks(const std::vector<double>& v) {
  std::vector<size_t> idx(v.size());
  std::iota(idx.begin(), idx.end(), 0);
  std::stable_sort(idx.begin(), idx.end(), [&](size_t a, size_t b) { return v[a] < v[b]; });
  std::vector<double> rank(v.size());
  for (size_t i = 0; i < idx.size();) {
    size_t j = i;
    while (j + 1 < idx.size() && v[idx[j + 1]] == v[idx[i]]) ++j;
    const double r = 0.5 * static_cast<double>(i + j) + 1.0;
    for (size_t k = i; k <= j; ++k) rank[idx[k]] = r;
    i = j + 1;
  }
  return rank;
}

}  // namespace

double spearman_rank_correlation(const std::vector<double>& x, const std::vector<double>& y) {
  if (x.size() != y.size() || x.size() < 2)
    throw Error("spearman: needs two series of the same length >= 2, got " + std::to_string(x.size()) + " and " +
                std::to_string(y.size()));
  const std::vector<double> rx = average_ranks(x), ry = average_ranks(y);
  const double n = static_cast<double>(x.size()), mean = (n + 1.0) / 2.0;
  double sxy = 0, sxx = 0, syy = 0;
  for (size_t i = 0; i < rx.size(); ++i) {
    sxy += (rx[i] - mean) * (ry[i] - mean);
    sxx += (rx[i] - mean) * (rx[i] - mean);
    syy += (ry[i] - mean) * (ry[i] - mean);
  }
  return sxx > 0 && syy > 0 ? sxy / std::sqrt(sxx * syy) : 0.0;
}

SensitivityReport sensitivity_report(SensitivityResult result, SensitivityUnit unit, SensitivityMetric metric) {
  SensitivityReport r;
  r.granularity = to_string(unit);
  r.samples = result.samples;
  r.metric = to_string(metric);
  r.fp_top1 = result.fp_top1;
  r.eval_samples = result.eval_samples;
  r.rows = std::move(result.rows);
  std::stable_sort(r.rows.begin(), r.rows.end(), [metric](const SensitivityRow& a, const SensitivityRow& b) {
    return metric_of(a, metric) > metric_of(b, metric);
  });
  const bool all_evaluated =
      r.fp_top1 && r.rows.size() >= 2 &&
      std::all_of(r.rows.begin(), r.rows.end(), [](const SensitivityRow& s) { return s.top1.has_value(); });
  if (all_evaluated) {
    std::vector<double> m, drop;
    for (const SensitivityRow& s : r.rows) {
      m.push_back(metric_of(s, metric));
      drop.push_back(*r.fp_top1 - *s.top1);
    }
    r.spearman = spearman_rank_correlation(m, drop);
  }
  return r;
}

}  // namespace mqcalib
