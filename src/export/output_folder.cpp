// mqcalib/src/export/output_folder.cpp: see output_folder.h.
#include "export/output_folder.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "core/error.h"
#include "core/interrupt.h"
#include "export/atomic_file.h"

namespace mqcalib {

namespace fs = std::filesystem;

namespace {

fs::path parent_of(const fs::path& dir) {
  const fs::path p = fs::absolute(dir).lexically_normal();
  return (p.has_filename() ? p : p.parent_path()).parent_path();
}

std::string base_name(const fs::path& dir) {
  const fs::path p = fs::absolute(dir).lexically_normal();
  return (p.has_filename() ? p : p.parent_path()).filename().string();
}

void fsync_dir(const fs::path& d) {
  const int fd = ::open(d.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

// Removes ".<name>.new-<pid>" folders whose process is gone (a run killed mid-export).
void remove_stale_staging(const fs::path& parent, const std::string& name) {
  const std::string prefix = "." + name + ".new-";
  std::error_code ec;
  for (const fs::directory_entry& e : fs::directory_iterator(parent, ec)) {
    const std::string f = e.path().filename().string();
    if (f.compare(0, prefix.size(), prefix) != 0) continue;
    const long pid = std::strtol(f.c_str() + prefix.size(), nullptr, 10);
    if (pid > 0 && (::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM)) continue;  // still running
    fs::remove_all(e.path(), ec);
  }
}

void write_one(const fs::path& staging, const std::string& rel, const std::string& bytes) {
  const fs::path p = fs::path(rel).lexically_normal();
  if (rel.empty() || p.is_absolute() || *p.begin() == "..")
    throw Error("output folder: file name '" + rel + "' is not a path inside the folder");
  const fs::path full = staging / p;
  fs::create_directories(full.parent_path());
  write_file_atomic(full.string(), bytes);
}

// Puts `staging` at `dir` (which exists): atomic exchange where supported, else two renames.
void swap_into(const fs::path& staging, const fs::path& dir) {
  if (::renameat2(AT_FDCWD, staging.c_str(), AT_FDCWD, dir.c_str(), RENAME_EXCHANGE) == 0) return;
  if (errno != EINVAL && errno != ENOSYS && errno != ENOTSUP)
    throw Error("cannot replace output folder '" + dir.string() + "': " + std::strerror(errno));
  const fs::path old = staging.string() + "-old";
  if (::rename(dir.c_str(), old.c_str()) != 0)
    throw Error("cannot replace output folder '" + dir.string() + "': " + std::strerror(errno));
  if (::rename(staging.c_str(), dir.c_str()) != 0) {
    const int err = errno;
    ::rename(old.c_str(), dir.c_str());
    throw Error("cannot replace output folder '" + dir.string() + "': " + std::strerror(err));
  }
  ::rename(old.c_str(), staging.c_str());  // removed by the caller with the rest of the old set
}

}  // namespace

void check_output_folder(const std::string& dir, const std::string& option) {
  if (dir.empty()) throw Error(option + ": empty folder name");
  // The nearest folder that exists must be one we can create the rest in.
  fs::path parent = parent_of(dir);
  std::error_code ec;
  while (!fs::exists(fs::symlink_status(parent, ec)) && parent.has_parent_path() && parent != parent.parent_path())
    parent = parent.parent_path();
  if (!fs::is_directory(parent, ec)) throw Error(option + " '" + dir + "': '" + parent.string() + "' is not a folder");
  if (::access(parent.c_str(), W_OK | X_OK) != 0)
    throw Error(option + " '" + dir + "': cannot write into '" + parent.string() + "': " + std::strerror(errno));
  if (!fs::exists(fs::symlink_status(dir, ec))) return;
  if (!fs::is_directory(fs::symlink_status(dir, ec)))
    throw Error(option + " '" + dir + "': exists and is not a folder");
  if (fs::is_empty(dir, ec) || fs::is_regular_file(fs::path(dir) / "params.json", ec)) return;
  throw Error(option + " '" + dir +
              "': exists and is not an mqcalib output folder (no params.json): "
              "give a new or empty folder");
}

void write_output_folder(const std::string& dir_name, const OutputFiles& files) {
  check_output_folder(dir_name);
  const fs::path parent = parent_of(dir_name), dir = parent / base_name(dir_name);
  const fs::path staging = parent / ("." + base_name(dir_name) + ".new-" + std::to_string(::getpid()));
  std::error_code ec;
  fs::remove_all(staging, ec);
  // SIGINT/SIGTERM from here on remove the staging folder (new set, or the old one after the swap).
  const RemoveOnSignal cleanup(fs::absolute(staging).string());
  try {
    fs::create_directories(parent);
    remove_stale_staging(parent, base_name(dir_name));
    fs::create_directory(staging);
    for (const auto& [rel, bytes] : files) write_one(staging, rel, bytes);
    fsync_dir(staging);
    if (fs::exists(fs::symlink_status(dir, ec)))
      swap_into(staging, dir);
    else if (::rename(staging.c_str(), dir.c_str()) != 0)
      throw Error("cannot create output folder '" + dir.string() + "': " + std::strerror(errno));
    fsync_dir(parent);
  } catch (const fs::filesystem_error& e) {
    fs::remove_all(staging, ec);
    throw Error("cannot write output folder '" + dir.string() + "': " + e.what());
  } catch (...) {
    fs::remove_all(staging, ec);
    throw;
  }
  fs::remove_all(staging, ec);  // the previous set, after an exchange
}

}  // namespace mqcalib
