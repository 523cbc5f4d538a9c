// Data readers bounded by their headers (issue 14): gzip IDX / .npy / labels read no further than
// the header says (proved with a gzip stream whose tail is corrupt: a whole-file read would fail
// with zlib's error), size arithmetic checked, special files refused, images bounded in pixels.
#include <doctest/doctest.h>

#include "data/dataset.h"
#include "data/io_util.h"
#include "reliability/reliability_util.h"

using namespace mqcalib;
using namespace data_test;

namespace {
std::vector<uint8_t> with_extra(std::vector<uint8_t> b, size_t extra) {
  b.insert(b.end(), extra, 0x55);
  return b;
}
}  // namespace

TEST_CASE("gzip IDX images and labels: read no further than the header names") {
  TempDir tmp;
  // 2 images of 2x2; the decompressed stream goes on past them and then is cut short.
  const auto img = with_extra(idx_bytes(0x08, {2, 2, 2}, {1, 2, 3, 4, 5, 6, 7, 8}), 1000);
  write_bytes(tmp.file("img-idx3-ubyte.gz"), reliability_test::gz_then_cut_member(tmp.path, img));
  CHECK_ERROR_MENTIONS(open_dataset(tmp.file("img-idx3-ubyte.gz"), Preprocess{}), "img-idx3-ubyte.gz",
                       "more bytes after the [2, 2, 2] elements");
  const auto lab = with_extra(idx_bytes(0x08, {3}, {1, 2, 3}), 1000);
  write_bytes(tmp.file("lab-idx1-ubyte.gz"), reliability_test::gz_then_cut_member(tmp.path, lab));
  CHECK_ERROR_MENTIONS(load_labels(tmp.file("lab-idx1-ubyte.gz")), "lab-idx1-ubyte.gz", "more bytes after the [3]");
  // The exact stream is accepted (the reader found its end without reading into a next member).
  write_gz(tmp.file("ok-idx3-ubyte.gz"), idx_bytes(0x08, {2, 2, 2}, {1, 2, 3, 4, 5, 6, 7, 8}));
  CHECK(open_dataset(tmp.file("ok-idx3-ubyte.gz"), Preprocess{})->size() == 2);
  // Plain IDX with trailing bytes: the exact count is named.
  write_bytes(tmp.file("tail-idx3-ubyte"), with_extra(idx_bytes(0x08, {1, 2, 2}, {1, 2, 3, 4}), 7));
  CHECK_ERROR_MENTIONS(open_dataset(tmp.file("tail-idx3-ubyte"), Preprocess{}), "7 unexpected bytes");
}

TEST_CASE("IDX headers claiming huge payloads are refused before any payload is read") {
  TempDir tmp;
  // 2^32-1 cubed elements: the product overflows uint64 unless checked; refused by the element limit.
  write_bytes(tmp.file("huge-idx3-ubyte"), idx_bytes(0x08, {0xFFFFFFFFu, 0xFFFFFFFFu, 0xFFFFFFFFu}, {}));
  CHECK_ERROR_MENTIONS(open_dataset(tmp.file("huge-idx3-ubyte"), Preprocess{}), "huge-idx3-ubyte", "claims more than");
  // 4096 x 2^24 x 2^28 = 2^64: the product wraps to 0 unless checked before each multiplication, and
  // the header alone would then pass as a complete file (found by fuzz_idx_gz).
  write_bytes(tmp.file("wrap-idx3-ubyte"), idx_bytes(0x08, {4096u, 1u << 24, 1u << 28}, {}));
  CHECK_ERROR_MENTIONS(open_dataset(tmp.file("wrap-idx3-ubyte"), Preprocess{}), "wrap-idx3-ubyte", "claims more than");
  write_gz(tmp.file("wrap-idx3-ubyte.gz"), idx_bytes(0x08, {4096u, 1u << 24, 1u << 28}, {}));
  CHECK_ERROR_MENTIONS(open_dataset(tmp.file("wrap-idx3-ubyte.gz"), Preprocess{}), "claims more than");
  // 60000 x 28 x 28 named, 16 bytes present: a plain file is sized first.
  write_bytes(tmp.file("short-idx3-ubyte"), idx_bytes(0x08, {60000, 28, 28}, {}));
  CHECK_ERROR_MENTIONS(open_dataset(tmp.file("short-idx3-ubyte"), Preprocess{}), "truncated", "16 bytes", "47040016");
  write_gz(tmp.file("short-idx3-ubyte.gz"), idx_bytes(0x08, {60000, 28, 28}, {1, 2, 3}));
  CHECK_ERROR_MENTIONS(open_dataset(tmp.file("short-idx3-ubyte.gz"), Preprocess{}), "truncated", "19 bytes");
}

