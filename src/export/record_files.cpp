// mqcalib/src/export/record_files.cpp: see record_files.h.
#include "export/record_files.h"

#include <filesystem>

#include "core/error.h"
#include "export/npy_f32.h"
#include "export/npy_i32.h"
#include "export/params_json.h"

namespace mqcalib {

namespace fs = std::filesystem;

std::string weight_codes_file(const std::string& tensor) { return "weights/" + tensor + ".npy"; }
std::string float_weight_file(const std::string& tensor) { return "folded/" + tensor + ".npy"; }

std::vector<std::pair<std::string, std::string>> record_files(const QuantRecord& record) {
  std::vector<std::pair<std::string, std::string>> files;
  files.emplace_back("params.json", params_json_text(record));
  for (const auto& [tensor, wc] : record.weight_codes) {
    if (static_cast<int64_t>(wc.codes.size()) != numel(wc.shape))
      throw Error("weight codes of '" + tensor + "': " + std::to_string(wc.codes.size()) + " codes for shape " +
                  shape_to_string(wc.shape));
    if (wc.file != weight_codes_file(tensor))
      throw Error("weight codes of '" + tensor + "': file '" + wc.file + "', expected '" + weight_codes_file(tensor) +
                  "'");
    files.emplace_back(wc.file, npy_i32_bytes(wc.shape, wc.codes.data()));
  }
  for (const auto& [tensor, fw] : record.float_weights) {
    if (static_cast<int64_t>(fw.values.size()) != numel(fw.shape))
      throw Error("folded FP values of '" + tensor + "': " + std::to_string(fw.values.size()) + " values for shape " +
                  shape_to_string(fw.shape));
    if (fw.file != float_weight_file(tensor))
      throw Error("folded FP values of '" + tensor + "': file '" + fw.file + "', expected '" +
                  float_weight_file(tensor) + "'");
    files.emplace_back(fw.file, npy_f32_bytes(fw.shape, fw.values.data()));
  }
  return files;
}

namespace {

// `rel` resolved inside `dir`, or an Error naming both.
std::string contained_path(const fs::path& dir, const std::string& rel, const std::string& params_path) {
  const fs::path p(rel);
  bool escapes = rel.empty() || p.is_absolute();
  for (const fs::path& part : p) escapes = escapes || part == "..";
  if (escapes)
    throw Error("params file '" + params_path + "': weight codes file '" + rel +
                "' must be a relative path inside the params folder");
  const fs::path full = dir / p;
  std::error_code ec;
  const fs::path real_dir = fs::weakly_canonical(dir, ec), real = fs::weakly_canonical(full, ec);
  const std::string rd = real_dir.string() + "/";
  if (ec || real.string().compare(0, rd.size(), rd) != 0)
    throw Error("params file '" + params_path + "': weight codes file '" + rel + "' leads outside the params folder");
  if (!fs::is_regular_file(full, ec))
    throw Error("params file '" + params_path + "': weight codes file '" + full.string() + "' is not a regular file");
  return full.string();
}

}  // namespace

QuantRecord load_record(const std::string& params_path) {
  QuantRecord rec = read_params_json(params_path);
  const fs::path dir =
      fs::path(params_path).parent_path().empty() ? fs::path(".") : fs::path(params_path).parent_path();
  for (auto& [tensor, wc] : rec.weight_codes) {
    const std::string path = contained_path(dir, wc.file, params_path);
    wc.codes = read_npy_i32(path, &wc.shape);
  }
  for (auto& [tensor, fw] : rec.float_weights) {
    const std::string path = contained_path(dir, fw.file, params_path);
    fw.values = read_npy_f32(path, "folded FP values", &fw.shape);
  }
  return rec;
}

}  // namespace mqcalib
