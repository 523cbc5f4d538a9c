// mqcalib/src/export/report_json.cpp
#include "export/report_json.h"

#include <cmath>

#include "core/error.h"
#include "export/atomic_file.h"

namespace mqcalib {

namespace {

void check_finite(const nlohmann::json& j, const std::string& path) {
  if (j.is_number_float() && !std::isfinite(j.get<double>()))
    throw Error("report.json: value at '" + path + "' is not finite (JSON cannot hold NaN/Inf)");
  if (j.is_object())
    for (auto it = j.begin(); it != j.end(); ++it)
      check_finite(it.value(), path.empty() ? it.key() : path + "." + it.key());
  if (j.is_array())
    for (size_t i = 0; i < j.size(); ++i) check_finite(j[i], path + "[" + std::to_string(i) + "]");
}

}  // namespace

std::string report_json_text(const nlohmann::json& report) {
  check_finite(report, "");
  return report.dump(2) + "\n";
}

void write_report_json(const nlohmann::json& report, const std::string& path) {
  write_file_atomic(path, report_json_text(report));
}

}  // namespace mqcalib
