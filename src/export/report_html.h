// mqcalib/src/export/report_html.h: report.html, one self-contained page per run (issue 16): inline
// CSS and SVG, a small inline script for sorting tables, nothing loaded from anywhere (a
// Content-Security-Policy of default-src 'none' says so to the browser). It writes a RunReport
// (run_report.h, report_sections.h); the page's structure is defined here and nowhere else:
//
//   section id          shows                                                  when
//   summary             model, backend, bits, method, observers, FP / quantized   always
//                       top-1, agreement, calibration samples, time per phase
//                       (table and bars), peak memory
//   layers              table "layer-table" (sortable): bits, weight / input      always
//                       SQNR, findings, outlier channels, sensitivity, losses
//   sqnr                bars of weight and input SQNR per layer                   always
//   activations         per activation: histogram (log counts) with the run's      histograms
//                       clip range (solid, outside shaded) and every observer's
//                       range (dashed), and table "obs-<i>" of those ranges
//   weights             per layer: per-channel ranges, outlier channels in red,    channel ranges
//                       the findings' explanation and advice beside it
//   outliers            table "outlier-table" of every finding                     findings
//   reconstruction      table "recon-table" and bars of loss per unit              reconstruction
//   sensitivity         table "sensitivity-table" (ranked), bars of the metric     sensitivity
//   allocation          budget, chosen bits per layer ("allocation-table", bars)   bit allocation
//   outlier-fix         actions and the run before / after                         --fix-outliers
//   verify              the simulation against the integer executor                report.json "verify"
// The verify block is read from report.json's object (report_json.h), so the page shows it as soon
// as the run report carries one. `#sort=<table id>:<column>[:desc]` in the URL sorts a table on load;
// the script sets data-ready="1" on <body> when it has run.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "export/run_report.h"

namespace mqcalib {

std::string report_html(const RunReport& report);

namespace html {
// The sections after the summary and the per-layer views (report_html_sections.cpp).
std::string activations_section(const RunReport& r);
std::string weights_section(const RunReport& r);
std::string reconstruction_section(const RunReport& r);
std::string sensitivity_section(const RunReport& r);
std::string allocation_section(const RunReport& r);
std::string outlier_fix_section(const RunReport& r);
std::string verify_section(const RunReport& r);  // verify_block of report_json(r)["verify"], if any
std::string verify_block(const nlohmann::json& verify);
// The page's inline CSS and script (report_html_assets.cpp).
const char* report_css();
const char* report_script();
}  // namespace html

}  // namespace mqcalib
