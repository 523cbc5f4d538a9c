// mqcalib/src/export/report_json.h: report.json (issue 4 "Exports"): the pipeline builds the JSON
// (top-1, per-layer SQNR, outliers, phase times, peak memory); this is the one place it is written.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace mqcalib {

// Pretty-printed (2-space indent) with a trailing newline, written atomically. NaN/Inf numbers, which
// JSON cannot hold, throw mqcalib::Error naming the JSON path (replace them before, e.g. by null).
std::string report_json_text(const nlohmann::json& report);
void write_report_json(const nlohmann::json& report, const std::string& path);

}  // namespace mqcalib
