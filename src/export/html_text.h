// mqcalib/src/export/html_text.h: the text pieces report.html is built from: escaping, numbers,
// table rows. Everything the report shows from the run (tensor names, messages) goes through esc().
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace mqcalib::html {

// &, <, >, " and ' as entities (safe in text and in quoted attributes).
std::string esc(std::string_view s);

// printf-style "%.*f" / "%.*g"; "exact" for +inf (an SQNR with no noise), "-inf", "nan".
std::string fixed(double v, int decimals);
std::string general(double v, int digits = 4);
// A number for a data-v sort key: finite as "%.17g", +inf as "1e308", -inf as "-1e308".
std::string sort_key(double v);
// 1536 -> "1.5 KiB", 3.2e8 -> "305.2 MiB".
std::string bytes(double b);

// <tr> of cells; each cell is (html content, sort key or "" for the text itself).
struct Cell {
  std::string html;
  std::string key;  // data-v attribute (numeric sort); empty: sort by the text
};
std::string row(const std::vector<Cell>& cells);
// <table class="sortable" id=..><thead> of column titles (clickable when sortable) </thead><tbody>..
std::string table(const std::string& id, const std::vector<std::string>& titles, const std::string& body_rows,
                  bool sortable = true);
// <section id=..><h2>title</h2> ... </section>
std::string section(const std::string& id, const std::string& title, const std::string& body);

}  // namespace mqcalib::html
