// write_file_atomic (docs/STYLE.md "Errors and files"): never a partial or corrupt file at the
// output path, no `.tmp` left behind, and an Error naming the path on failure.
#include <doctest/doctest.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>

#include "export/atomic_file.h"
#include "export/exporters.h"
#include "export_records.h"
#include "export_test_util.h"

using namespace mqcalib;
using namespace mqcalib::export_test;
namespace fs = std::filesystem;

namespace {

// Every entry of `dir` (to check that nothing, e.g. a stray .tmp, was left behind).
std::vector<std::string> entries(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

bool contains(const std::string& msg, const std::string& what) {
  INFO("message: " << msg << " / expected to contain: " << what);
  return msg.find(what) != std::string::npos;
}

}  // namespace

TEST_CASE("atomic write: a new file, then a complete replacement") {
  TempDir dir;
  const std::string path = dir.file("out.txt");
  write_file_atomic(path, "first\n");
  CHECK(read_text(path) == "first\n");
  write_file_atomic(path, "second, longer content\n");
  CHECK(read_text(path) == "second, longer content\n");
  write_file_atomic(path, "");
  CHECK(read_text(path).empty());
  CHECK(entries(dir.path()) == std::vector<std::string>{"out.txt"});
}

TEST_CASE("atomic write: a stale regular <path>.tmp from a killed run is replaced and removed") {
  TempDir dir;
  const std::string path = dir.file("out.txt");
  write_text(path + ".tmp", "stale partial output of a killed run, longer than the new one");
  write_file_atomic(path, "new\n");
  CHECK(read_text(path) == "new\n");
  CHECK(entries(dir.path()) == std::vector<std::string>{"out.txt"});
}

TEST_CASE("atomic write: a non-existent directory throws naming the path, creates nothing") {
  TempDir dir;
  const std::string path = dir.file("no_such_dir/out.txt");
  const std::string msg = error_message([&] { write_file_atomic(path, "data"); });
  CHECK(contains(msg, path));
  CHECK(!fs::exists(dir.file("no_such_dir")));
  CHECK(entries(dir.path()).empty());
}

TEST_CASE("atomic write: an unwritable directory throws naming the path, creates nothing") {
  TempDir dir;
  // A parent that is a regular file: not writable as a directory, even for root.
  write_text(dir.file("plain_file"), "x");
  std::string path = dir.file("plain_file/out.txt");
  std::string msg = error_message([&] { write_file_atomic(path, "data"); });
  CHECK(contains(msg, path));
  CHECK(read_text(dir.file("plain_file")) == "x");
  CHECK(entries(dir.path()) == std::vector<std::string>{"plain_file"});

  // A read-only directory (root ignores the permission bits, so only checked for other users).
  fs::create_directory(dir.file("ro"));
  fs::permissions(dir.file("ro"), fs::perms::owner_read | fs::perms::owner_exec);
  path = dir.file("ro/out.txt");
  if (::geteuid() != 0) {
    msg = error_message([&] { write_file_atomic(path, "data"); });
    CHECK(contains(msg, path));
    CHECK(entries(dir.file("ro")).empty());
  } else {
    MESSAGE("running as root: read-only directory case skipped (covered by the plain-file parent)");
  }
  fs::permissions(dir.file("ro"), fs::perms::owner_all);
}

TEST_CASE("atomic write: a write that fails half-way leaves the old file and no .tmp") {
  TempDir dir;
  const std::string path = dir.file("calib.cache");
  write_file_atomic(path, "old complete content\n");
  // Limit file size to 16 bytes: write() stores 16 bytes of the temporary file, then fails with EFBIG
  // (SIGXFSZ ignored so the process survives).
  struct rlimit saved;
  REQUIRE(::getrlimit(RLIMIT_FSIZE, &saved) == 0);
  struct rlimit small = saved;
  small.rlim_cur = 16;
  auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
  REQUIRE(::setrlimit(RLIMIT_FSIZE, &small) == 0);
  const std::string msg = error_message([&] { write_file_atomic(path, std::string(4096, 'n')); });
  ::setrlimit(RLIMIT_FSIZE, &saved);
  std::signal(SIGXFSZ, old_handler);
  CHECK(contains(msg, path));
  CHECK(read_text(path) == "old complete content\n");
  CHECK(entries(dir.path()) == std::vector<std::string>{"calib.cache"});
}

TEST_CASE("atomic write: a failing rename leaves the target and removes the .tmp") {
  TempDir dir;
  // The target is a non-empty directory: rename(file, dir) fails (EISDIR).
  const std::string path = dir.file("target");
  fs::create_directory(path);
  write_text(path + "/keep", "k");
  const std::string msg = error_message([&] { write_file_atomic(path, "data"); });
  CHECK(contains(msg, path));
  CHECK(read_text(path + "/keep") == "k");
  CHECK(entries(dir.path()) == std::vector<std::string>{"target"});
}

TEST_CASE("atomic write: a <path>.tmp that is not a regular file is left alone") {
  TempDir dir;
  const std::string path = dir.file("out.txt");
  write_file_atomic(path, "old\n");
  fs::create_directory(path + ".tmp");
  std::string msg = error_message([&] { write_file_atomic(path, "new\n"); });
  CHECK(contains(msg, path));
  CHECK(fs::is_directory(path + ".tmp"));
  CHECK(read_text(path) == "old\n");
  fs::remove(path + ".tmp");

  // A FIFO must not block the writer (no reader would ever come).
  REQUIRE(::mkfifo((path + ".tmp").c_str(), 0600) == 0);
  msg = error_message([&] { write_file_atomic(path, "new\n"); });
  CHECK(contains(msg, path));
  CHECK(fs::is_fifo(path + ".tmp"));
  CHECK(read_text(path) == "old\n");
  fs::remove(path + ".tmp");

  // A symlink at the temporary name is never written through.
  write_text(dir.file("victim"), "victim\n");
  fs::create_symlink(dir.file("victim"), path + ".tmp");
  msg = error_message([&] { write_file_atomic(path, "new\n"); });
  CHECK(contains(msg, path));
  CHECK(read_text(dir.file("victim")) == "victim\n");
  CHECK(fs::is_symlink(path + ".tmp"));
  CHECK(read_text(path) == "old\n");
}

TEST_CASE("exporters: writing into a missing directory throws naming the path, writes nothing") {
  TempDir dir;
  const std::string out = dir.file("missing");
  const std::string msg = error_message([&] { write_native_formats(tensorrt_record(), "tensorrt", out); });
  CHECK(contains(msg, out + "/calib.cache"));
  CHECK(entries(dir.path()).empty());
}
