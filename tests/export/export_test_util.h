// mqcalib/tests/export/export_test_util.h: temporary directories and file helpers for the export tests.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <stdexcept>
#include <string>

#include "core/error.h"

namespace mqcalib::export_test {

// A fresh directory under $MQCALIB_BUILD_ROOT (else the system temp dir), removed on destruction.
class TempDir {
 public:
  TempDir() {
    const char* root = std::getenv("MQCALIB_BUILD_ROOT");
    std::string pattern =
        (root ? std::string(root) : std::filesystem::temp_directory_path().string()) + "/mqcalib_export_XXXXXX";
    if (!::mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed for " + pattern);
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::permissions(path_, std::filesystem::perms::owner_all, std::filesystem::perm_options::add, ec);
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

inline std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open " + path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline void write_text(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  if (!out) throw std::runtime_error("cannot write " + path);
}

inline std::string golden_path(const std::string& name) {
  const char* root = std::getenv("MQCALIB_SOURCE_ROOT");
  return std::string(root ? root : ".") + "/tests/export/golden/" + name;
}

// what() of the mqcalib::Error that `f` throws; "" when it does not throw. Any other exception type
// propagates (and fails the test).
inline std::string error_message(const std::function<void()>& f) {
  try {
    f();
  } catch (const mqcalib::Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace mqcalib::export_test
