// mqcalib/src/export/svg_chart.h: the charts of report.html, drawn as inline SVG by the engine itself
// (no script, no font, nothing loaded). Each function returns one <svg class="chart ..."> element
// with a <title> saying what it shows; colours are fixed per series (observer_color) so a chart and
// its table agree.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace mqcalib::svg {

enum class Scale { Linear, Log10 };

struct Series {
  std::string name;
  std::string color;
};

struct BarRow {
  std::string label;
  std::vector<double> values;  // one per series; +inf: a full bar labelled "exact"; NaN: no bar
};

// Horizontal bars, one group per row, one bar per series, a legend above. Linear bars start at 0
// (negative values are drawn as empty bars with their number); log bars span [10^floor(min), 10^ceil(max)]
// of the positive values.
std::string hbars(const std::string& title, const std::vector<Series>& series, const std::vector<BarRow>& rows,
                  Scale scale, const std::string& unit);

// A range drawn on a histogram: vertical lines at min and max.
struct Marker {
  std::string name;
  std::string color;
  double min = 0, max = 0;
  bool chosen = false;  // the run's range: solid lines, the clipped-away outside shaded
};

// Bin counts over [lo, hi] on a log scale (log10(1 + count)), with the markers; the x axis spans the
// bins and every marker.
std::string histogram(const std::string& title, const std::vector<int64_t>& counts, double lo, double hi,
                      const std::vector<Marker>& markers);

// One vertical segment [min[c], max[c]] per output channel; the `outliers` in red.
std::string channel_ranges(const std::string& title, const std::vector<float>& min, const std::vector<float>& max,
                           const std::vector<int64_t>& outliers);

// The fixed colour of an observer (minmax, ema, percentile, mse, kl, aciq; others grey).
std::string observer_color(const std::string& name);

}  // namespace mqcalib::svg
