// report.html (export/report_html.h) from the full fixture: every section and table, nothing loaded
// from outside, names escaped, the charts' geometry; the verify block in deploy's report.json schema.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "export/report_html.h"
#include "export/svg_chart.h"
#include "report_fixture.h"

using namespace mqcalib;
using namespace mqcalib::testing;

namespace {

size_t count(const std::string& s, const std::string& what) {
  size_t n = 0;
  for (size_t p = s.find(what); p != std::string::npos; p = s.find(what, p + what.size())) ++n;
  return n;
}

// The text of the <section id="id"> ... </section>.
std::string section_of(const std::string& html, const std::string& id) {
  const size_t b = html.find("<section id=\"" + id + "\">");
  if (b == std::string::npos) return "";
  return html.substr(b, html.find("</section>", b) - b);
}

// Every "http://..." or "https://..." in s, up to the first quote, space or '<' (std::regex is avoided:
// gcc 12's <regex> trips -Wmaybe-uninitialized under the sanitizer build).
std::vector<std::string> addresses_in(const std::string& s) {
  std::vector<std::string> out;
  for (size_t p = s.find("http"); p != std::string::npos; p = s.find("http", p + 4)) {
    const size_t scheme = s.compare(p, 7, "http://") == 0 ? 7 : s.compare(p, 8, "https://") == 0 ? 8 : 0;
    if (scheme == 0) continue;
    out.push_back(s.substr(p, s.find_first_of("\"' <", p + scheme) - p));
  }
  return out;
}

// The width of every `width="W" height="H" fill="<fill>" class="bar"` rect in an SVG chart.
std::vector<double> bar_widths(const std::string& svg, const std::string& fill) {
  std::vector<double> out;
  const std::string tail = "\" fill=\"" + fill + "\" class=\"bar\"";
  for (size_t p = svg.find(tail); p != std::string::npos; p = svg.find(tail, p + tail.size())) {
    const size_t w = svg.rfind("width=\"", p);
    if (w == std::string::npos || svg.compare(svg.find('"', w + 7) + 1, 9, " height=\"") != 0) continue;
    out.push_back(std::stod(svg.substr(w + 7)));
  }
  return out;
}

}  // namespace

TEST_CASE("report_html: every section of a full run, each table sortable, the script at the end") {
  const std::string h = report_html(full_run_report());
  for (const char* id : {"summary", "layers", "sqnr", "activations", "weights", "outliers", "reconstruction",
                         "sensitivity", "allocation", "outlier-fix"}) {
    CAPTURE(id);
    CHECK_FALSE(section_of(h, id).empty());
  }
  CHECK(section_of(h, "verify").empty());  // no verify block in this run
  for (const char* t : {"layer-table", "outlier-table", "recon-table", "sensitivity-table", "allocation-table",
                        "fix-table", "phase-table"})
    CHECK(h.find("<table id=\"" + std::string(t) + "\" class=\"sortable\">") != std::string::npos);
  CHECK(count(h, "<section") == count(h, "</section>"));
  CHECK(count(h, "<svg") == count(h, "</svg>"));
  CHECK(count(h, "<table") == count(h, "</table>"));
  CHECK(h.rfind("<script>") > h.rfind("</main>"));
  CHECK(h.find("92.50%") != std::string::npos);  // quantized top-1 in the summary
  CHECK(h.find("Spearman") != std::string::npos);
}

TEST_CASE("report_html: self-contained: no address but the SVG namespace, a CSP that forbids loading") {
  const std::string h = report_html(full_run_report());
  for (const std::string& url : addresses_in(h)) CHECK(url == "http://www.w3.org/2000/svg");
  CHECK(h.find("default-src 'none'") != std::string::npos);
  for (const char* bad : {"<link", " src=", "@import", "url(", "<iframe", "<img"})
    CHECK(h.find(bad) == std::string::npos);
}

TEST_CASE("report_html: names from the run are escaped") {
  const std::string h = report_html(full_run_report());
  CHECK(h.find(kHostileLayer) == std::string::npos);
  CHECK(h.find("evil&lt;script&gt;alert(1)&lt;/script&gt;&amp;&quot;x&quot;") != std::string::npos);
  CHECK(count(h, "<script>") == 1);
  CHECK(h.find("<b>far</b>") == std::string::npos);
}

