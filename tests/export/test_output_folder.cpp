// export/output_folder.h: the output folder always holds one run's complete set.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>

#include "export/output_folder.h"
#include "export_test_util.h"

using namespace mqcalib;
using namespace mqcalib::export_test;
namespace fs = std::filesystem;

namespace {

std::vector<std::string> listing(const fs::path& dir) {
  std::vector<std::string> out;
  for (const fs::directory_entry& e : fs::recursive_directory_iterator(dir))
    if (e.is_regular_file()) out.push_back(fs::relative(e.path(), dir).string());
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> siblings(const fs::path& parent) {
  std::vector<std::string> out;
  for (const fs::directory_entry& e : fs::directory_iterator(parent)) out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

TEST_CASE("output folder: created with its sub-folders, missing parents too") {
  TempDir t;
  const std::string out = t.file("a/b/out");
  write_output_folder(out, {{"params.json", "{}"}, {"weights/c.weight.npy", "npy"}, {"report.json", "r"}});
  CHECK(listing(out) == std::vector<std::string>{"params.json", "report.json", "weights/c.weight.npy"});
  CHECK(read_text(out + "/weights/c.weight.npy") == "npy");
  CHECK(siblings(t.file("a/b")) == std::vector<std::string>{"out"});  // no staging folder left
}

TEST_CASE("output folder: a second run replaces the whole set (nothing of the first survives)") {
  TempDir t;
  const std::string out = t.file("out");
  write_output_folder(out, {{"params.json", "w4"}, {"weights/x.npy", "codes"}, {"calib.cache", "trt"}});
  write_output_folder(out, {{"params.json", "w8"}, {"report.json", "r8"}});
  CHECK(listing(out) == std::vector<std::string>{"params.json", "report.json"});
  CHECK(read_text(out + "/params.json") == "w8");
  CHECK(siblings(t.path()) == std::vector<std::string>{"out"});
}

TEST_CASE("output folder: a failure before the swap keeps the previous set untouched") {
  TempDir t;
  const std::string out = t.file("out");
  write_output_folder(out, {{"params.json", "first"}, {"report.json", "r1"}});
  CHECK_THROWS(write_output_folder(out, {{"params.json", "second"}, {"../escape", "x"}}));
  CHECK(listing(out) == std::vector<std::string>{"params.json", "report.json"});
  CHECK(read_text(out + "/params.json") == "first");
  CHECK(siblings(t.path()) == std::vector<std::string>{"out"});
}

TEST_CASE("output folder: refuses a folder that is not an mqcalib output, and a file in its place") {
  TempDir t;
  fs::create_directories(t.file("mine"));
  write_text(t.file("mine/thesis.tex"), "years of work");
  CHECK_THROWS_WITH(check_output_folder(t.file("mine")), doctest::Contains("not an mqcalib output folder"));
  CHECK_THROWS(write_output_folder(t.file("mine"), {{"params.json", "x"}}));
  CHECK(read_text(t.file("mine/thesis.tex")) == "years of work");
  write_text(t.file("plain"), "x");
  CHECK_THROWS_WITH(check_output_folder(t.file("plain")), doctest::Contains("not a folder"));
  fs::create_directories(t.file("empty"));
  CHECK_NOTHROW(check_output_folder(t.file("empty")));
  CHECK_THROWS_WITH(check_output_folder(t.file("plain/sub")), doctest::Contains("is not a folder"));
}

TEST_CASE("output folder: staging folders of dead processes are removed, live ones kept") {
  TempDir t;
  // pid 2^22 + 1 is above Linux's pid_max limit: never a live process
  fs::create_directories(t.file(".out.new-4194305/weights"));
  write_output_folder(t.file("out"), {{"params.json", "x"}});
  CHECK(siblings(t.path()) == std::vector<std::string>{"out"});
}
