// Paths and files of the C++ API tests (torch suite): the source tree, a scratch folder under the
// build tree, whole-file reads. Run through meson test (MQCALIB_SOURCE_ROOT, MQCALIB_BUILD_ROOT).
#pragma once

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace mqcalib::testing {

inline const std::string kFashionMnist = "/usr/share/datasets/fashion-mnist/";

inline std::string source_root() {
  const char* r = std::getenv("MQCALIB_SOURCE_ROOT");
  return r ? r : ".";
}

// <build>/test-scratch/<name>, removed (an output folder the call under test creates).
inline std::string scratch_path(const std::string& name) {
  const char* b = std::getenv("MQCALIB_BUILD_ROOT");
  const std::filesystem::path p = std::filesystem::path(b ? b : ".") / "test-scratch" / name;
  std::filesystem::remove_all(p);
  return p.string();
}

// The same folder, created empty.
inline std::string scratch_dir(const std::string& name) {
  const std::string p = scratch_path(name);
  std::filesystem::create_directories(p);
  return p;
}

inline std::string slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

}  // namespace mqcalib::testing
