// mqcalib/src/export/record_files.cpp: see record_files.h.
#include "export/record_files.h"

#include <filesystem>

#include "core/error.h"
#include "export/npy_i32.h"

namespace mqcalib {

namespace fs = std::filesystem;

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
  // Component-wise prefix test: "/a/bc" is not inside "/a/b".
  auto b = base.begin();
  auto f = full.begin();
  for (; b != base.end(); ++b, ++f)
    if (f == full.end() || *f != *b)
      throw Error(where + ": resolves to '" + full.string() + "', outside the record's folder (a symlink?)");
  if (f == full.end()) throw Error(where + ": names the record's folder itself, not a file");
  return full.string();
}

std::vector<int32_t> read_weight_codes(const std::string& params_path, const std::string& rel, const Shape& expect,
                                       const std::string& tensor) {
  const std::string folder = fs::path(params_path).parent_path().string();
  const std::string path = resolve_inside_folder(folder, rel, "weight codes of " + tensor);
  Shape shape;
  return read_npy_i32(path, &shape, &expect);
}

}  // namespace mqcalib