TEST_CASE(".npy: header length, shape overflow and trailing bytes") {
  TempDir tmp;
  // Format 2.0 header length 16 MiB: refused from the 12-byte prefix.
  std::vector<uint8_t> big = {0x93, 'N', 'U', 'M', 'P', 'Y', 2, 0, 0, 0, 0, 1};
  write_bytes(tmp.file("bighdr.npy"), big);
  CHECK_ERROR_MENTIONS(open_dataset(tmp.file("bighdr.npy"), Preprocess{}), "bighdr.npy", "header length 16777216");
  CHECK_ERROR_MENTIONS(load_labels(tmp.file("bighdr.npy")), "bighdr.npy", "header length");
  // Shape whose element count overflows int64.
  write_bytes(tmp.file("ovf.npy"), npy_bytes("<f4", {INT64_C(1099511627776), INT64_C(1099511627776), 1, 1}, {}));
  CHECK_ERROR_MENTIONS(open_dataset(tmp.file("ovf.npy"), Preprocess{}), "ovf.npy", "overflows");
  write_bytes(tmp.file("ovfl.npy"), npy_bytes("<i8", {INT64_C(1099511627776), INT64_C(1099511627776)}, {}));
  CHECK_ERROR_MENTIONS(load_labels(tmp.file("ovfl.npy")), "ovfl.npy", "overflows");
  // A dimension with more digits than int64 holds (std::stoll would throw std::out_of_range).
  std::string hdr = "{'descr': '<f4', 'fortran_order': False, 'shape': (123456789012345678901234567890, 1, 1, 1), }";
  hdr += std::string(127 - 10 - hdr.size(), ' ') + "\n";
  std::vector<uint8_t> digits = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, static_cast<uint8_t>(hdr.size()), 0};
  digits.insert(digits.end(), hdr.begin(), hdr.end());
  write_bytes(tmp.file("digits.npy"), digits);
  CHECK_ERROR_MENTIONS(open_dataset(tmp.file("digits.npy"), Preprocess{}), "digits.npy", "too large");
  // Trailing bytes after the array.
  write_bytes(tmp.file("tail.npy"), with_extra(npy_bytes("|u1", {1, 1, 2, 2}, {1, 2, 3, 4}), 3));
  CHECK_ERROR_MENTIONS(open_dataset(tmp.file("tail.npy"), Preprocess{}), "tail.npy", "3 unexpected bytes");
  write_bytes(tmp.file("ltail.npy"), with_extra(npy_bytes("|u1", {3}, {1, 2, 3}), 3));
  CHECK_ERROR_MENTIONS(load_labels(tmp.file("ltail.npy")), "ltail.npy", "more bytes than the header");
  // A labels .npy that names 10^9 int64 labels in a 128-byte file: sized, not read.
  write_bytes(tmp.file("lshort.npy"), npy_bytes("<i8", {1000000000}, {}));
  CHECK_ERROR_MENTIONS(load_labels(tmp.file("lshort.npy")), "lshort.npy", "truncated", "8000000128");
}

TEST_CASE("data sources and labels refuse FIFOs, devices and directories by name") {
  TempDir tmp;
  reliability_test::make_fifo(tmp.file("pipe-idx3-ubyte.gz"));
  CHECK_ERROR_MENTIONS(open_dataset(tmp.file("pipe-idx3-ubyte.gz"), Preprocess{}), "pipe-idx3-ubyte.gz", "FIFO");
  reliability_test::make_fifo(tmp.file("pipe.npy"));
  CHECK_ERROR_MENTIONS(open_dataset(tmp.file("pipe.npy"), Preprocess{}), "pipe.npy", "FIFO");
  CHECK_ERROR_MENTIONS(load_labels(tmp.file("pipe.npy")), "pipe.npy", "FIFO");
  CHECK_ERROR_MENTIONS(open_dataset("/dev/zero", Preprocess{}), "/dev/zero", "character device");
  CHECK_ERROR_MENTIONS(load_labels("/dev/zero"), "/dev/zero", "character device");
  CHECK_ERROR_MENTIONS(load_labels(tmp.path), tmp.path, "directory");
  reliability_test::make_symlink("/dev/urandom", tmp.file("labels.txt"));
  CHECK_ERROR_MENTIONS(load_labels(tmp.file("labels.txt")), "labels.txt", "character device");
}

TEST_CASE("text labels and whole-file reads stop at their limit") {
  TempDir tmp;
  write_text(tmp.file("a.txt"), std::string(101, '1'));
  CHECK(data_detail::read_maybe_gz_bounded(tmp.file("a.txt"), "labels file", 101).size() == 101);
  CHECK_ERROR_MENTIONS(data_detail::read_maybe_gz_bounded(tmp.file("a.txt"), "labels file", 100), "a.txt",
                       "more than 100 bytes");
  // gzip: the limit applies to the decompressed bytes, and reading stops there (the cut tail is never reached).
  write_bytes(tmp.file("b.txt.gz"), reliability_test::gz_then_cut_member(tmp.path, std::vector<uint8_t>(5000, '1')));
  CHECK_ERROR_MENTIONS(data_detail::read_maybe_gz_bounded(tmp.file("b.txt.gz"), "labels file", 4000), "b.txt.gz",
                       "after decompression");
}

