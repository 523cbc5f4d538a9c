// mqcalib/src/export/report_html_verify.cpp: report.html's verify section, read from report.json's
// "verify" object (report_json.h: the simulation against the integer executor), so the page shows the
// block whenever the run report carries one, in the schema the JSON writer defines.
#include <nlohmann/json.hpp>

#include "export/html_text.h"
#include "export/report_html.h"
#include "export/report_json.h"

namespace mqcalib::html {

namespace {

std::string scalar(const nlohmann::json& v) {
  if (v.is_string()) return esc(v.get<std::string>().empty() ? "(none)" : v.get<std::string>());
  if (v.is_number_integer()) return std::to_string(v.get<int64_t>());
  if (v.is_number()) return general(v.get<double>(), 6);
  if (v.is_boolean()) return v.get<bool>() ? "yes" : "no";
  if (v.is_array()) {
    std::string s;
    for (const auto& x : v) s += (s.empty() ? "" : ", ") + (x.is_string() ? esc(x.get<std::string>()) : esc(x.dump()));
    return s.empty() ? "(none)" : s;
  }
  return esc(v.dump());
}

// An array of flat objects as a sortable table (columns from the first object's keys).
std::string object_table(const std::string& id, const nlohmann::json& arr) {
  if (!arr.is_array() || arr.empty() || !arr.front().is_object()) return "";
  std::vector<std::string> titles;
  for (auto it = arr.front().begin(); it != arr.front().end(); ++it) titles.push_back(it.key());
  std::string rows;
  for (const auto& o : arr) {
    std::vector<Cell> c;
    for (const std::string& k : titles) {
      const nlohmann::json& v = o.contains(k) ? o.at(k) : nlohmann::json();
      c.push_back({scalar(v), v.is_number() ? sort_key(v.get<double>()) : ""});
    }
    rows += row(c);
  }
  return table(id, titles, rows);
}

}  // namespace

std::string verify_section(const RunReport& r) {
  const nlohmann::json j = report_json(r);
  return j.contains("verify") ? verify_block(j.at("verify")) : "";
}

std::string verify_block(const nlohmann::json& v) {
  if (!v.is_object()) return "";
  std::string kvs = "<table class=\"kv\" id=\"verify-summary\">";
  std::string tables;
  for (auto it = v.begin(); it != v.end(); ++it) {
    if (it.value().is_array() && !it.value().empty() && it.value().front().is_object())
      tables += "<h3>" + esc(it.key()) + "</h3>\n" + object_table("verify-" + it.key(), it.value());
    else
      kvs += "<tr><th>" + esc(it.key()) + "</th><td>" + scalar(it.value()) + "</td></tr>";
  }
  return section("verify", "Verify: simulation against the integer executor", kvs + "</table>\n" + tables);
}

}  // namespace mqcalib::html
