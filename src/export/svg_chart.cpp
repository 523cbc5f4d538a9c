// mqcalib/src/export/svg_chart.cpp: see svg_chart.h.
#include "export/svg_chart.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>

#include "export/html_text.h"

namespace mqcalib::svg {

namespace {

std::string num(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.1f", v);
  return b;
}

std::string open_svg(const std::string& cls, double w, double h, const std::string& title) {
  return "<svg class=\"chart " + cls + "\" xmlns=\"http://www.w3.org/2000/svg\" width=\"" + num(w) + "\" height=\"" +
         num(h) + "\" viewBox=\"0 0 " + num(w) + " " + num(h) + "\" role=\"img\"><title>" + html::esc(title) +
         "</title>\n";
}

std::string text(double x, double y, const std::string& s, const std::string& anchor = "start",
                 const std::string& cls = "") {
  return "<text x=\"" + num(x) + "\" y=\"" + num(y) + "\" text-anchor=\"" + anchor + "\"" +
         (cls.empty() ? "" : " class=\"" + cls + "\"") + ">" + html::esc(s) + "</text>\n";
}

std::string rect(double x, double y, double w, double h, const std::string& fill, const std::string& extra = "") {
  return "<rect x=\"" + num(x) + "\" y=\"" + num(y) + "\" width=\"" + num(std::max(0.0, w)) + "\" height=\"" +
         num(std::max(0.0, h)) + "\" fill=\"" + fill + "\"" + extra + "/>\n";
}

std::string vline(double x, double y0, double y1, const std::string& color, bool dashed, double width = 1.5) {
  return "<line x1=\"" + num(x) + "\" y1=\"" + num(y0) + "\" x2=\"" + num(x) + "\" y2=\"" + num(y1) + "\" stroke=\"" +
         color + "\" stroke-width=\"" + num(width) + "\"" + (dashed ? " stroke-dasharray=\"4 3\"" : "") + "/>\n";
}

// Bar fraction of the axis for v (0..1), the axis as given.
struct Axis {
  Scale scale = Scale::Linear;
  double lo = 0, hi = 1;
  double frac(double v) const {
    if (std::isinf(v) && v > 0) return 1.0;
    if (!std::isfinite(v)) return 0.0;
    if (scale == Scale::Log10) {
      if (v <= 0) return 0.0;
      return std::clamp((std::log10(v) - lo) / (hi - lo), 0.0, 1.0);
    }
    return std::clamp((v - lo) / (hi - lo), 0.0, 1.0);
  }
};

Axis bar_axis(const std::vector<BarRow>& rows, Scale scale) {
  Axis a;
  a.scale = scale;
  double mn = INFINITY, mx = -INFINITY;
  for (const BarRow& r : rows)
    for (double v : r.values)
      if (std::isfinite(v) && (scale == Scale::Linear || v > 0)) {
        mn = std::min(mn, v);
        mx = std::max(mx, v);
      }
  if (scale == Scale::Linear) {
    a.lo = 0;
    a.hi = mx > 0 ? mx : 1;
  } else if (std::isfinite(mn)) {
    a.lo = std::floor(std::log10(mn));
    a.hi = std::max(a.lo + 1, std::ceil(std::log10(mx)));
  }
  return a;
}

}  // namespace

std::string observer_color(const std::string& name) {
  static const std::map<std::string, std::string> kColors = {{"minmax", "#1f77b4"},     {"ema", "#8c564b"},
                                                             {"percentile", "#2ca02c"}, {"mse", "#9467bd"},
                                                             {"kl", "#d62728"},         {"aciq", "#ff7f0e"}};
  const auto it = kColors.find(name);
  return it == kColors.end() ? "#7f7f7f" : it->second;
}

std::string hbars(const std::string& title, const std::vector<Series>& series, const std::vector<BarRow>& rows,
                  Scale scale, const std::string& unit) {
  const double label_w = 230, bar_w = 400, value_w = 90, bar_h = 9, legend_h = 22;
  const double group_h = bar_h * static_cast<double>(std::max<size_t>(1, series.size())) + 5;
  const double w = label_w + bar_w + value_w, h = legend_h + group_h * static_cast<double>(rows.size()) + 18;
  const Axis axis = bar_axis(rows, scale);
  std::string o = open_svg("bars", w, h, title);
  double lx = label_w;
  for (const Series& s : series) {
    o += rect(lx, 6, 10, 10, s.color);
    o += text(lx + 14, 15, s.name);
    lx += 24 + 7.0 * static_cast<double>(s.name.size());
  }
  for (size_t i = 0; i < rows.size(); ++i) {
    const double y = legend_h + group_h * static_cast<double>(i);
    o += text(label_w - 6, y + group_h / 2 + 3, rows[i].label, "end");
    for (size_t k = 0; k < series.size() && k < rows[i].values.size(); ++k) {
      const double v = rows[i].values[k];
      if (std::isnan(v)) continue;
      const double len = bar_w * axis.frac(v), by = y + bar_h * static_cast<double>(k);
      o += rect(label_w, by, len, bar_h - 1, series[k].color, " class=\"bar\"");
      o += text(label_w + len + 4, by + bar_h - 1.5, html::general(v, 3) + (std::isfinite(v) ? unit : ""), "start",
                "small");
    }
  }
  const double ay = h - 4;
  const std::string lo = scale == Scale::Log10 ? "1e" + html::fixed(axis.lo, 0) : html::general(axis.lo);
  const std::string hi = scale == Scale::Log10 ? "1e" + html::fixed(axis.hi, 0) : html::general(axis.hi, 3);
  o += text(label_w, ay, lo + unit, "start", "small axis");
  o += text(label_w + bar_w, ay, hi + unit, "end", "small axis");
  return o + "</svg>\n";
}

std::string histogram(const std::string& title, const std::vector<int64_t>& counts, double lo, double hi,
                      const std::vector<Marker>& markers) {
  const double w = 420, h = 150, ml = 8, mr = 8, mt = 8, mb = 22, pw = w - ml - mr, ph = h - mt - mb;
  double xmin = lo, xmax = hi;
  for (const Marker& m : markers) {
    xmin = std::min(xmin, m.min);
    xmax = std::max(xmax, m.max);
  }
  if (!(xmax > xmin)) xmax = xmin + 1;
  auto x_of = [&](double v) { return ml + pw * (v - xmin) / (xmax - xmin); };
  int64_t cmax = 1;
  for (int64_t c : counts) cmax = std::max(cmax, c);
  const double lmax = std::log10(1.0 + static_cast<double>(cmax));
  std::string o = open_svg("histogram", w, h, title);
  o += rect(ml, mt, pw, ph, "#fafafa", " stroke=\"#ddd\"");
  const double bw = counts.empty() ? 0 : (x_of(hi) - x_of(lo)) / static_cast<double>(counts.size());
  for (size_t i = 0; i < counts.size(); ++i) {
    if (counts[i] == 0) continue;
    const double bh = ph * std::log10(1.0 + static_cast<double>(counts[i])) / lmax;
    o += rect(x_of(lo) + bw * static_cast<double>(i), mt + ph - bh, std::max(0.8, bw - 0.3), bh, "#6b8fb5",
              " class=\"bin\"");
  }
  for (const Marker& m : markers) {
    if (!m.chosen) continue;
    o += rect(ml, mt, x_of(m.min) - ml, ph, "#000", " fill-opacity=\"0.12\"");
    o += rect(x_of(m.max), mt, ml + pw - x_of(m.max), ph, "#000", " fill-opacity=\"0.12\"");
  }
  for (const Marker& m : markers) {
    o += vline(x_of(m.min), mt, mt + ph, m.chosen ? "#000" : m.color, !m.chosen, m.chosen ? 2.0 : 1.5);
    o += vline(x_of(m.max), mt, mt + ph, m.chosen ? "#000" : m.color, !m.chosen, m.chosen ? 2.0 : 1.5);
  }
  o += text(ml, h - 6, html::general(xmin, 3), "start", "small axis");
  o += text(ml + pw, h - 6, html::general(xmax, 3), "end", "small axis");
  if (xmin < 0 && xmax > 0) o += text(x_of(0), h - 6, "0", "middle", "small axis");
  return o + "</svg>\n";
}

std::string channel_ranges(const std::string& title, const std::vector<float>& min, const std::vector<float>& max,
                           const std::vector<int64_t>& outliers) {
  const size_t n = std::min(min.size(), max.size());
  const double w = 640, h = 120, ml = 8, mr = 8, mt = 8, mb = 16, pw = w - ml - mr, ph = h - mt - mb;
  double a = 0;
  for (size_t c = 0; c < n; ++c)
    a = std::max({a, std::fabs(static_cast<double>(min[c])), std::fabs(static_cast<double>(max[c]))});
  if (!(a > 0)) a = 1;
  auto y_of = [&](double v) { return mt + ph * (0.5 - 0.5 * v / a); };
  const double step = n ? pw / static_cast<double>(n) : pw;
  const double sw = std::max(0.6, std::min(6.0, step * 0.7));
  std::vector<bool> is_out(n, false);
  for (int64_t c : outliers)
    if (c >= 0 && static_cast<size_t>(c) < n) is_out[static_cast<size_t>(c)] = true;
  std::string normal, marked;
  for (size_t c = 0; c < n; ++c) {
    const double x = ml + step * (static_cast<double>(c) + 0.5);
    std::string& p = is_out[c] ? marked : normal;
    p += "M" + num(x) + " " + num(y_of(max[c])) + "V" + num(y_of(min[c]) + 0.5);
  }
  std::string o = open_svg("channels", w, h, title);
  o += rect(ml, mt, pw, ph, "#fafafa", " stroke=\"#ddd\"");
  o += "<line x1=\"" + num(ml) + "\" y1=\"" + num(y_of(0)) + "\" x2=\"" + num(ml + pw) + "\" y2=\"" + num(y_of(0)) +
       "\" stroke=\"#bbb\"/>\n";
  if (!normal.empty())
    o += "<path class=\"channel\" d=\"" + normal + "\" stroke=\"#4a6f96\" stroke-width=\"" + num(sw) + "\"/>\n";
  if (!marked.empty())
    o += "<path class=\"outlier\" d=\"" + marked + "\" stroke=\"#d62728\" stroke-width=\"" + num(std::max(sw, 1.5)) +
         "\"/>\n";
  o += text(ml, h - 3, "channel 0", "start", "small axis");
  o += text(ml + pw, h - 3, "channel " + std::to_string(n ? n - 1 : 0) + "  (y: \u00b1" + html::general(a, 3) + ")",
            "end", "small axis");
  return o + "</svg>\n";
}

}  // namespace mqcalib::svg
