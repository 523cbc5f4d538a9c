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

std::string resolve_inside_folder(const std::string& folder, const std::string& rel, const std::string& what) {
  const std::string where = what + " '" + rel + "' (in '" + folder + "')";
  if (rel.empty()) throw Error(what + ": empty file name (in '" + folder + "')");
  if (rel.find('\0') != std::string::npos) throw Error(where + ": the name contains a NUL byte");
  const fs::path r(rel);
  if (r.is_absolute() || r.has_root_name() || r.has_root_directory())
    throw Error(where + ": an absolute path; a record names its files relative to its own folder");
  for (const fs::path& part : r)
    if (part == "..") throw Error(where + ": '..' would leave the record's folder");
  std::error_code ec;
  const fs::path base = fs::canonical(folder.empty() ? fs::path(".") : fs::path(folder), ec);
  if (ec) throw Error(where + ": cannot resolve the folder: " + ec.message());
  const fs::path full = fs::canonical(base / r, ec);
  if (ec) throw Error(where + ": " + (ec == std::errc::no_such_file_or_directory ? "does not exist" : ec.message()));
  auto b = base.begin();
  auto f = full.begin();
  for (; b != base.end(); ++b, ++f)
    if (f == full.end() || *f != *b)
      throw Error(where + ": resolves to '" + full.string() + "', outside the record's folder (a symlink?)");
  if (f == full.end()) throw Error(where + ": names the record's folder itself, not a file");
  return full.string();
}

QuantRecord load_record(const std::string& params_path) {
  QuantRecord rec = read_params_json(params_path);
  const fs::path dir =
      fs::path(params_path).parent_path().empty() ? fs::path(".") : fs::path(params_path).parent_path();
  for (auto& [tensor, wc] : rec.weight_codes) {
    const std::string path =
        resolve_inside_folder(dir.string(), wc.file, "params file '" + params_path + "': weight codes of " + tensor);
    wc.codes = read_npy_i32(path, &wc.shape);  // a regular file, sized against its header before reading
  }
  for (auto& [tensor, fw] : rec.float_weights) {
    const std::string path = resolve_inside_folder(dir.string(), fw.file,
                                                   "params file '" + params_path + "': folded FP values of " + tensor);
    fw.values = read_npy_f32(path, "folded FP values", &fw.shape);
  }
  return rec;
}

}  // namespace mqcalib
