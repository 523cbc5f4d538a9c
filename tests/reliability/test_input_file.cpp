// InputFile (src/core/input_file.h): special files refused by name, reads bounded, size arithmetic
// checked. Expected messages come from the contract in input_file.h.
#include <doctest/doctest.h>

#include "core/error.h"
#include "core/input_file.h"
#include "reliability/reliability_util.h"

using namespace mqcalib;
using data_test::TempDir;

TEST_CASE("InputFile refuses every kind of non-regular file by name, without blocking") {
  TempDir tmp;
  reliability_test::make_fifo(tmp.file("fifo"));
  CHECK_ERROR_MENTIONS(InputFile(tmp.file("fifo"), "--config"), "--config", "fifo", "FIFO");
  CHECK_ERROR_MENTIONS(InputFile(tmp.path, "params file"), "params file", tmp.path, "directory");
  CHECK_ERROR_MENTIONS(InputFile("/dev/zero", "labels file"), "/dev/zero", "character device");
  CHECK_ERROR_MENTIONS(InputFile("/dev/null", "labels file"), "/dev/null", "character device");
  CHECK_ERROR_MENTIONS(InputFile(tmp.file("missing"), "data file"), "missing", "does not exist");
  CHECK_ERROR_MENTIONS(InputFile("", "--params"), "--params", "empty");
  // A symlink to a device is the device.
  reliability_test::make_symlink("/dev/zero", tmp.file("zero.txt"));
  CHECK_ERROR_MENTIONS(InputFile(tmp.file("zero.txt"), "labels file"), "zero.txt", "character device");
}

TEST_CASE("InputFile sizes the file and reads no more than asked") {
  TempDir tmp;
  data_test::write_text(tmp.file("ten"), "0123456789");
  const InputFile f(tmp.file("ten"), "file");
  CHECK(f.size() == 10);
  CHECK(f.read_prefix(4) == std::vector<uint8_t>{'0', '1', '2', '3'});
  CHECK(f.read_prefix(100).size() == 10);
  CHECK(f.read_all(10) == "0123456789");
  CHECK_ERROR_MENTIONS(f.read_all(9), "ten", "10 bytes", "9 bytes");
  char buf[4];
  f.read_exact(buf, 4, 6);
  CHECK(std::string(buf, 4) == "6789");
  CHECK_ERROR_MENTIONS(f.read_exact(buf, 4, 8), "ten", "end of file");
  CHECK_ERROR_MENTIONS(f.read_exact(buf, 1, -1), "ten", "out of range");
  CHECK(read_file_bounded(tmp.file("ten"), "file", 1 << 20) == "0123456789");
  CHECK_ERROR_MENTIONS(read_file_bounded(tmp.file("ten"), "--config", 3), "--config", "ten", "more than");
}

TEST_CASE("checked_mul / checked_add throw instead of wrapping") {
  CHECK(checked_mul(int64_t{1} << 31, int64_t{1} << 31, "x") == int64_t{1} << 62);
  CHECK(checked_add(int64_t{1} << 62, int64_t{1} << 61, "x") == (int64_t{1} << 62) + (int64_t{1} << 61));
  CHECK_ERROR_MENTIONS(checked_mul(int64_t{1} << 32, int64_t{1} << 31, "npy shape"), "npy shape", "overflows");
  CHECK_ERROR_MENTIONS(checked_add(INT64_MAX, 1, "npy end"), "npy end", "overflows");
  CHECK_ERROR_MENTIONS(checked_mul(-1, 2, "neg"), "neg", "overflows");
}
