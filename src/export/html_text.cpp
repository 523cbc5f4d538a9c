// mqcalib/src/export/html_text.cpp: see html_text.h.
#include "export/html_text.h"

#include <cmath>
#include <cstdio>

namespace mqcalib::html {

std::string esc(std::string_view s) {
  std::string o;
  o.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&':
        o += "&amp;";
        break;
      case '<':
        o += "&lt;";
        break;
      case '>':
        o += "&gt;";
        break;
      case '"':
        o += "&quot;";
        break;
      case '\'':
        o += "&#39;";
        break;
      default:
        o += c;
    }
  }
  return o;
}

namespace {

std::string non_finite(double v) {
  if (std::isnan(v)) return "nan";
  return v > 0 ? "exact" : "-inf";
}

}  // namespace

std::string fixed(double v, int decimals) {
  if (!std::isfinite(v)) return non_finite(v);
  char b[64];
  std::snprintf(b, sizeof b, "%.*f", decimals, v);
  return b;
}

std::string general(double v, int digits) {
  if (!std::isfinite(v)) return non_finite(v);
  char b[64];
  std::snprintf(b, sizeof b, "%.*g", digits, v);
  return b;
}

std::string sort_key(double v) {
  if (std::isnan(v)) return "0";
  if (std::isinf(v)) return v > 0 ? "1e308" : "-1e308";
  char b[64];
  std::snprintf(b, sizeof b, "%.17g", v);
  return b;
}

std::string bytes(double b) {
  static const char* kUnits[] = {"B", "KiB", "MiB", "GiB"};
  int u = 0;
  while (b >= 1024.0 && u < 3) {
    b /= 1024.0;
    ++u;
  }
  return fixed(b, u == 0 ? 0 : 1) + " " + kUnits[u];
}

std::string row(const std::vector<Cell>& cells) {
  std::string o = "<tr>";
  for (const Cell& c : cells) o += (c.key.empty() ? "<td>" : "<td data-v=\"" + c.key + "\">") + c.html + "</td>";
  return o + "</tr>\n";
}

std::string table(const std::string& id, const std::vector<std::string>& titles, const std::string& body_rows,
                  bool sortable) {
  std::string o = "<table id=\"" + esc(id) + "\"" + (sortable ? " class=\"sortable\"" : "") + "><thead><tr>";
  for (const std::string& t : titles) o += "<th>" + esc(t) + "</th>";
  return o + "</tr></thead><tbody>\n" + body_rows + "</tbody></table>\n";
}

std::string section(const std::string& id, const std::string& title, const std::string& body) {
  return "<section id=\"" + esc(id) + "\"><h2>" + esc(title) + "</h2>\n" + body + "</section>\n";
}

}  // namespace mqcalib::html