namespace {
uint32_t crc32_png(const std::vector<uint8_t>& b, size_t from) {
  return static_cast<uint32_t>(crc32(0L, b.data() + from, static_cast<uInt>(b.size() - from)));
}
// A PNG whose IHDR names w x h RGB pixels, followed directly by IEND (no pixel data).
std::vector<uint8_t> png_header_only(uint32_t w, uint32_t h) {
  std::vector<uint8_t> b = {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A};
  put_be32(b, 13);
  const size_t type_at = b.size();
  for (char c : std::string("IHDR")) b.push_back(static_cast<uint8_t>(c));
  put_be32(b, w);
  put_be32(b, h);
  for (uint8_t v : {8, 2, 0, 0, 0}) b.push_back(v);
  put_be32(b, crc32_png(b, type_at));
  put_be32(b, 0);
  const size_t iend_at = b.size();
  for (char c : std::string("IEND")) b.push_back(static_cast<uint8_t>(c));
  std::vector<uint8_t> iend(b.begin() + static_cast<std::ptrdiff_t>(iend_at), b.end());
  put_be32(b, static_cast<uint32_t>(crc32(0L, iend.data(), static_cast<uInt>(iend.size()))));
  return b;
}
// A PNG chunk: length, type, data, CRC over type and data (PNG spec section 5.3).
void png_chunk(std::vector<uint8_t>& b, const std::string& type, const std::vector<uint8_t>& data,
               uint32_t claimed_len = 0) {
  put_be32(b, claimed_len ? claimed_len : static_cast<uint32_t>(data.size()));
  std::vector<uint8_t> td(type.begin(), type.end());
  td.insert(td.end(), data.begin(), data.end());
  b.insert(b.end(), td.begin(), td.end());
  put_be32(b, static_cast<uint32_t>(crc32(0L, td.data(), static_cast<uInt>(td.size()))));
}

std::vector<uint8_t> png_gray(uint32_t w, uint32_t h, const std::vector<uint8_t>& idat, uint32_t claimed_len = 0) {
  std::vector<uint8_t> b = {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A};
  std::vector<uint8_t> ihdr;
  put_be32(ihdr, w);
  put_be32(ihdr, h);
  for (uint8_t v : {8, 0, 0, 0, 0}) ihdr.push_back(v);
  png_chunk(b, "IHDR", ihdr);
  png_chunk(b, "IDAT", idat, claimed_len);
  png_chunk(b, "IEND", {});
  return b;
}

std::vector<uint8_t> zlib_compress(const std::vector<uint8_t>& raw) {
  uLongf n = compressBound(static_cast<uLong>(raw.size()));
  std::vector<uint8_t> out(n);
  if (compress2(out.data(), &n, raw.data(), static_cast<uLong>(raw.size()), 9) != Z_OK)
    throw std::runtime_error("zlib");
  out.resize(n);
  return out;
}
}  // namespace

TEST_CASE("image folder: PNG chunk lengths and IDAT inflation bounded before stb; only PNG and JPEG") {
  // 4x3 gray: 3 rows of (filter byte + 4 pixels) = 15 bytes of scanlines.
  const std::vector<uint8_t> rows(15, 0);
  TempDir ok;
  write_bytes(ok.file("a.png"), png_gray(4, 3, zlib_compress(rows)));
  Preprocess gray;
  gray.color = Preprocess::ColorMode::Grayscale;
  CHECK(load_batch(*open_dataset(ok.path, gray), {0}).shape() == Shape{1, 1, 3, 4});
  // An IDAT claiming 1 GB in a 70-byte file: stb would allocate the claimed length first.
  TempDir claim;
  write_bytes(claim.file("a.png"), png_gray(4, 3, zlib_compress(rows), 0x414E5F46u));
  CHECK_ERROR_MENTIONS(load_batch(*open_dataset(claim.path, gray), {0}), "a.png", "claims 1095655238 bytes");
  // A zlib bomb: 16 MB of scanlines for a 4x3 image (stb inflates all of it into a growing buffer).
  TempDir bomb;
  write_bytes(bomb.file("a.png"), png_gray(4, 3, zlib_compress(std::vector<uint8_t>(16 << 20, 0))));
  CHECK_ERROR_MENTIONS(load_batch(*open_dataset(bomb.path, gray), {0}), "a.png", "inflates to more than", "4x3");
  // A GIF named .png (stb would decode it with its GIF decoder).
  TempDir gif;
  write_text(gif.file("a.png"), "GIF89a\x04\x00\x03\x00 and more");
  CHECK_ERROR_MENTIONS(open_dataset(gif.path, gray), "a.png", "neither a PNG nor a JPEG");
}

TEST_CASE("image folder: pixel count bounded before decoding; special files skipped") {
  TempDir tmp;
  write_bytes(tmp.file("huge.png"), png_header_only(10000, 10000));  // 10^8 pixels, 300 MB decoded
  CHECK_ERROR_MENTIONS(open_dataset(tmp.path, Preprocess{}), "huge.png", "10000x10000", "pixels accepted");
  TempDir fifo_only;
  reliability_test::make_fifo(fifo_only.file("a.png"));
  reliability_test::make_symlink("/dev/zero", fifo_only.file("b.png"));
  CHECK_ERROR_MENTIONS(open_dataset(fifo_only.path, Preprocess{}), fifo_only.path, "empty");
}
