// mqcalib/src/pipeline/report_detail.h: the data report.html draws beyond the analysis (part of the
// analyse stage, issue 16):
//
//   histograms      every planned activation over the first kDetailSamples calibration samples, as
//                   the run's observer saw it (weights quantized, activations FP: the simulation's
//                   graph without its activation hook), kHistogramBins equal bins over its observed
//                   [min, max]; beside it the range each registered observer would choose on those
//                   samples (finalize with the point's scheme; percentile and mse keep at most
//                   kDetailExactLimit exact values each, then their fine histograms, so the report's
//                   memory stays small) and the range the run kept (all calibration samples)
//   channel ranges  every planned weight's per-output-channel [min, max] of the folded FP weight,
//                   with the outlier channels of pipeline/outliers.h (outlier_channels)
//   logits SQNR     the simulated model's output against the FP model's on the first samples
#pragma once

#include <cstdint>
#include <vector>

#include "export/run_report.h"
#include "graph/weight_stats.h"
#include "pipeline/observe.h"
#include "pipeline/quant_plan.h"
#include "pipeline/quant_state.h"
#include "pipeline/sample_store.h"
#include "pipeline/simulation.h"

namespace mqcalib {

constexpr int kHistogramBins = 64;
constexpr int64_t kDetailSamples = 256;
constexpr int64_t kDetailExactLimit = int64_t{1} << 16;

struct ReportDetail {
  std::vector<ActivationHistogram> histograms;  // plan.activations order
  std::vector<ChannelRanges> channel_ranges;    // plan.weights order
};

// `sim` is the run's simulation (its graph: quantized weights); `state` is aligned with `plan`.
ReportDetail report_detail(const Simulation& sim, const QuantPlan& plan, const QuantState& state,
                           const SampleStore& calib, const std::vector<WeightStats>& weight_stats,
                           const ObserverChoice& a_observer);

// Bin counts of `n` values over [lo, hi] in `bins` equal bins (values outside go to the end bins; a
// value equal to hi to the last bin; lo == hi puts everything in bin 0). Adds to `counts`.
void histogram_f32(const float* x, int64_t n, float lo, float hi, std::vector<int64_t>& counts);

// SQNR (dB) of the simulation's output against `fp`'s on the first `samples` calibration samples.
double logits_sqnr_db(const Graph& fp, const Simulation& sim, const SampleStore& calib, int64_t samples);

}  // namespace mqcalib
