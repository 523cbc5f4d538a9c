// A RunReport with every section of report.html filled (tests/export: the HTML writer's unit test, the
// browser test's writer). Numbers are arbitrary but consistent; one layer name is hostile HTML.
#pragma once

#include <cmath>
#include <limits>
#include <string>

#include "export/run_report.h"

namespace mqcalib::testing {

inline const std::string kHostileLayer = "evil<script>alert(1)</script>&\"x\"";

inline void add_sensitivity_and_allocation(RunReport& r, const char* const* layers) {
  SensitivityReport s;
  s.granularity = "layer";
  s.samples = 256;
  s.metric = "nsr";
  s.fp_top1 = 93.2;
  s.eval_samples = 10000;
  s.spearman = 0.83;
  for (int i = 0; i < 4; ++i)
    s.rows.push_back(
        {layers[i], {layers[i]}, 2, 8, 0.3 / (i + 1), 10 * std::log10((i + 1) / 0.3), 0.1 / (i + 1), 90.0 + i});
  r.sensitivity = s;
  BitAllocationReport a;
  a.budget = "3";
  a.budget_bits = 810000;
  a.used_bits = 809000;
  a.average_w_bits = 2.996;
  a.w_bits_set = {2, 4, 8};
  a.a_bits_set = {8};
  a.objective = 0.0123;
  a.solver = "exact: dynamic programming";
  for (int i = 0; i < 4; ++i)
    a.layers.push_back({layers[i], 1000 * (i + 1), i == 0 ? 8 : 2 + 2 * (i % 2), 8, i == 0, 0.001 * i});
  r.bit_allocation = a;
}

inline RunReport full_run_report() {
  RunReport r;
  r.tool_version = "0.1.0";
  r.model = "examples/zoo/resnet20.pt";
  r.backend = "snpe";
  r.backend_notes = {"per-tensor weights"};
  r.w_observer = "minmax";
  r.a_observer = "kl";
  r.calib_samples = 1024;
  r.method = "adaround";
  r.method_settings = {{"iters", 2000}, {"lambda", 0.01}};
  r.placement_notes = {"layer1.0.add + layer1.0.relu_1: fused"};
  r.eval = EvalReport{10000, 93.2, 92.5, 97.9, std::nullopt};
  const char* layers[] = {"conv1", "layer1.0.conv1", "layer1.0.conv2", "fc"};
  for (int i = 0; i < 4; ++i)
    r.layers.push_back(
        {layers[i], i == 3 ? 8 : 3, 8, 10.0 + 7.0 * i, i == 0 ? std::numeric_limits<double>::infinity() : 30.0 - i});
  r.layers.push_back({kHostileLayer, 4, 8, 21.5, 25.0});
  for (int i = 0; i < 3; ++i) {
    ActivationHistogram h;
    h.tensor = i == 0 ? "input" : "layer1.0.relu_" + std::to_string(i);
    h.samples = 256;
    h.lo = i == 0 ? -0.81f : 0.0f;
    h.hi = 2.0f + static_cast<float>(i);
    for (int b = 0; b < 64; ++b)
      h.counts.push_back(b % 7 == 3 ? 0 : static_cast<int64_t>(100000.0 * std::exp(-0.1 * b)));
    h.observer = i == 0 ? "minmax" : "kl";
    h.clip_min = h.lo;
    h.clip_max = h.hi * 0.7f;
    for (const char* o : {"aciq", "ema", "kl", "minmax", "mse", "percentile"})
      h.alternatives.push_back({o, h.lo, h.hi * (0.5f + 0.08f * static_cast<float>(h.alternatives.size()))});
    r.histograms.push_back(h);
    r.activations.push_back({h.tensor, 35.0 - 5 * i, h.lo, h.hi, h.clip_min, h.clip_max});
  }
  for (int i = 0; i < 4; ++i) {
    ChannelRanges c;
    c.layer = layers[i];
    for (int ch = 0; ch < 16; ++ch) {
      const float s = (i == 1 && ch == 5) ? 50.0f : 1.0f;
      c.min.push_back(-0.3f * s * (1.0f + 0.05f * static_cast<float>(ch)));
      c.max.push_back(0.35f * s);
    }
    if (i == 1) c.outlier_channels = {5};
    r.channel_ranges.push_back(c);
  }
  r.outliers.push_back({"layer1.0.conv1", "layer1.0.conv1.weight", "channel_range_spread", 50.0,
                        "the widest output channel's range is 50.0x the median channel's",
                        "per-tensor weights lose the narrow channels: keep this layer at 8 bits or fp32"});
  r.outliers.push_back({kHostileLayer, kHostileLayer + ".weight", "weight_max_over_std", 25.0, "<b>far</b> tail", "x"});
  r.reconstruction.push_back({"layer1.0.conv1", {"layer1.0.conv1"}, 3, 0.05, 0.012, 0.0, 2000, 1.5});
  r.reconstruction.push_back({"fc", {"fc"}, 8, 0.002, 0.0019, 0.01, 2000, 0.2});
  add_sensitivity_and_allocation(r, layers);
  OutlierFixReport f;
  f.actions = {{"layer1.0.conv1", {"channel_range_spread"}, "fp32"},
               {"fc", {"weight_max_over_std"}, "none: per-channel"}};
  f.evaluated = true;
  f.top1_before = 92.1;
  f.top1_after = 93.0;
  f.logits_sqnr_before_db = 18.5;
  f.logits_sqnr_after_db = 24.0;
  r.outlier_fix = f;
  r.seconds = {{"load", 0.5}, {"observe_activations", 1.25}, {"reconstruct", 30.0}, {"eval", 4.0}, {"total", 36.0}};
  r.peak_memory_bytes = 384 << 20;
  return r;
}

}  // namespace mqcalib::testing