TEST_CASE("report_html: charts carry the data: two SQNR bars per layer, one per non-empty bin, outliers") {
  const RunReport r = full_run_report();
  const std::string h = report_html(r);
  const std::string sq = section_of(h, "sqnr");
  CHECK(count(sq, "class=\"bar\"") == 2 * r.layers.size() + r.activations.size());
  const std::string act = section_of(h, "activations");
  size_t bins = 0;
  for (const ActivationHistogram& a : r.histograms)
    for (int64_t c : a.counts) bins += c > 0;
  CHECK(count(act, "class=\"bin\"") == bins);
  CHECK(count(act, "stroke-dasharray") == 2 * 6 * r.histograms.size());  // every alternative's min and max
  const std::string w = section_of(h, "weights");
  CHECK(count(w, "class=\"outlier\"") == 1);
  CHECK(w.find("outlier channels: 5") != std::string::npos);
  CHECK(w.find("advice: per-tensor weights lose") != std::string::npos);
  // Exact SQNR (conv1's input) shows as "exact", sorted as the largest number.
  CHECK(h.find("<td data-v=\"1e308\">exact</td>") != std::string::npos);
}

TEST_CASE("report_html: an empty run still makes a page, without the optional sections") {
  RunReport r;
  r.model = "m.pt";
  r.backend = "tensorrt";
  r.method = "nearest";
  const std::string h = report_html(r);
  CHECK_FALSE(section_of(h, "summary").empty());
  for (const char* id :
       {"activations", "weights", "outliers", "reconstruction", "sensitivity", "allocation", "outlier-fix", "verify"})
    CHECK(section_of(h, id).empty());
  CHECK(h.find("not evaluated") != std::string::npos);
}

TEST_CASE("svg::hbars: bar lengths proportional on a linear axis, exact as a full bar") {
  const std::string s =
      svg::hbars("t", {{"a", "#000"}}, {{"x", {10.0}}, {"y", {5.0}}, {"z", {INFINITY}}}, svg::Scale::Linear, " dB");
  const std::vector<double> widths = bar_widths(s, "#000");
  REQUIRE(widths.size() == 3);
  CHECK(widths[0] == doctest::Approx(400.0));
  CHECK(widths[1] == doctest::Approx(200.0));
  CHECK(widths[2] == doctest::Approx(400.0));
  CHECK(s.find(">exact</text>") != std::string::npos);
}

TEST_CASE("verify_block: report.json's verify object as a summary and a tensor table") {
  const nlohmann::json v = {
      {"backend", "ort"},
      {"requant", "float-multiplier"},
      {"samples", 256},
      {"sim_top1", 92.5},
      {"int_top1", 92.4},
      {"top1_agreement", 99.6},
      {"first_parting", "layer1.0.add"},
      {"first_over_one_lsb", ""},
      {"float_ops", nlohmann::json::array()},
      {"float_output_convs", {"fc<1>"}},
      {"tensors",
       {{{"tensor", "input"}, {"origin", "planned"}, {"elements", 1000}, {"max_lsb", 0.0}, {"frac_differ", 0.0}},
        {{"tensor", "layer1.0.add"},
         {"origin", "planned"},
         {"elements", 900},
         {"max_lsb", 1.0},
         {"frac_differ", 0.01}}}}};
  const std::string h = html::verify_block(v);
  CHECK(h.find("<section id=\"verify\">") != std::string::npos);
  CHECK(h.find("<table id=\"verify-tensors\" class=\"sortable\">") != std::string::npos);
  CHECK(h.find("<td>layer1.0.add</td>") != std::string::npos);
  CHECK(h.find("<th>first_over_one_lsb</th><td>(none)</td>") != std::string::npos);
  CHECK(h.find("fc&lt;1&gt;") != std::string::npos);
  CHECK(h.find("<td data-v=\"0.01\">0.01</td>") != std::string::npos);
  CHECK(html::verify_block(nlohmann::json()).empty());
}
