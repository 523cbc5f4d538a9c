// mqcalib/src/export/report_html.cpp: report.html's document, summary, per-layer table and SQNR bars
// (the other sections: report_html_sections.cpp). Structure: report_html.h.
#include "export/report_html.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "export/html_text.h"
#include "export/svg_chart.h"

namespace mqcalib {

namespace {

using html::Cell;
using html::esc;

std::string bits_text(const RunReport& r, bool weights) {
  std::set<int> b;
  for (const LayerReport& l : r.layers) b.insert(weights ? l.w_bits : l.a_bits);
  if (b.empty()) return "-";
  std::string s;
  for (int x : b) s += (s.empty() ? "" : ", ") + std::to_string(x);
  return b.size() > 1 ? "mixed: " + s : s;
}

std::string kv(const std::string& k, const std::string& v_html) {
  return "<tr><th>" + esc(k) + "</th><td>" + v_html + "</td></tr>\n";
}

std::string summary(const RunReport& r) {
  std::string t = "<table class=\"kv\" id=\"summary-table\">\n";
  t += kv("model", esc(r.model));
  t += kv("backend", esc(r.backend));
  t += kv("weight bits", esc(bits_text(r, true)));
  t += kv("activation bits", esc(bits_text(r, false)));
  std::string method = esc(r.method);
  for (const auto& [k, v] : r.method_settings) method += " &middot; " + esc(k) + " " + html::general(v, 6);
  t += kv("method", method);
  t += kv("observers", "weights " + esc(r.w_observer) + ", activations " + esc(r.a_observer));
  t += kv("calibration samples", std::to_string(r.calib_samples) + " (seed " + std::to_string(r.seed) + ")");
  t += kv("BN folded", std::to_string(r.folded_bn));
  if (r.eval) {
    t += kv("FP32 top-1", html::fixed(r.eval->fp_top1, 2) + "%");
    t += kv("quantized top-1", "<b id=\"quant-top1\">" + html::fixed(r.eval->quant_top1, 2) + "%</b> (drop " +
                                   html::fixed(r.eval->fp_top1 - r.eval->quant_top1, 2) + ")");
    t += kv("agreement", html::fixed(r.eval->agreement, 2) + "% of " + std::to_string(r.eval->samples) + " samples");
  } else {
    t += kv("top-1", "not evaluated (no --eval)");
  }
  t += kv("peak memory", html::bytes(static_cast<double>(r.peak_memory_bytes)));
  const auto total = r.seconds.find("total");
  if (total != r.seconds.end()) t += kv("wall time", html::fixed(total->second, 2) + " s");
  t += "</table>\n";
  std::vector<svg::BarRow> phases;
  std::string rows;
  for (const auto& [phase, s] : r.seconds) {
    if (phase == "total") continue;
    phases.push_back({phase, {s}});
    rows += html::row({{esc(phase), ""}, {html::fixed(s, 3), html::sort_key(s)}});
  }
  std::string notes;
  for (const std::string& n : r.backend_notes) notes += "<li>" + esc(n) + "</li>";
  for (const std::string& n : r.placement_notes) notes += "<li>" + esc(n) + "</li>";
  for (const std::string& n : r.export_notes) notes += "<li>" + esc(n) + "</li>";
  std::string body = "<div class=\"cols\"><div>" + t + "</div><div><h3>Time per phase</h3>" +
                     html::table("phase-table", {"phase", "seconds"}, rows) +
                     svg::hbars("seconds per phase", {{"seconds", "#4a6f96"}}, phases, svg::Scale::Linear, " s") +
                     "</div></div>\n";
  if (!notes.empty())
    body += "<details><summary>Notes (" + esc(r.backend) + ", placement, export)</summary><ul>" + notes +
            "</ul></details>\n";
  return html::section("summary", "Run summary", body);
}

const SensitivityRow* sensitivity_of(const RunReport& r, const LayerReport& l) {
  if (!r.sensitivity) return nullptr;
  for (const SensitivityRow& s : r.sensitivity->rows)
    if (s.layers.size() == 1 && s.layers[0] == l.layer && s.w_bits == l.w_bits && s.a_bits == l.a_bits) return &s;
  return nullptr;
}

std::string layer_table(const RunReport& r) {
  std::map<std::string, std::string> kinds;
  for (const OutlierFinding& f : r.outliers)
    if (!f.layer.empty()) kinds[f.layer] += (kinds[f.layer].empty() ? "" : ", ") + f.kind;
  std::map<std::string, size_t> outlier_channels;
  for (const ChannelRanges& c : r.channel_ranges) outlier_channels[c.layer] = c.outlier_channels.size();
  std::map<std::string, const UnitReport*> unit_of;
  for (const UnitReport& u : r.reconstruction)
    for (const std::string& l : u.layers) unit_of[l] = &u;
  const bool sens = r.sensitivity.has_value(), recon = !r.reconstruction.empty();
  std::vector<std::string> titles = {
      "#", "layer", "w bits", "a bits", "weight SQNR dB", "input SQNR dB", "findings", "outlier channels"};
  if (sens) titles.push_back("sensitivity (" + r.sensitivity->metric + ")");
  if (recon) titles.insert(titles.end(), {"loss before", "loss after"});
  std::string rows;
  for (size_t i = 0; i < r.layers.size(); ++i) {
    const LayerReport& l = r.layers[i];
    const auto oc = outlier_channels.find(l.layer);
    std::vector<Cell> c = {
        {std::to_string(i), std::to_string(i)},
        {esc(l.layer), ""},
        {std::to_string(l.w_bits), std::to_string(l.w_bits)},
        {std::to_string(l.a_bits), std::to_string(l.a_bits)},
        {html::fixed(l.weight_sqnr_db, 1), html::sort_key(l.weight_sqnr_db)},
        {html::fixed(l.input_sqnr_db, 1), html::sort_key(l.input_sqnr_db)},
        {esc(kinds[l.layer]), ""},
        oc == outlier_channels.end() ? Cell{"-", "-1"} : Cell{std::to_string(oc->second), std::to_string(oc->second)}};
    if (sens) {
      const SensitivityRow* s = sensitivity_of(r, l);
      const double v = s ? (r.sensitivity->metric == "kl" ? s->kl : s->nsr) : NAN;
      c.push_back(s ? Cell{html::general(v, 3), html::sort_key(v)} : Cell{"-", "-1"});
    }
    if (recon) {
      const auto u = unit_of.find(l.layer);
      if (u == unit_of.end()) {
        c.push_back({"-", "-1"});
        c.push_back({"-", "-1"});
      } else {
        c.push_back({html::general(u->second->loss_before, 4), html::sort_key(u->second->loss_before)});
        c.push_back({html::general(u->second->loss_after, 4), html::sort_key(u->second->loss_after)});
      }
    }
    rows += html::row(c);
  }
  return html::section("layers", "Layers",
                       "<p class=\"hint\">Click a column title to sort. SQNR: quantized against FP on the calibration "
                       "data; input SQNR through the whole simulation.</p>\n" +
                           html::table("layer-table", titles, rows));
}

std::string sqnr_section(const RunReport& r) {
  std::vector<svg::BarRow> rows;
  for (const LayerReport& l : r.layers) rows.push_back({l.layer, {l.weight_sqnr_db, l.input_sqnr_db}});
  std::vector<svg::BarRow> acts;
  for (const ActivationReport& a : r.activations) acts.push_back({a.tensor, {a.sqnr_db}});
  return html::section(
      "sqnr", "SQNR per layer",
      svg::hbars("weight and input SQNR per layer (dB)", {{"weight", "#4a6f96"}, {"input", "#e08a2c"}}, rows,
                 svg::Scale::Linear, " dB") +
          "<h3>Every quantized activation</h3>\n" +
          svg::hbars("activation SQNR (dB)", {{"activation", "#e08a2c"}}, acts, svg::Scale::Linear, " dB"));
}

std::string outliers_table(const RunReport& r) {
  if (r.outliers.empty()) return "";
  std::string rows;
  for (const OutlierFinding& f : r.outliers)
    rows += html::row({{esc(f.layer), ""},
                       {esc(f.tensor), ""},
                       {esc(f.kind), ""},
                       {html::general(f.value, 4), html::sort_key(f.value)},
                       {esc(f.explanation), ""},
                       {esc(f.advice), ""}});
  return html::section(
      "outliers", "Outlier findings",
      html::table("outlier-table", {"layer", "tensor", "kind", "value", "explanation", "advice"}, rows));
}

std::string nav(const RunReport& r) {
  std::vector<std::pair<std::string, std::string>> items = {
      {"summary", "summary"}, {"layers", "layers"}, {"sqnr", "SQNR"}};
  if (!r.histograms.empty()) items.emplace_back("activations", "activations");
  if (!r.channel_ranges.empty()) items.emplace_back("weights", "weights");
  if (!r.outliers.empty()) items.emplace_back("outliers", "findings");
  if (!r.reconstruction.empty()) items.emplace_back("reconstruction", "reconstruction");
  if (r.sensitivity) items.emplace_back("sensitivity", "sensitivity");
  if (r.bit_allocation) items.emplace_back("allocation", "bit allocation");
  if (r.outlier_fix) items.emplace_back("outlier-fix", "outlier fix");
  std::string o = "<nav>";
  for (const auto& [id, name] : items) o += "<a href=\"#" + id + "\">" + esc(name) + "</a>";
  return o + "</nav>\n";
}

}  // namespace

std::string report_html(const RunReport& r) {
  std::string o =
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; "
      "script-src 'unsafe-inline'; img-src data:\">\n"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>mqcalib report: " +
      esc(r.model) + " on " + esc(r.backend) + "</title>\n<style>\n" + html::report_css() +
      "</style>\n</head>\n<body>\n<header><h1>mqcalib report</h1><p>" + esc(r.model) + " &middot; " + esc(r.backend) +
      " &middot; mqcalib " + esc(r.tool_version) + "</p></header>\n";
  o += nav(r);
  o += "<main>\n" + summary(r) + layer_table(r) + sqnr_section(r) + html::activations_section(r) +
       html::weights_section(r) + outliers_table(r) + html::reconstruction_section(r) + html::sensitivity_section(r) +
       html::allocation_section(r) + html::outlier_fix_section(r) + html::verify_section(r) + "</main>\n";
  o += "<script>\n" + std::string(html::report_script()) + "</script>\n</body>\n</html>\n";
  return o;
}

}  // namespace mqcalib
