// mqcalib/src/export/report_html_sections.cpp: report.html's per-activation, per-weight and analysis
// sections (structure: report_html.h).
#include <algorithm>
#include <cmath>
#include <map>

#include "export/html_text.h"
#include "export/report_html.h"
#include "export/svg_chart.h"

namespace mqcalib::html {

namespace {

// Fraction of the observed |x| max the range keeps.
double kept(double lo, double hi, double omin, double omax) {
  const double a = std::max(std::fabs(omin), std::fabs(omax));
  return a > 0 ? std::max(std::fabs(lo), std::fabs(hi)) / a : 1.0;
}

std::string activation_card(const ActivationHistogram& h, size_t i) {
  std::vector<svg::Marker> markers;
  std::string rows;
  rows += row({{"<b>" + esc(h.observer) + " (this run)</b>", ""},
               {general(h.clip_min, 4), sort_key(h.clip_min)},
               {general(h.clip_max, 4), sort_key(h.clip_max)},
               {fixed(100 * kept(h.clip_min, h.clip_max, h.lo, h.hi), 0) + "%", ""}});
  for (const ObserverRange& a : h.alternatives) {
    markers.push_back({a.observer, svg::observer_color(a.observer), a.min, a.max, false});
    rows += row({{"<span class=\"swatch\" style=\"background:" + svg::observer_color(a.observer) + "\"></span>" +
                      esc(a.observer),
                  ""},
                 {general(a.min, 4), sort_key(a.min)},
                 {general(a.max, 4), sort_key(a.max)},
                 {fixed(100 * kept(a.min, a.max, h.lo, h.hi), 0) + "%", ""}});
  }
  markers.push_back({h.observer, "#000", h.clip_min, h.clip_max, true});
  return "<div class=\"card activation\"><h3>" + esc(h.tensor) + "</h3>\n" +
         svg::histogram(h.tensor + ": histogram over " + std::to_string(h.samples) + " samples", h.counts, h.lo, h.hi,
                        markers) +
         table("obs-" + std::to_string(i), {"observer", "min", "max", "kept of |x| max"}, rows, false) + "</div>\n";
}

}  // namespace

std::string activations_section(const RunReport& r) {
  if (r.histograms.empty()) return "";
  std::string body =
      "<p class=\"hint\">Counts on a log scale over the observed range of the first " +
      std::to_string(r.histograms.front().samples) +
      " calibration samples (weights quantized, activations FP, as the observer saw them). Solid black: the range "
      "this run kept (all calibration samples; outside shaded); dashed: the range each observer would choose on "
      "these samples.</p>\n<div class=\"grid\">\n";
  for (size_t i = 0; i < r.histograms.size(); ++i) body += activation_card(r.histograms[i], i);
  return section("activations", "Activation ranges", body + "</div>\n");
}

std::string weights_section(const RunReport& r) {
  if (r.channel_ranges.empty()) return "";
  std::map<std::string, std::vector<const OutlierFinding*>> findings;
  for (const OutlierFinding& f : r.outliers) findings[f.layer].push_back(&f);
  std::string body =
      "<p class=\"hint\">Each output channel's [min, max] of the folded FP weight; red: channels whose range is "
      "above 4x the median channel's (a per-tensor grid gives the others under a quarter of its levels).</p>\n";
  for (const ChannelRanges& c : r.channel_ranges) {
    std::string side;
    const auto f = findings.find(c.layer);
    if (f != findings.end())
      for (const OutlierFinding* x : f->second)
        side += "<div class=\"finding\"><b>" + esc(x->kind) + "</b> (" + general(x->value, 4) +
                "): " + esc(x->explanation) + "<div class=\"advice\">advice: " + esc(x->advice) + "</div></div>\n";
    if (side.empty()) side = "<p class=\"ok\">no finding</p>";
    std::string channels;
    for (size_t k = 0; k < c.outlier_channels.size() && k < 16; ++k)
      channels += (k ? ", " : "") + std::to_string(c.outlier_channels[k]);
    if (c.outlier_channels.size() > 16) channels += ", ...";
    body += "<div class=\"card weight cols\"><div><h3>" + esc(c.layer) + "</h3><p class=\"small\">" +
            std::to_string(c.min.size()) + " channels, " + (c.per_channel ? "per-channel" : "per-tensor") + " weights" +
            (channels.empty() ? "" : "; outlier channels: " + channels) + "</p>\n" +
            svg::channel_ranges(c.layer + ": per-channel weight ranges", c.min, c.max, c.outlier_channels) +
            "</div><div class=\"side\">" + side + "</div></div>\n";
  }
  return section("weights", "Weight ranges per channel", body);
}

std::string reconstruction_section(const RunReport& r) {
  if (r.reconstruction.empty()) return "";
  std::string rows;
  std::vector<svg::BarRow> bars;
  for (const UnitReport& u : r.reconstruction) {
    std::string layers;
    for (const std::string& l : u.layers) layers += (layers.empty() ? "" : ", ") + l;
    rows += row({{esc(u.unit), ""},
                 {esc(layers), ""},
                 {std::to_string(u.bits), std::to_string(u.bits)},
                 {general(u.loss_before, 4), sort_key(u.loss_before)},
                 {general(u.loss_after, 4), sort_key(u.loss_after)},
                 {fixed(100 * u.soft_fraction, 1) + "%", sort_key(u.soft_fraction)},
                 {std::to_string(u.iterations), std::to_string(u.iterations)},
                 {fixed(u.seconds, 2), sort_key(u.seconds)}});
    bars.push_back({u.unit, {u.loss_before, u.loss_after}});
  }
  return section("reconstruction", "Reconstruction loss per unit (" + r.method + ")",
                 table("recon-table",
                       {"unit", "layers", "bits", "loss before", "loss after", "soft", "iterations", "seconds"}, rows) +
                     svg::hbars("reconstruction loss per unit (log scale)",
                                {{"round to nearest", "#999999"}, {r.method, "#2ca02c"}}, bars, svg::Scale::Log10, ""));
}

std::string sensitivity_section(const RunReport& r) {
  if (!r.sensitivity) return "";
  const SensitivityReport& s = *r.sensitivity;
  const bool evaluated = s.fp_top1.has_value();
  std::vector<std::string> titles = {"rank",   s.granularity,    "layers", "w bits",
                                     "a bits", "logits SQNR dB", "NSR",    "KL (nats)"};
  if (evaluated) titles.insert(titles.end(), {"top-1 %", "drop"});
  std::string rows;
  std::vector<svg::BarRow> bars;
  for (size_t i = 0; i < s.rows.size(); ++i) {
    const SensitivityRow& x = s.rows[i];
    std::string layers;
    for (const std::string& l : x.layers) layers += (layers.empty() ? "" : ", ") + l;
    std::vector<Cell> c = {{std::to_string(i + 1), std::to_string(i + 1)},
                           {esc(x.unit), ""},
                           {esc(layers), ""},
                           {std::to_string(x.w_bits), std::to_string(x.w_bits)},
                           {std::to_string(x.a_bits), std::to_string(x.a_bits)},
                           {fixed(x.sqnr_db, 1), sort_key(x.sqnr_db)},
                           {general(x.nsr, 3), sort_key(x.nsr)},
                           {general(x.kl, 3), sort_key(x.kl)}};
    if (evaluated && x.top1) {
      c.push_back({fixed(*x.top1, 2), sort_key(*x.top1)});
      c.push_back({fixed(*s.fp_top1 - *x.top1, 2), sort_key(*s.fp_top1 - *x.top1)});
    }
    rows += row(c);
    bars.push_back(
        {x.unit + " W" + std::to_string(x.w_bits) + "A" + std::to_string(x.a_bits), {s.metric == "kl" ? x.kl : x.nsr}});
  }
  std::string head = "<p>Each " + esc(s.granularity) +
                     " quantized alone, the rest FP32; logits compared with the FP "
                     "model's on " +
                     std::to_string(s.samples) + " calibration samples. Ranked by " + esc(s.metric) +
                     ", most sensitive first.";
  if (evaluated)
    head += " Top-1 on " + std::to_string(s.eval_samples) + " evaluation samples (FP32 " + fixed(*s.fp_top1, 2) + "%).";
  if (s.spearman)
    head += " Spearman rank correlation of " + esc(s.metric) + " with the top-1 drop: <b>" + fixed(*s.spearman, 3) +
            "</b>.";
  return section("sensitivity", "Sensitivity",
                 head + "</p>\n" + table("sensitivity-table", titles, rows) +
                     svg::hbars("sensitivity (" + s.metric + ", log scale)", {{s.metric, "#d62728"}}, bars,
                                svg::Scale::Log10, ""));
}

std::string allocation_section(const RunReport& r) {
  if (!r.bit_allocation) return "";
  const BitAllocationReport& a = *r.bit_allocation;
  auto list = [](const std::vector<int>& v) {
    std::string s;
    for (int b : v) s += (s.empty() ? "" : ", ") + std::to_string(b);
    return "{" + s + "}";
  };
  std::string head =
      "<table class=\"kv\" id=\"allocation-summary\">" + std::string("<tr><th>budget</th><td>") + esc(a.budget) +
      " = " + std::to_string(a.budget_bits) + " weight bits</td></tr><tr><th>used</th><td>" +
      std::to_string(a.used_bits) + " bits (" + bytes(static_cast<double>(a.used_bits) / 8) + "), " +
      fixed(a.average_w_bits, 3) + " bits per weight on average</td></tr><tr><th>choices</th><td>weights " +
      list(a.w_bits_set) + ", activations " + list(a.a_bits_set) + "</td></tr><tr><th>summed sensitivity</th><td>" +
      general(a.objective, 4) + "</td></tr><tr><th>solver</th><td>" + esc(a.solver) + "</td></tr></table>\n";
  std::string rows;
  std::vector<svg::BarRow> bars;
  for (const LayerBits& l : a.layers) {
    rows += row({{esc(l.layer), ""},
                 {std::to_string(l.params), std::to_string(l.params)},
                 {std::to_string(l.w_bits), std::to_string(l.w_bits)},
                 {std::to_string(l.a_bits), std::to_string(l.a_bits)},
                 {l.fixed ? "fixed" : "chosen", ""},
                 {general(l.sensitivity, 3), sort_key(l.sensitivity)}});
    bars.push_back({l.layer, {static_cast<double>(l.w_bits)}});
  }
  return section("allocation", "Mixed-precision bit allocation",
                 head +
                     table("allocation-table", {"layer", "weights", "w bits", "a bits", "how", "sensitivity"}, rows) +
                     svg::hbars("weight bits per layer", {{"w bits", "#4a6f96"}}, bars, svg::Scale::Linear, ""));
}

std::string outlier_fix_section(const RunReport& r) {
  if (!r.outlier_fix) return "";
  const OutlierFixReport& f = *r.outlier_fix;
  std::string rows;
  for (const OutlierAction& a : f.actions) {
    std::string kinds;
    for (const std::string& k : a.kinds) kinds += (kinds.empty() ? "" : ", ") + k;
    rows += row({{esc(a.layer), ""}, {esc(kinds), ""}, {esc(a.action), ""}});
  }
  std::string head = "<table class=\"kv\" id=\"fix-summary\"><tr><th>logits SQNR</th><td>" +
                     fixed(f.logits_sqnr_before_db, 2) + " dB before, " + fixed(f.logits_sqnr_after_db, 2) +
                     " dB after</td></tr>";
  if (f.evaluated)
    head += "<tr><th>quantized top-1</th><td>" + fixed(f.top1_before, 2) + "% before, <b>" + fixed(f.top1_after, 2) +
            "%</b> after (gain " + fixed(f.top1_after - f.top1_before, 2) + ")</td></tr>";
  head += "</table>\n<p class=\"hint\">The rest of this report shows the run after the fix.</p>\n";
  return section("outlier-fix", "Outlier fix (--fix-outliers)",
                 head + table("fix-table", {"layer", "findings", "action"}, rows));
}

}  // namespace mqcalib::html
